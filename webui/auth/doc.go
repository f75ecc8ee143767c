// Package auth is who may use the web UI and what they may do: accounts
// with hashed passwords, login sessions, roles, login rate limits and the
// Authenticator interface through which a program (or the built-in OIDC
// login) signs people in.
//
// Roles are ordered: a Viewer reads statistics, charts and downloads; an
// Operator also starts, edits, stops and resets runs; an Admin also reads
// the logs and the audit log and controls workers.
//
// Accounts come from a file of "name:role:hash" lines (# starts a comment),
// where hash is a bcrypt or argon2id (PHC string) hash as HashPassword
// makes. Sessions live in memory: a token in an HttpOnly, SameSite=Strict
// cookie names one, and it ends after an idle and an absolute timeout or
// at logout. Everything here is safe for concurrent use.
//
// The package imports nothing of golocust's; webui wires it into its
// handlers and the locust package fills it from flags.
package auth
