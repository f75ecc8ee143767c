package stats

import "time"

// This file holds the one merge of stats entries. The registry folds its
// recorders and other registries' deltas with it, computes the Aggregated
// row with it, and the master (runner) and the threshold evaluator add
// entries up with Entry.Merge: a change to how two entries combine is made
// here, once.

// tally is the additive part of an entry: counts, sums and extremes.
type tally struct {
	n, fails, bytes int64
	total, min, max time.Duration
}

// add merges o into t: counts and sums add, the extremes are those of both
// (an empty side has no extremes).
func (t *tally) add(o tally) {
	if o.n > 0 {
		if t.n == 0 || o.min < t.min {
			t.min = o.min
		}
		if t.n == 0 || o.max > t.max {
			t.max = o.max
		}
	}
	t.n += o.n
	t.fails += o.fails
	t.bytes += o.bytes
	t.total += o.total
}

func (e *Entry) tally() tally {
	return tally{n: e.NumRequests, fails: e.NumFailures, bytes: e.TotalBytes, total: e.TotalTime, min: e.Min, max: e.Max}
}

func (e *Entry) setTally(t tally) {
	e.NumRequests, e.NumFailures, e.TotalBytes, e.TotalTime, e.Min, e.Max = t.n, t.fails, t.bytes, t.total, t.min, t.max
}

// addCounts adds o's counts, sums, extremes, last request, per-second
// counts and exemplars to e; Start and the histograms are left alone.
func (e *Entry) addCounts(o *Entry) {
	t := e.tally()
	t.add(o.tally())
	e.setTally(t)
	if o.LastRequest.After(e.LastRequest) {
		e.LastRequest = o.LastRequest
	}
	e.ReqPerSec = addSeconds(e.ReqPerSec, o.ReqPerSec)
	e.FailPerSec = addSeconds(e.FailPerSec, o.FailPerSec)
	e.Exemplars = mergeExemplars(e.Exemplars, o.Exemplars)
}

// Merge adds o to e exactly: counts, sums, minimum and maximum, the
// earliest Start, the latest LastRequest, per-second counts, the slowest
// MaxExemplars exemplars of both, and the
// service-time and corrected histograms (merged, not averaged). e's
// histograms must be its own (a nil one becomes a NewHistogram): a
// Snapshot's are read-only. Current is left alone.
func (e *Entry) Merge(o *Entry) {
	if o == nil {
		return
	}
	e.addCounts(o)
	if !o.Start.IsZero() && (e.Start.IsZero() || o.Start.Before(e.Start)) {
		e.Start = o.Start
	}
	if o.Hist != nil && o.Hist.TotalCount() > 0 {
		if e.Hist == nil {
			e.Hist = NewHistogram()
		}
		e.Hist.Merge(o.Hist)
	}
	if o.CorrectedHist != nil && o.CorrectedHist.TotalCount() > 0 {
		if e.CorrectedHist == nil {
			e.CorrectedHist = NewHistogram()
		}
		e.CorrectedHist.Merge(o.CorrectedHist)
	}
}

func addSeconds(dst, src map[int64]int64) map[int64]int64 {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[int64]int64, len(src))
	}
	for k, v := range src {
		dst[k] += v
	}
	return dst
}
