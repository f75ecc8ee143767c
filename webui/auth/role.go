package auth

import (
	"fmt"
	"strings"
)

// Role says what an account may do. Roles are ordered: each one may do
// everything the ones below it may.
type Role int

// The roles, lowest first. The zero Role is no access.
const (
	Viewer   Role = iota + 1 // read statistics, charts, downloads
	Operator                 // also start, edit, stop and reset runs
	Admin                    // also logs, the audit log and workers' controls
)

// String is the role's name as the users file spells it.
func (r Role) String() string {
	switch r {
	case Viewer:
		return "viewer"
	case Operator:
		return "operator"
	case Admin:
		return "admin"
	}
	return "none"
}

// Allows reports whether r may do what needs the role min.
func (r Role) Allows(min Role) bool { return r >= min && min > 0 }

// ParseRole reads "viewer", "operator" or "admin" (any case).
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "viewer":
		return Viewer, nil
	case "operator":
		return Operator, nil
	case "admin":
		return Admin, nil
	}
	return 0, fmt.Errorf("unknown role %q: want viewer, operator or admin", s)
}

// Identity is someone signed in: their account name and role.
type Identity struct {
	Name string
	Role Role
}
