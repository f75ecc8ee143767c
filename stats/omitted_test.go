package stats

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecordOmittedEntersOnlyTheAggregatedCorrectedHistogram(t *testing.T) {
	r := NewRegistry(Options{})
	r.Record(Sample{Method: "GET", Name: "/", Duration: 10 * time.Millisecond, Corrected: 10 * time.Millisecond})
	r.Record(Sample{Method: "GET", Name: "/", Duration: 20 * time.Millisecond, Corrected: 20 * time.Millisecond})
	r.Record(Sample{Method: "GET", Name: "/x", Duration: 30 * time.Millisecond})
	for range 3 {
		r.RecordOmitted(time.Second)
	}
	s := r.Snapshot()
	require.Len(t, s.Entries, 2, "no entry of its own")
	assert.Equal(t, int64(2), s.Entries[0].CorrectedHist.TotalCount())
	assert.Nil(t, s.Entries[1].CorrectedHist)
	assert.Equal(t, int64(3), s.Total.NumRequests)
	assert.Equal(t, int64(3), s.Total.Hist.TotalCount())
	assert.Equal(t, 30*time.Millisecond, s.Total.Max)
	assert.Equal(t, 30*time.Millisecond, s.Total.Percentile(1), "service time unchanged")
	assert.Equal(t, int64(5), s.Total.CorrectedHist.TotalCount())
	assert.InDelta(t, float64(time.Second), float64(s.Total.CorrectedPercentile(0.99)), float64(time.Millisecond))
	assert.InDelta(t, float64(20*time.Millisecond), float64(s.Total.CorrectedPercentile(0.2)), float64(100*time.Microsecond), "rank 2 of 5")
	require.NotNil(t, s.Omitted)
	assert.Equal(t, int64(3), s.Omitted.TotalCount())
	assert.False(t, r.HasFailures())
}

func TestRecordOmittedAloneAndClamped(t *testing.T) {
	r := NewRegistry(Options{})
	s := r.Snapshot()
	assert.Nil(t, s.Total.CorrectedHist)
	assert.Nil(t, s.Omitted)
	r.RecordOmitted(2 * time.Hour)
	r.RecordOmitted(-time.Second)
	s = r.Snapshot()
	assert.Empty(t, s.Entries)
	assert.Equal(t, int64(0), s.Total.NumRequests)
	require.NotNil(t, s.Total.CorrectedHist)
	assert.Equal(t, int64(2), s.Total.CorrectedHist.TotalCount())
	assert.InDelta(t, float64(time.Hour), float64(s.Total.CorrectedPercentile(1)), float64(time.Hour/500))
	assert.Equal(t, time.Duration(0), s.Total.CorrectedPercentile(0.1))
}

func TestSnapshotSeesNewOmittedSamples(t *testing.T) {
	r := NewRegistry(Options{})
	r.Record(Sample{Method: "GET", Name: "/", Duration: time.Millisecond, Corrected: time.Millisecond})
	a := r.Snapshot()
	b := r.Snapshot()
	assert.Same(t, a.Total.CorrectedHist, b.Total.CorrectedHist, "shared while unchanged")
	r.RecordOmitted(time.Second)
	c := r.Snapshot()
	assert.Equal(t, int64(1), a.Total.CorrectedHist.TotalCount(), "an earlier snapshot does not change")
	assert.Equal(t, int64(2), c.Total.CorrectedHist.TotalCount())
	d := r.Snapshot()
	assert.Same(t, c.Total.CorrectedHist, d.Total.CorrectedHist)
	assert.Same(t, c.Omitted, d.Omitted)
}

func TestOmittedSurviveTakeDeltaMergeAndReset(t *testing.T) {
	clk := newFakeClock()
	single := NewRegistry(Options{Now: clk.Now})
	workers := []*Registry{NewRegistry(Options{Now: clk.Now}), NewRegistry(Options{Now: clk.Now})}
	master := NewRegistry(Options{Now: clk.Now})
	rnd := rand.New(rand.NewPCG(3, 4))
	for round := range 5 {
		feed(clk, uint64(round), 1000, func(s Sample) {
			single.Record(s)
			workers[rnd.IntN(len(workers))].Record(s)
		})
		for range 200 {
			d := time.Duration(rnd.ExpFloat64()*float64(500*time.Millisecond)) + time.Duration(rnd.IntN(1000))*time.Microsecond
			single.RecordOmitted(d)
			workers[rnd.IntN(len(workers))].RecordOmitted(d)
		}
		for _, w := range workers {
			master.Merge(w.TakeDelta())
		}
	}
	a, b := single.Snapshot(), master.Snapshot()
	assert.Equal(t, a.Total.NumRequests, b.Total.NumRequests)
	assert.True(t, a.Total.Hist.Equals(b.Total.Hist))
	assert.Equal(t, int64(1000), a.Omitted.TotalCount())
	assert.True(t, a.Omitted.Equals(b.Omitted))
	assert.True(t, a.Total.CorrectedHist.Equals(b.Total.CorrectedHist))
	for _, p := range ReportPercentiles {
		assert.Equal(t, a.Total.CorrectedPercentile(p), b.Total.CorrectedPercentile(p))
	}
	var named int64
	for _, e := range b.Entries {
		if e.CorrectedHist != nil {
			named += e.CorrectedHist.TotalCount()
		}
	}
	assert.Equal(t, b.Total.CorrectedHist.TotalCount(), named+1000)

	// A delta holds the omitted samples once.
	w := workers[0]
	w.RecordOmitted(time.Second)
	d := w.TakeDelta()
	assert.Empty(t, d.Entries)
	require.NotNil(t, d.Omitted)
	assert.Equal(t, int64(1), d.Omitted.TotalCount())
	assert.Equal(t, int64(1), d.Total.CorrectedHist.TotalCount())
	d = w.TakeDelta()
	assert.Nil(t, d.Omitted)
	assert.Nil(t, d.Total.CorrectedHist)

	// Merge reads Omitted, not the Aggregated row.
	m := NewRegistry(Options{})
	m.Merge(&Snapshot{Total: &Entry{Name: AggregatedName, CorrectedHist: a.Total.CorrectedHist}})
	assert.Nil(t, m.Snapshot().Total.CorrectedHist)

	master.Reset()
	s := master.Snapshot()
	assert.Nil(t, s.Omitted)
	assert.Nil(t, s.Total.CorrectedHist)
	master.RecordOmitted(time.Second)
	assert.Equal(t, int64(1), master.Snapshot().Total.CorrectedHist.TotalCount())
}

func TestRecordOmittedConcurrently(t *testing.T) {
	r := NewRegistry(Options{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var deltas []*Snapshot
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = r.Snapshot()
			deltas = append(deltas, r.TakeDelta())
		}
	})
	var rec sync.WaitGroup
	for range 4 {
		rec.Go(func() {
			for i := range 2000 {
				r.RecordOmitted(time.Duration(i) * time.Microsecond)
				r.Record(Sample{Method: "GET", Name: "/", Duration: time.Millisecond})
			}
		})
	}
	rec.Wait()
	close(stop)
	wg.Wait()
	deltas = append(deltas, r.TakeDelta())
	var omitted, total, reqs int64
	for _, d := range deltas {
		if d.Omitted != nil {
			omitted += d.Omitted.TotalCount()
		}
		if d.Total.CorrectedHist != nil {
			total += d.Total.CorrectedHist.TotalCount()
		}
		reqs += d.Total.NumRequests
	}
	assert.Equal(t, int64(8000), omitted)
	assert.Equal(t, int64(8000), total)
	assert.Equal(t, int64(8000), reqs)
}
