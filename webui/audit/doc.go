// Package audit records who did what to a run: logins, failed logins,
// logouts, starts (with their parameters), edits, stops, resets and
// workers joining, leaving or being refused. Each event is one JSON line
// in the audit file (--audit-log) and stays in memory, the last few
// hundred, for the web UI's admins.
//
// A Log is safe for concurrent use; a nil *Log records nothing.
package audit
