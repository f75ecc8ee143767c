package stats

import (
	"maps"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// lagShards stripes the generator-lag histogram: every iteration of a
// paced or arrival-rate user records into it, so one lock would be shared
// by all of them.
const lagShards = 8

// lagHist holds RecordLag's samples.
type lagHist struct {
	shards [lagShards]struct {
		mu sync.Mutex
		h  *hdrhistogram.PackedHistogram
		_  [48]byte // one cache line each
	}
}

// RecordLag adds how late an iteration started after its intended start
// (a paced or arrival-rate user's schedule): the load generator's own lag,
// not the target's. It enters Snapshot.Lag only, never the request counts
// or the latency histograms. Durations are clamped to [0, 1 h].
func (r *Registry) RecordLag(d time.Duration) {
	s := &r.lag.shards[(uint64(d)^uint64(d)>>10)%lagShards]
	s.mu.Lock()
	if s.h == nil {
		s.h = newPacked()
	}
	_ = s.h.RecordValue(micros(d))
	s.mu.Unlock()
}

// lagSnapshot returns the lag samples merged (nil when none); take also
// empties them.
func (r *Registry) lagSnapshot(take bool) *hdrhistogram.Histogram {
	var ps []*hdrhistogram.PackedHistogram
	for i := range r.lag.shards {
		s := &r.lag.shards[i]
		s.mu.Lock()
		if s.h != nil && s.h.TotalCount() > 0 {
			if take {
				ps = append(ps, s.h)
				s.h = nil
			} else {
				c := newPacked()
				c.Merge(s.h)
				ps = append(ps, c)
			}
		}
		s.mu.Unlock()
	}
	if len(ps) == 0 {
		return nil
	}
	return toDense(ps...)
}

// mergeLag adds another registry's lag samples.
func (r *Registry) mergeLag(h *hdrhistogram.Histogram) {
	if h == nil || h.TotalCount() == 0 {
		return
	}
	s := &r.lag.shards[0]
	s.mu.Lock()
	if s.h == nil {
		s.h = newPacked()
	}
	s.h.MergeFrom(h)
	s.mu.Unlock()
}

// ended counts the users that ended before the run stopped them, by
// reason (RecordUserEnd). Users end rarely: a mutex is enough.
type ended struct {
	mu sync.Mutex
	m  map[string]int64
}

// RecordUserEnd counts one user that ended early, before the run stopped
// it, with the reason ("Shopper: OnStart returned user.ErrStopUser"). The
// counts are in Snapshot.EndedUsers.
func (r *Registry) RecordUserEnd(reason string) {
	r.ended.mu.Lock()
	if r.ended.m == nil {
		r.ended.m = map[string]int64{}
	}
	r.ended.m[reason]++
	r.ended.mu.Unlock()
}

// endedSnapshot copies (or, with take, removes) the early-ended counts;
// nil when none.
func (r *Registry) endedSnapshot(take bool) map[string]int64 {
	r.ended.mu.Lock()
	defer r.ended.mu.Unlock()
	if len(r.ended.m) == 0 {
		return nil
	}
	if take {
		m := r.ended.m
		r.ended.m = nil
		return m
	}
	return maps.Clone(r.ended.m)
}

func (r *Registry) mergeEnded(m map[string]int64) {
	if len(m) == 0 {
		return
	}
	r.ended.mu.Lock()
	defer r.ended.mu.Unlock()
	if r.ended.m == nil {
		r.ended.m = map[string]int64{}
	}
	for k, v := range m {
		r.ended.m[k] += v
	}
}
