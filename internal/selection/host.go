package selection

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// MaxHostLen is the longest host URL accepted: longer ones are a mistake
// (or an attack on the web form), not a target.
const MaxHostLen = 2048

// HostError is a host that is not a base URL the users can request.
type HostError struct {
	Value string // as given, shortened
	Why   string // what is wrong beyond the shape, "" when nothing more
}

func (e *HostError) Error() string {
	msg := fmt.Sprintf("%q: want a base URL starting with http:// or https://, such as http://127.0.0.1:8080", e.Value)
	if e.Why != "" {
		msg += " (" + e.Why + ")"
	}
	return msg
}

// Host checks a target's base URL as the users' HTTP clients will request
// it and returns it normalised: surrounding space and the path's trailing
// slashes are dropped (requests join their path to it), the scheme is
// lower case. "" (no host) is returned as "" without error; any other
// error is a *HostError.
func Host(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	bad := func(why string) error {
		shown := s
		if len(shown) > 80 {
			shown = shown[:80] + "…"
		}
		return &HostError{Value: shown, Why: why}
	}
	if len(s) > MaxHostLen {
		return "", bad(fmt.Sprintf("longer than %d bytes", MaxHostLen))
	}
	if strings.ContainsAny(s, "<>\"' \t\r\n\\") {
		return "", bad("no spaces, quotes, backslashes or angle brackets")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", bad("")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", bad("")
	}
	if u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return "", bad("it names no host")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#") {
		return "", bad("a query or a fragment would be dropped from every request")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", bad("the port must be from 1 to 65535")
		}
	}
	// The scheme as url.Parse read it (lower case), the rest as given but
	// for the path's trailing slashes: every request adds its own.
	out := u.Scheme + s[strings.Index(s, ":"):]
	if u.Path != "" {
		out = strings.TrimRight(out, "/")
	}
	return out, nil
}
