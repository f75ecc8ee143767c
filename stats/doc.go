// Package stats records request timings and errors and turns them into the
// numbers a Locust user reads: per (method, name) entries with an Aggregated
// total, HdrHistogram percentiles in microseconds at three significant
// digits, failures grouped by error, exceptions grouped by stack, a
// "current" 10 s window, and the CSV, JSON and console renderings of all of
// them.
//
// A Registry is safe for concurrent use. Recording takes no global lock:
// each entry is guarded by its own stripes, and the Aggregated total is
// computed when a Snapshot is taken. Snapshots merge exactly, which is how a
// master adds up the deltas its workers send.
package stats
