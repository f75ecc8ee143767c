package stats

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// OtherName is the Name of the entry that collects the samples of names
// past the Options.MaxNames cap: one such entry per method for the first
// 16 methods seen past the cap, then one shared entry with Method
// OtherMethod, so that the entries stay bounded whatever methods arrive.
const OtherName = "other (name cap reached)"

// AggregatedName is the Name of the Aggregated (total) row.
const AggregatedName = "Aggregated"

// DefaultMaxNames is the default cap on distinct (method, name) entries.
const DefaultMaxNames = 1000

// Options configure a Registry. The zero value is ready to use.
type Options struct {
	// MaxNames caps the distinct (method, name) entries; 0 means
	// DefaultMaxNames. Samples of further names are folded into one entry
	// per method, named OtherName, and Warn is called once.
	MaxNames int
	// MaxErrors caps the distinct error texts across all names; 0 means
	// DefaultMaxErrors. Further texts are counted under one "other errors"
	// row of their name, and Warn is called once. (Each name also keeps at
	// most 100 distinct texts, and the registry 1,000 distinct exceptions,
	// listing at most 100 nodes each.)
	MaxErrors int
	// Now is the clock; nil means time.Now. Tests pass a fake clock.
	Now func() time.Time
	// Warn receives the one-time warning of each cap (names, error texts,
	// exceptions); nil discards it. It is
	// called from Record or Merge, outside the registry's locks for Record;
	// it may record, but must not call Snapshot, TakeDelta, Merge or Reset.
	Warn func(msg string)
}

// Snapshot is a point-in-time copy of a Registry (Registry.Snapshot) or the
// samples recorded since the previous delta (Registry.TakeDelta).
//
// The histograms in a Snapshot may be shared with later snapshots of the
// same registry when nothing changed in between: treat them as read-only.
type Snapshot struct {
	Start, LastRequest time.Time
	Entries            []*Entry     // sorted by (Name, Method); the Aggregated row is not included
	Total              *Entry       // the Aggregated row: Method "", Name "Aggregated"
	Errors             []*Error     // sorted by Occurrences, most first
	Exceptions         []*Exception // sorted by Count, most first
	// Omitted holds the corrected-latency samples with no request behind
	// them (Registry.RecordOmitted), in microseconds; nil when none. They
	// are already in Total.CorrectedHist; Merge reads them from here.
	Omitted *hdrhistogram.Histogram
	// Lag holds how late paced and arrival-rate iterations started after
	// their intended start (Registry.RecordLag), in microseconds: the load
	// generator's own lateness; nil when none. When its p99 is large
	// against the measured latency, the corrected percentiles are mostly
	// the generator's, not the target's.
	Lag *hdrhistogram.Histogram
	// EndedUsers counts the users that ended before the run stopped them,
	// by reason (Registry.RecordUserEnd); nil when none.
	EndedUsers map[string]int64
}

// Entry holds the statistics of one (method, name), or of the Aggregated
// total.
type Entry struct {
	Method, Name             string
	NumRequests, NumFailures int64
	TotalTime                time.Duration // exact sum of the durations
	Min, Max                 time.Duration // exact
	TotalBytes               int64
	// Hist holds the service times in microseconds, 3 significant digits.
	// Histograms of a Snapshot are read-only (a later snapshot may share
	// them) and sized to the largest value they hold: to add several up,
	// merge them into a NewHistogram.
	Hist *hdrhistogram.Histogram
	// CorrectedHist holds the latencies measured from the intended start
	// (coordinated omission), in microseconds; nil when no sample had one.
	// The Aggregated row's also holds the omitted samples
	// (Registry.RecordOmitted).
	CorrectedHist *hdrhistogram.Histogram
	// Current holds the service times of about the last 10 s; nil in deltas
	// and when nothing was recorded in the window.
	Current *hdrhistogram.Histogram
	// ReqPerSec and FailPerSec count requests and failures per unix second:
	// the last ~20 s in a Snapshot, every second since the previous delta in
	// a delta.
	ReqPerSec, FailPerSec map[int64]int64
	Start, LastRequest    time.Time
	// Exemplars are the slowest traced requests (Sample.TraceID set), at
	// most MaxExemplars, slowest first; nil when none was traced. Merged
	// entries keep the slowest of the union.
	Exemplars []Exemplar
}

// Error is a group of failures with the same method, name and error text.
type Error struct {
	Method, Name, Message string
	Occurrences           int64
	FirstSeen, LastSeen   time.Time
}

// Exception is a group of recovered panics (or other unexpected errors)
// with the same stack.
type Exception struct {
	Message, Traceback string
	Count              int64
	Nodes              []string // where it happened (worker ids on a master); may be empty
}

// ReportPercentiles are the percentiles of the console and CSV tables.
var ReportPercentiles = []float64{0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1}
