// Package threshold turns service-level objectives such as "p95<300ms" into
// pass/fail verdicts over a stats.Snapshot.
//
// An expression is
//
//	[TARGET:]METRIC OP BOUND
//
// where OP is one of < <= > >=, and TARGET (optional) selects one request
// name; without it the metric is read from the Aggregated row, that is from
// all requests. Metrics:
//
//	p95 p99.9 p100 ...  percentile of the response time (any p in (0,100])
//	median              the 50th percentile
//	avg min max         average, minimum and maximum response time (exact)
//	corrected_p99 ...   percentile of the latency measured from the intended
//	                    start (coordinated omission; paced and arrival-rate
//	                    users only)
//	fail_ratio          failures / requests, e.g. fail_ratio<0.01 or fail_ratio<1%
//	rps                 requests per second over the whole run
//	requests failures   counts
//	dropped_iterations  iterations an arrival-rate model could not start
//	                    (whole run only; supplied through EvaluateWith)
//
// A bound may instead be relative to a baseline run: "baseline" or
// "baseline*FACTOR" (a number or a percentage), e.g. p95<baseline*1.10
// (at most 10 % slower than the baseline), rps>baseline*0.95 or
// "GET /item:p99<=baseline*110%". EvaluateAgainst reads the same metric of
// the same target from the baseline's snapshot (a --json-file read back by
// package compare) and multiplies it by the factor; without a baseline, or
// when the baseline has no such requests, the threshold fails as Missing.
//
// Time bounds need a unit: ns, us (or µs), ms, s, m or h, e.g. 1.5s. Counts,
// ratios and rates are plain numbers (a ratio may end in %, a rate in /s).
//
// A TARGET is either "METHOD NAME" (e.g. "GET /item") or just "NAME"; the
// expression is split at its last comparison operator and its last colon
// before it, so names may contain colons. When no entry matches
// "METHOD NAME" exactly, the whole target is taken as a name and the entries
// of every method with that name are merged (their histograms exactly). A
// target that matches nothing makes the threshold fail with Missing set, as
// does a time or ratio metric over zero requests: a gate that passes because
// nothing was measured is not a gate.
//
// Evaluation reads the histogram of the snapshot it is given. On a master
// that snapshot is the exact merge of every worker's deltas, so a
// percentile threshold judges the true cluster-wide percentile, not an
// average of per-worker percentiles.
package threshold
