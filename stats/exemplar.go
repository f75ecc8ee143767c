package stats

import (
	"encoding/hex"
	"slices"
	"time"
)

// This file keeps the exemplars: for each name, the trace IDs of its
// slowest traced requests, so that a slow percentile can be followed to
// the requests behind it in a tracing tool.
//
// Each stripe keeps its own bounded top-K under the stripe's lock (the
// lock Record takes already), allocated on the first traced sample; folds
// move it into the name's cumulative top-K, and every merge (deltas from
// workers, the Aggregated row, Entry.Merge) goes through topK.add, so the
// top-K of a merge is the top-K of the union.

// MaxExemplars is how many of its slowest traced requests each entry keeps.
// With 1,000 requests or fewer, every request at or above the p99 is among
// them.
const MaxExemplars = 10

// TraceID is a W3C trace context trace id (16 bytes); all zero: none.
type TraceID [16]byte

// SpanID is a W3C trace context span (parent) id (8 bytes); all zero: none.
type SpanID [8]byte

// IsZero reports whether t is the invalid all-zero id.
func (t TraceID) IsZero() bool { return t == TraceID{} }

// String returns t as 32 lowercase hex digits, as in a traceparent header.
func (t TraceID) String() string { return hex.EncodeToString(t[:]) }

// IsZero reports whether s is the invalid all-zero id.
func (s SpanID) IsZero() bool { return s == SpanID{} }

// String returns s as 16 lowercase hex digits.
func (s SpanID) String() string { return hex.EncodeToString(s[:]) }

// ParseTraceID reads 32 hex digits.
func ParseTraceID(s string) (TraceID, bool) {
	var t TraceID
	if len(s) != 2*len(t) {
		return t, false
	}
	if _, err := hex.Decode(t[:], []byte(s)); err != nil {
		return TraceID{}, false
	}
	return t, true
}

// Exemplar is one of the slowest traced requests of an entry.
type Exemplar struct {
	TraceID  TraceID
	SpanID   SpanID
	Duration time.Duration // the response time recorded for the request
	Time     time.Time     // when it was recorded (its end, to the registry's clock)
}

// exemplar is the stored form of an Exemplar (at: unix nanos).
type exemplar struct {
	trace TraceID
	span  SpanID
	d     time.Duration
	at    int64
}

// topK keeps the MaxExemplars slowest exemplars added to it, in no order.
type topK struct {
	n   int
	min int // index of the fastest kept, when n == MaxExemplars
	xs  [MaxExemplars]exemplar
}

// add offers x. Ties keep what came first; an exemplar already kept (the
// same trace and span) is not kept twice.
func (k *topK) add(x exemplar) {
	if k.n == MaxExemplars && x.d <= k.xs[k.min].d {
		return // the common case of a full top-K: one comparison
	}
	for i := 0; i < k.n; i++ {
		if k.xs[i].span == x.span && k.xs[i].trace == x.trace {
			return
		}
	}
	if k.n < MaxExemplars {
		k.xs[k.n] = x
		k.n++
		if k.n < MaxExemplars {
			return
		}
	} else {
		k.xs[k.min] = x
	}
	k.min = 0
	for i := 1; i < k.n; i++ {
		if k.xs[i].d < k.xs[k.min].d {
			k.min = i
		}
	}
}

func (k *topK) addAll(o *topK) {
	if o == nil {
		return
	}
	for i := 0; i < o.n; i++ {
		k.add(o.xs[i])
	}
}

func (k *topK) addExemplars(xs []Exemplar) {
	for i := range xs {
		x := &xs[i]
		var at int64
		if !x.Time.IsZero() {
			at = x.Time.UnixNano()
		}
		k.add(exemplar{trace: x.TraceID, span: x.SpanID, d: x.Duration, at: at})
	}
}

// list returns the kept exemplars, slowest first (nil when none).
func (k *topK) list() []Exemplar {
	if k == nil || k.n == 0 {
		return nil
	}
	out := make([]Exemplar, k.n)
	for i := 0; i < k.n; i++ {
		x := &k.xs[i]
		out[i] = Exemplar{TraceID: x.trace, SpanID: x.span, Duration: x.d}
		if x.at != 0 {
			out[i].Time = time.Unix(0, x.at)
		}
	}
	sortExemplars(out)
	return out
}

// sortExemplars orders slowest first; equal times by when they were
// recorded, then by id, so that a list prints the same every time.
func sortExemplars(xs []Exemplar) {
	slices.SortFunc(xs, func(a, b Exemplar) int {
		switch {
		case a.Duration != b.Duration:
			if a.Duration > b.Duration {
				return -1
			}
			return 1
		case !a.Time.Equal(b.Time):
			return a.Time.Compare(b.Time)
		default:
			return slices.Compare(a.TraceID[:], b.TraceID[:])
		}
	})
}

// mergeExemplars returns the top-K of the union of a and b.
func mergeExemplars(a, b []Exemplar) []Exemplar {
	if len(b) == 0 {
		return a
	}
	var k topK
	k.addExemplars(a)
	k.addExemplars(b)
	return k.list()
}

// ExemplarsAtOrAbove returns the entry's exemplars whose response time is
// at least d, slowest first: the traced requests at or above a percentile
// of d (a sub-slice of Exemplars).
func (e *Entry) ExemplarsAtOrAbove(d time.Duration) []Exemplar {
	i := 0
	for i < len(e.Exemplars) && e.Exemplars[i].Duration >= d {
		i++
	}
	return e.Exemplars[:i:i]
}

// ExemplarsAtPercentile returns the exemplars behind the p-quantile (p in
// [0,1]): those at or above it, slowest first. A percentile is read from
// the histogram to 3 significant digits, so a request in the same
// histogram bucket as the percentile counts as at it (a 298.0 ms request
// is at a p99 of 298.24 ms).
func (e *Entry) ExemplarsAtPercentile(p float64) []Exemplar {
	if len(e.Exemplars) == 0 {
		return nil
	}
	d := e.Percentile(p)
	i := 0
	for i < len(e.Exemplars) {
		x := e.Exemplars[i].Duration
		if x < d && (e.Hist == nil || !e.Hist.ValuesAreEquivalent(micros(x), micros(d))) {
			break
		}
		i++
	}
	return e.Exemplars[:i:i]
}
