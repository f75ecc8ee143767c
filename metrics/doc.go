// Package metrics exposes a run's statistics in the Prometheus text format
// (GET /metrics on the web port of the master or the local runner).
//
// The Collector computes everything at scrape time from a Source, so a
// scrape always sees the latest (on a master: merged) statistics and
// nothing is recorded twice:
//
//	locust_requests_total{method,name}           counter
//	locust_failures_total{method,name}           counter
//	locust_response_bytes_total{method,name}     counter
//	locust_response_time_seconds{method,name}    histogram
//	locust_exceptions_total                      counter
//	locust_users{class}                          gauge
//	locust_workers{state}                        gauge
//	locust_threshold_passed{threshold}           gauge, 1 or 0
//	locust_threshold_value{threshold}            gauge, the measured value
//	                                             (seconds for times)
//
// The Aggregated row is not exported: sum() over the series gives it, and
// histogram_quantile over the summed buckets gives the cluster percentile.
// The histogram's buckets are fixed bounds in seconds (DefaultBuckets);
// each is the exact count of the HdrHistogram values whose equivalence
// range starts at or below the bound, so a bound is accurate to the
// histogram's 3 significant digits. The counters restart from zero when
// the statistics are reset, which Prometheus' rate() treats as a counter
// reset.
//
// Exemplars: when requests carry a W3C traceparent (--traceparent), the
// histogram's buckets carry the slowest traced requests of each series
// (stats.Entry.Exemplars) as OpenMetrics exemplars, labels trace_id and
// span_id, one per bucket (its slowest). Prometheus' text format has no
// exemplars: a scraper sees them when it asks for OpenMetrics (Accept:
// application/openmetrics-text, Prometheus does with exemplar storage on).
//
// Label values are bounded: request names are already capped by the stats
// registry, and the Collector exports at most Options.MaxSeries
// (method, name) series, folding the rest into one series named
// OtherName; threshold labels are the configured expressions.
package metrics
