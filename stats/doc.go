// Package stats records request timings and errors and turns them into the
// numbers a Locust user reads: per (method, name) entries with an
// Aggregated total, HdrHistogram percentiles in microseconds at three
// significant digits (1 µs .. 1 h; longer durations are clamped in the
// histogram, not in Min, Max and the average), failures grouped by
// (method, name, error text) with first and last seen, exceptions grouped
// by stack, a "current" 10 s window, and Locust's CSV, JSON and console
// renderings of all of them.
//
// # Recording
//
// A Registry is safe for concurrent use, and Record takes no registry-wide
// lock. Names are found in a copy-on-write map behind an atomic pointer
// (with a small cache keyed by the strings' addresses in front of it, since
// callers mostly pass the same string constants); a mutex guards only the
// insertion of a new name. Each name records into one of a few
// independently locked stripes: a recorder starts at the stripe of its
// processor and takes the first one it can lock without waiting; when all
// are busy the name gets another stripe, up to 2×GOMAXPROCS (at most 8).
// A successful sample on a known name allocates nothing.
//
// Reading the clock costs more than the rest of Record on some virtual
// machines, so registries on the real clock share a coarse clock: one
// goroutine refreshes it every 10 ms while samples arrive and exits 50 ms
// after the last one (tests using goleak need no special option beyond its
// default retries).
//
// # Snapshots, deltas and merging
//
// Snapshot folds the stripes into each name's cumulative state and
// computes the Aggregated row by merging the names. TakeDelta (a worker's
// report) returns everything since the previous delta and zeroes the
// registry; Merge (on the master) adds a delta exactly: merged snapshots
// equal one registry fed all the samples, histograms included.
//
// The current window follows Locust's rule: per-second slices of each
// name's histogram are cut when snapshots are taken (Locust keeps a
// per-second cache of the histogram) and the last 10 s of them are summed
// (Locust subtracts the cached copy from 10 s ago). Current RPS is the
// average of the per-second counts over the seconds [now-12, now-2).
//
// Percentiles use Locust's ranks (the (⌊n·p⌋+1)-th smallest value; the
// median is the lower middle value), read from the HDR histogram and
// clamped to [Min, Max], so a p99 never exceeds the exact maximum.
//
// # Memory
//
// A dense histogram of this range is 23,552 int64 counts ≈ 184 KiB, so the
// registry keeps one only per active stripe (given back after 30 s without
// samples); the cumulative histograms and the per-second slices are sparse
// (hdrhistogram.PackedHistogram, a few KiB). A Snapshot hands out dense
// histograms, as the public Entry type says; they are reused by the next
// snapshot when a name saw no new samples, so treat them as read-only.
// Memory stays bounded whatever is recorded or merged (a master merges what
// any worker sends): distinct (method, name) entries are capped
// (Options.MaxNames, default 1,000; further names fold into an "other (name
// cap reached)" entry of their method, for at most 16 methods, then into
// one shared OTHER entry), as are distinct error texts (100 per name and
// Options.MaxErrors, default 1,000, in all), distinct exception stacks
// (1,000, listing at most 100 nodes each), and merged per-second counts
// (none more than a minute ahead of the clock). Each cap warns once.
//
// # Choices
//
//   - Reset zeroes the names but keeps them listed (with N/A percentiles),
//     as Locust's reset does; errors, exceptions, the window and the start
//     time are cleared.
//   - CSV rows end in \r\n, as Python's csv module writes them. Median and
//     percentile columns are whole milliseconds (truncated), averages,
//     minimum and maximum exact floats, as in Locust's files.
//   - Requests/s in the stats CSV and the final console table divide every
//     row by the snapshot's span (start to last request), as Locust does,
//     so the rows add up to the Aggregated row.
package stats
