package runner

import (
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	locustpb "github.com/golocust/golocust/proto"
	"github.com/golocust/golocust/stats"
)

// The master coalesces the workers' stats reports before they reach its
// registry. Folding a histogram into the registry costs about the same
// whether it holds 30 samples or 30,000 (the registry walks the histogram),
// so with many workers the master decodes every report straight into one
// accumulator per name and folds the accumulators into the registry every
// mergeInterval — and at once after a worker's final report, so that Stop
// returns with every worker's last samples merged. The statistics are thus
// at most mergeInterval behind the reports, and exactly the same.
const (
	mergeInterval = 250 * time.Millisecond
	// maxPending bounds the names held in accumulators (a dense
	// accumulator is about 184 KiB); past it the master folds early.
	maxPending = 256
	// idleFlushes: an accumulator unused for this many folds is dropped.
	idleFlushes = 40
)

type accKey struct{ method, name string }

type accEntry struct {
	e          stats.Entry // scalars and per-second counts of the pending reports
	hist, corr *hdrhistogram.Histogram
	used       bool
	idle       int
}

// coalescer accumulates decoded reports until they are folded into reg.
type coalescer struct {
	reg *stats.Registry

	mu      sync.Mutex
	acc     map[accKey]*accEntry
	errs    []*stats.Error
	excs    []*stats.Exception
	omit    *hdrhistogram.Histogram // Snapshot.Omitted of the pending reports; nil or empty when none
	start   time.Time
	pending int // reports since the last fold
}

func newCoalescer(reg *stats.Registry) *coalescer {
	return &coalescer{reg: reg, acc: map[accKey]*accEntry{}}
}

// add decodes a report into the accumulators. On an undecodable histogram
// it returns the error; the entries of the report before that one (and
// the buckets of that histogram read before the error) stay accumulated.
func (c *coalescer) add(r *locustpb.StatsReport, node string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending++
	if st := fromUnixUs(r.GetStartUnixUs()); !st.IsZero() && (c.start.IsZero() || st.Before(c.start)) {
		c.start = st
	}
	for _, pe := range r.GetEntries() {
		k := accKey{pe.GetMethod(), pe.GetName()}
		a := c.acc[k]
		if a == nil {
			if len(c.acc) >= maxPending {
				c.foldLocked()
				c.dropIdleLocked(true)
				c.pending = 1 // the rest of this report
			}
			a = &accEntry{e: stats.Entry{Method: k.method, Name: k.name}}
			c.acc[k] = a
		}
		if len(pe.GetHistogram()) > 0 {
			if a.hist == nil {
				a.hist = stats.NewHistogram()
			}
			if err := locustpb.MergeHistogram(a.hist, pe.GetHistogram()); err != nil {
				return err
			}
		}
		if len(pe.GetCorrectedHistogram()) > 0 {
			if a.corr == nil {
				a.corr = stats.NewHistogram()
			}
			if err := locustpb.MergeHistogram(a.corr, pe.GetCorrectedHistogram()); err != nil {
				return err
			}
		}
		a.used = true
		e := &a.e
		if pe.GetNumRequests() > 0 {
			mn := time.Duration(pe.GetMinUs()) * time.Microsecond
			mx := time.Duration(pe.GetMaxUs()) * time.Microsecond
			if e.NumRequests == 0 || mn < e.Min {
				e.Min = mn
			}
			if mx > e.Max {
				e.Max = mx
			}
		}
		e.NumRequests += pe.GetNumRequests()
		e.NumFailures += pe.GetNumFailures()
		e.TotalTime += time.Duration(pe.GetTotalTimeUs()) * time.Microsecond
		e.TotalBytes += pe.GetTotalBytes()
		if st := fromUnixUs(pe.GetStartUnixUs()); !st.IsZero() && (e.Start.IsZero() || st.Before(e.Start)) {
			e.Start = st
		}
		if lr := fromUnixUs(pe.GetLastRequestUnixUs()); lr.After(e.LastRequest) {
			e.LastRequest = lr
		}
		for i, v := range pe.GetRequestsPerSecond() {
			if v != 0 {
				if e.ReqPerSec == nil {
					e.ReqPerSec = map[int64]int64{}
				}
				e.ReqPerSec[pe.GetFirstSecond()+int64(i)] += v
			}
		}
		for i, v := range pe.GetFailuresPerSecond() {
			if v != 0 {
				if e.FailPerSec == nil {
					e.FailPerSec = map[int64]int64{}
				}
				e.FailPerSec[pe.GetFirstSecond()+int64(i)] += v
			}
		}
	}
	if b := r.GetOmittedHistogram(); len(b) > 0 {
		if c.omit == nil {
			c.omit = stats.NewHistogram()
		}
		if err := locustpb.MergeHistogram(c.omit, b); err != nil {
			return err
		}
	}
	for _, x := range r.GetErrors() {
		c.errs = append(c.errs, &stats.Error{
			Method: x.GetMethod(), Name: x.GetName(), Message: x.GetMessage(), Occurrences: x.GetOccurrences(),
			FirstSeen: fromUnixUs(x.GetFirstSeenUnixUs()), LastSeen: fromUnixUs(x.GetLastSeenUnixUs()),
		})
	}
	for _, x := range r.GetExceptions() {
		ex := &stats.Exception{Message: x.GetMessage(), Traceback: x.GetTraceback(), Count: x.GetCount()}
		if node != "" {
			ex.Nodes = []string{node}
		}
		c.excs = append(c.excs, ex)
	}
	if len(c.errs)+len(c.excs) > maxPendingErrors {
		c.foldLocked()
	}
	return nil
}

