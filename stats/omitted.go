package stats

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// omitted holds the corrected-latency samples that have no request behind
// them (Registry.RecordOmitted). They are rare, so a mutex guards them; the
// Record hot path never touches it.
type omitted struct {
	mu  sync.Mutex
	h   *hdrhistogram.PackedHistogram // nil when empty
	ver uint64                        // bumped whenever h changes

	// Output cache (guarded by the registry's foldMu): the dense copy
	// handed out by the last Snapshot, and the version it was made from.
	out    *hdrhistogram.Histogram
	outVer uint64
}

// RecordOmitted adds a corrected-latency sample with no request behind it:
// how long an iteration of an open (arrival-rate) model that was never
// run, because no user was free, would have waited for one — the
// coordinated-omission back-fill of wrk2 and HdrHistogram's
// RecordCorrectedValue. It enters only the Aggregated row's CorrectedHist
// (Snapshot.Total), never a named entry, the request counts or the
// service-time histograms; Snapshot.Omitted holds these samples alone.
// Durations are clamped to [0, 1 h].
func (r *Registry) RecordOmitted(d time.Duration) {
	r.omit.mu.Lock()
	if r.omit.h == nil {
		r.omit.h = newPacked()
	}
	_ = r.omit.h.RecordValue(micros(d))
	r.omit.ver++
	r.omit.mu.Unlock()
}

// omittedSnapshot returns a dense copy of the omitted samples (nil when
// there are none) and their version. r.foldMu is held.
func (r *Registry) omittedSnapshot() (*hdrhistogram.Histogram, uint64) {
	r.omit.mu.Lock()
	defer r.omit.mu.Unlock()
	if r.omit.h == nil || r.omit.h.TotalCount() == 0 {
		return nil, r.omit.ver
	}
	if r.omit.out == nil || r.omit.outVer != r.omit.ver {
		r.omit.out, r.omit.outVer = toDense(r.omit.h), r.omit.ver
	}
	return r.omit.out, r.omit.ver
}

// takeOmitted removes and returns the omitted samples (nil when none).
// r.foldMu is held.
func (r *Registry) takeOmitted() *hdrhistogram.PackedHistogram {
	r.omit.mu.Lock()
	defer r.omit.mu.Unlock()
	h := r.omit.h
	r.omit.h, r.omit.out = nil, nil
	r.omit.ver++
	if h != nil && h.TotalCount() == 0 {
		return nil
	}
	return h
}

// mergeOmitted adds the omitted samples of another registry. r.foldMu is
// held.
func (r *Registry) mergeOmitted(h *hdrhistogram.Histogram) {
	if h == nil || h.TotalCount() == 0 {
		return
	}
	r.omit.mu.Lock()
	defer r.omit.mu.Unlock()
	if r.omit.h == nil {
		r.omit.h = newPacked()
	}
	r.omit.h.MergeFrom(h)
	r.omit.ver++
}

// omitVersion returns the version of the omitted samples.
func (r *Registry) omitVersion() uint64 {
	r.omit.mu.Lock()
	defer r.omit.mu.Unlock()
	return r.omit.ver
}

// totalCorrected returns the Aggregated corrected histogram: the names'
// corrected histograms cs plus the omitted samples (nil when all are
// empty), and the version of the omitted samples it holds.
func (r *Registry) totalCorrected(cs []*hdrhistogram.PackedHistogram) (*hdrhistogram.Histogram, uint64) {
	r.omit.mu.Lock()
	defer r.omit.mu.Unlock()
	if r.omit.h != nil && r.omit.h.TotalCount() > 0 {
		cs = append(cs, r.omit.h)
	}
	if len(cs) == 0 {
		return nil, r.omit.ver
	}
	return toDense(cs...), r.omit.ver
}
