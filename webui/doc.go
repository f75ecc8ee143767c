// Package webui is golocust's web interface: Locust's views and HTTP API,
// served by the master or the local runner.
//
// The page is plain HTML, CSS and JavaScript modules embedded with go:embed
// (no build step), with charts drawn by uPlot (the one vendored copy in
// internal/uplot, served under /assets/vendor/uplot/). It ships no inline
// script or style, so every response carries a strict
// Content-Security-Policy; names from user code and from the target are
// always inserted as text, never as HTML.
//
// The API keeps Locust's paths and JSON keys so that existing scripts keep
// working: POST /swarm, POST /stop, POST /stats/reset, GET /stats/requests,
// GET /stats/requests/csv, GET /stats/requests_full_history/csv,
// GET /stats/failures/csv, GET /exceptions, GET /exceptions/csv, GET /tasks,
// GET /logs and GET /worker-count. Extra routes: GET /stats/history (chart
// points), GET /stats/requests/json (the per-name JSON download),
// GET /stats/report (when Options.Report is set), GET /metrics (when
// Options.Metrics is set) and GET /ui/config (what the page reads at load).
//
// Differences from Locust, on purpose:
//   - State changes are POST only (GET answers 405), cross-origin POSTs are
//     refused with 403 (net/http CrossOriginProtection), and there is no
//     wildcard CORS.
//   - /swarm validates its input: a missing, non-numeric, negative, NaN,
//     infinite or absurd user_count or spawn_rate, a bad run_time or host, or
//     an unknown user class answers 400 with {"success": false, "message",
//     "field"}; a master without workers answers 409.
//   - Every request's Host must name the UI (loopback names, the address
//     the connection came in on, Options.ListenHost, Options.PublicNames);
//     others get 421, so that a DNS-rebound page cannot drive it.
//   - With Options.Accounts, Options.Auth or Options.Authenticator every
//     route but /assets/ and the login flow (GET and POST /login,
//     POST /logout, GET /auth/login, GET /auth/callback) needs a login
//     session or HTTP basic auth; the account's role (package auth) decides
//     what it may do (403 otherwise). GET /audit shows the audit log
//     (package audit) to admins.
//   - /stats/requests is cached for 2 s only when building it was slow
//     (Locust always caches it). Its "workers" list is always present
//     (empty outside master mode); "truncated", "num_entries", "num_errors"
//     and "host" are additions.
//
// The package sees the runner only through the Controller interface, which
// the locust package implements.
package webui
