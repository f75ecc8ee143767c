package runner

import (
	"sync"
	"time"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/stats"
)

// The master coalesces the workers' stats reports before they reach its
// registry. Folding a histogram into the registry costs about the same
// whether it holds 30 samples or 30,000 (the registry walks the histogram),
// so with many workers the master decodes every report straight into one
// ReportSum and folds the sum into the registry every mergeInterval — and
// at once after a worker's final report, so that Stop returns with every
// worker's last samples merged. The statistics are thus at most
// mergeInterval behind the reports, and exactly the same.
const (
	mergeInterval = 250 * time.Millisecond
	// maxPending bounds the names held in the sum (a dense histogram is
	// about 184 KiB); past it the master folds early.
	maxPending = 256
	// idleFlushes: a name unused for this many folds is dropped.
	idleFlushes = 40
)

// coalescer accumulates decoded reports until they are folded into reg.
type coalescer struct {
	reg *stats.Registry

	mu  sync.Mutex // guards sum
	sum ReportSum
}

func newCoalescer(reg *stats.Registry) *coalescer {
	c := &coalescer{reg: reg}
	c.sum.full = func() { // c.mu is held: called from sum.Add
		c.foldLocked()
		c.sum.dropIdle(true)
		c.sum.n = 1 // the rest of the report being added
	}
	return c
}

// add decodes a report into the sum (see ReportSum.Add).
func (c *coalescer) add(r *locustpb.StatsReport, node string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.sum.Add(r, node); err != nil {
		return err
	}
	if len(c.sum.errs)+len(c.sum.excs) > maxPendingErrors {
		c.foldLocked()
	}
	return nil
}

// fold merges everything accumulated into the registry.
func (c *coalescer) fold() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.foldLocked()
	c.sum.dropIdle(false)
}

// discard drops what is accumulated (a fresh test resets the stats).
func (c *coalescer) discard() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sum.forget()
}

func (c *coalescer) foldLocked() {
	if c.sum.n == 0 {
		return
	}
	c.reg.Merge(c.sum.Snapshot())
	c.sum.Reset()
}

// foldLoop folds the coalesced reports into the registry every
// mergeInterval.
func (m *Master) foldLoop() {
	defer m.wg.Done()
	t := time.NewTicker(mergeInterval)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
			m.coal.fold()
		}
	}
}
