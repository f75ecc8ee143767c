// Package compare compares two runs per endpoint and for Aggregated: the
// baseline's and the current run's p50, p95 and p99, throughput and failure
// ratio, their relative change, and whether a change is larger than
// run-to-run noise. It answers "did this change make us slower?" for
// --baseline FILE, --compare OLD.json NEW.json, baseline thresholds such as
// p95<baseline*1.10, and locust.RunHeadless in a Go test.
//
// A run is read back from the JSON that --json-file writes (Load, Read):
// every entry carries its histogram in HdrHistogram's compressed V2 base64
// encoding (key "hdr"; "hdr_corrected" for the coordinated-omission
// corrected one), so a comparison works on the exact counts, not on the
// rounded percentiles. Files written by Locust or by an older golocust have
// no "hdr" key, and Load says to re-record them (ErrNoHDR).
//
// # The tests, and why these
//
// Latency: for each compared percentile q, a quantile test (Mood's median
// test generalised to any quantile). The pooled q-quantile m of both runs'
// histograms is found, each run's share of requests slower than m is
// counted, and the two shares are compared with a two-proportion z-test.
// If both runs come from one distribution, both shares are about 1-q; a
// slower run has more requests above m. It is computed exactly from the
// bucket counts in one pass, is deterministic (unlike a bootstrap of the
// percentile), assumes nothing about the distribution's shape (latency is
// skewed and multi-modal), and answers about the percentile the table
// shows: Mann-Whitney's U and Kolmogorov-Smirnov test the whole
// distribution, so a regression of p99 alone, one request in a hundred,
// hardly moves them.
//
// Failures: the two-proportion z-test of the failure ratios.
//
// Confidence: Options.Confidence, 99 % by default, for each row's verdict:
// the latency tests of a row share it (Bonferroni: each of p50, p95, p99 is
// tested at 1 %/3), so an unchanged endpoint is flagged by chance at most
// once in a hundred comparisons. A test with an expected cell count under 5
// is not made (TooFew) and never flags.
//
// Effect size: with a hundred thousand samples a test rejects for a 0.5 %
// change that no one would act on. A percentile is flagged only when its
// test rejects AND it moved by at least Options.MinChange (5 % by
// default); the failure ratio only when its test rejects AND it rose by at
// least Options.MinFailChange (0.1 percentage point). --baseline-confidence
// and --baseline-min-change set the first two.
//
// A row is "slower" when any compared percentile is flagged slower, "more
// failures" when the failure ratio is flagged. Report.Regressed is true
// when an endpoint (the Aggregated row aside, which mixes endpoints) is
// either: the exit code 3 of --compare. Throughput is shown, not tested: it
// follows from the load model (a closed model slows down with the target).
// Endpoints in one run only are listed as such and are not regressions.
//
// Compare and the functions of this package are pure: they read the
// snapshots they are given and are safe for concurrent use.
package compare