// fold merges everything accumulated into the registry.
func (c *coalescer) fold() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.foldLocked()
	c.dropIdleLocked(false)
}

// discard drops what is accumulated (a fresh test resets the stats).
func (c *coalescer) discard() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, a := range c.acc {
		if a.used {
			c.resetEntry(a)
		}
		delete(c.acc, k)
	}
	c.omit = nil
	c.errs, c.excs, c.start, c.pending = nil, nil, time.Time{}, 0
}

func (c *coalescer) foldLocked() {
	if c.pending == 0 {
		return
	}
	snap := &stats.Snapshot{Start: c.start, Errors: c.errs, Exceptions: c.excs}
	if c.omit != nil && c.omit.TotalCount() > 0 {
		snap.Omitted = c.omit
	}
	for _, a := range c.acc {
		if !a.used {
			continue
		}
		e := a.e
		if a.hist != nil && a.hist.TotalCount() > 0 {
			e.Hist = a.hist
		}
		if a.corr != nil && a.corr.TotalCount() > 0 {
			e.CorrectedHist = a.corr
		}
		if e.LastRequest.After(snap.LastRequest) {
			snap.LastRequest = e.LastRequest
		}
		snap.Entries = append(snap.Entries, &e)
	}
	c.reg.Merge(snap)
	if c.omit != nil && c.omit.TotalCount() > 0 {
		c.omit.Reset()
	}
	for _, a := range c.acc {
		if a.used {
			c.resetEntry(a)
		}
	}
	c.errs, c.excs, c.start, c.pending = nil, nil, time.Time{}, 0
}

func (c *coalescer) resetEntry(a *accEntry) {
	if a.hist != nil && a.hist.TotalCount() > 0 {
		a.hist.Reset()
	}
	if a.corr != nil && a.corr.TotalCount() > 0 {
		a.corr.Reset()
	}
	a.e = stats.Entry{Method: a.e.Method, Name: a.e.Name}
	a.used = false
	a.idle = 0
}

// dropIdleLocked forgets accumulators idle for idleFlushes folds (all
// unused ones when all is set), so their memory goes back.
func (c *coalescer) dropIdleLocked(all bool) {
	for k, a := range c.acc {
		if a.used {
			continue
		}
		a.idle++
		if all || a.idle >= idleFlushes {
			delete(c.acc, k)
		}
	}
}
