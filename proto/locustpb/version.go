package locustpb

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version is the protocol version this build speaks, "MAJOR.MINOR.PATCH".
// Master and workers must share the major version; a minor or patch
// difference is accepted (the master may warn once).
const Version = "1.1.0"

// ErrIncompatibleVersion is wrapped by CheckVersion's error when the major
// versions differ.
var ErrIncompatibleVersion = errors.New("incompatible protocol version")

// MajorVersion returns the major part of a "MAJOR[.MINOR[.PATCH]]" version
// (a leading "v" is allowed).
func MajorVersion(v string) (int, error) {
	s := strings.TrimPrefix(strings.TrimSpace(v), "v")
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || len(s) > 9 {
		return 0, fmt.Errorf("%w: %q is not a MAJOR.MINOR.PATCH version", ErrIncompatibleVersion, v)
	}
	return n, nil
}

// CheckVersion reports whether a peer's version can talk to ours. The error
// wraps ErrIncompatibleVersion and says what to do.
func CheckVersion(ours, peer string) error {
	a, err := MajorVersion(ours)
	if err != nil {
		return err
	}
	b, err := MajorVersion(peer)
	if err != nil {
		return err
	}
	if a != b {
		return fmt.Errorf("%w: this node speaks %s, the peer speaks %s; run the same golocust major version on master and workers",
			ErrIncompatibleVersion, ours, peer)
	}
	return nil
}

// TypedControlSince is the first version whose control messages (StopTest,
// Leaving, Logs, Numbering) are their own oneof cases; an older peer gets
// them as Custom messages of reserved "golocust." types.
const TypedControlSince = "1.1.0"

// TypedControl reports whether a peer of version peer understands the
// typed control messages: same major version as ours and minor at least 1.
func TypedControl(peer string) bool {
	maj, min, ok := majorMinor(peer)
	return ok && (maj > 1 || min >= 1)
}

func majorMinor(v string) (major, minor int, ok bool) {
	maj, err := MajorVersion(v)
	if err != nil {
		return 0, 0, false
	}
	s := strings.TrimPrefix(strings.TrimSpace(v), "v")
	i := strings.IndexByte(s, '.')
	if i < 0 {
		return maj, 0, true
	}
	s = s[i+1:]
	if j := strings.IndexByte(s, '.'); j >= 0 {
		s = s[:j]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return maj, 0, true
	}
	return maj, n, true
}
