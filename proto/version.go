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
const Version = "1.0.0"

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
