// Package health serves the liveness and readiness probes that container
// orchestrators call: GET /healthz answers 200 while the process serves at
// all; GET /readyz answers 200 when the process can do its job and 503
// with the reason when it cannot (a master without enough workers, a
// worker without its master).
package health
