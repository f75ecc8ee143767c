package stats

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCountsIndexMatchesHdrhistogram(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	vals := []int64{0, 1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096, 1 << 20, histHighest - 1, histHighest}
	for range 2000 {
		vals = append(vals, rnd.Int64N(histHighest+1), rnd.Int64N(100_000))
	}
	h := newHist()
	for k, v := range vals {
		i := countsIndex(v)
		require.Less(t, i, countsLen)
		require.True(t, h.ValuesAreEquivalent(v, valueAt(i)), "value %d, bucket value %d", v, valueAt(i))
		require.Equal(t, i, countsIndex(valueAt(i)))
		if k < 60 { // the exact slot, checked on a few (Export copies 184 KiB)
			h.Reset()
			require.NoError(t, h.RecordValue(v))
			require.Equal(t, int64(1), h.Export().Counts[i], "value %d", v)
		}
	}
	assert.Equal(t, countsLen, len(newHist().Export().Counts))
}

// exactPercentile is Locust's percentile of sorted samples: the
// (floor(n*p)+1)-th smallest.
func exactPercentile(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(int(float64(len(sorted))*p), len(sorted)-1)]
}

func TestPercentilesMatchExactWithinHDRPrecision(t *testing.T) {
	clk := newFakeClock()
	r := NewRegistry(Options{Now: clk.Now})
	rnd := rand.New(rand.NewPCG(3, 4))
	var samples []time.Duration
	for range 50_000 {
		// log-normal around 20 ms, with a long tail, in whole microseconds
		d := time.Duration(math.Exp(rnd.NormFloat64()*1.2+math.Log(20_000))) * time.Microsecond
		samples = append(samples, d)
		r.Record(Sample{Method: "GET", Name: "/x", Duration: d, Size: 10})
	}
	slices.Sort(samples)
	s := r.Snapshot()
	require.Len(t, s.Entries, 1)
	e := s.Entries[0]
	assert.Equal(t, samples[0], e.Min)
	assert.Equal(t, samples[len(samples)-1], e.Max)
	for _, p := range append([]float64{0.01, 0.1, 0.25}, ReportPercentiles...) {
		want := exactPercentile(samples, p)
		got := e.Percentile(p)
		tol := time.Duration(float64(want)*0.001) + time.Microsecond
		assert.InDelta(t, float64(want), float64(got), float64(tol), "p%v: exact %v, got %v", p*100, want, got)
		assert.LessOrEqual(t, got, e.Max)
		assert.GreaterOrEqual(t, got, e.Min)
	}
	assert.Equal(t, e.Max, e.Percentile(1), "p100 is the exact max")
	medWant := samples[(len(samples)-1)/2]
	assert.InDelta(t, float64(medWant), float64(e.Median()), float64(medWant)*0.001+float64(time.Microsecond))
	// Aggregated equals the only name.
	assert.Equal(t, e.NumRequests, s.Total.NumRequests)
	assert.True(t, e.Hist.Equals(s.Total.Hist))
}

func TestRecordCountsSumsMinMaxAndBytes(t *testing.T) {
	clk := newFakeClock()
	r := NewRegistry(Options{Now: clk.Now})
	r.Record(Sample{Method: "GET", Name: "/a", Duration: 10 * time.Millisecond, Size: 100})
	r.Record(Sample{Method: "GET", Name: "/a", Duration: 30 * time.Millisecond, Size: 300})
	r.Record(Sample{Method: "POST", Name: "/a", Duration: 5 * time.Millisecond, Err: errors.New("boom")})
	r.Record(Sample{Method: "GET", Name: "/b", Duration: 2 * time.Hour}) // clamped in the histogram only
	s := r.Snapshot()
	require.Len(t, s.Entries, 3)
	a, pa, b := s.Entries[0], s.Entries[1], s.Entries[2]
	assert.Equal(t, [3]string{"GET /a", "POST /a", "GET /b"}, [3]string{a.Method + " " + a.Name, pa.Method + " " + pa.Name, b.Method + " " + b.Name})
	assert.Equal(t, int64(2), a.NumRequests)
	assert.Equal(t, 20*time.Millisecond, a.Avg())
	assert.Equal(t, 200.0, a.AvgSize())
	assert.Equal(t, 10*time.Millisecond, a.Min)
	assert.Equal(t, 30*time.Millisecond, a.Max)
	assert.Equal(t, int64(1), pa.NumFailures)
	assert.Equal(t, 1.0, pa.FailRatio())
	assert.Equal(t, 2*time.Hour, b.Max)
	assert.Equal(t, 2*time.Hour, b.Percentile(1), "clamped into [Min, Max]")
	tot := s.Total
	assert.Equal(t, "Aggregated", tot.Name)
	assert.Equal(t, "", tot.Method)
	assert.Equal(t, int64(4), tot.NumRequests)
	assert.Equal(t, int64(1), tot.NumFailures)
	assert.Equal(t, int64(400), tot.TotalBytes)
	assert.Equal(t, 5*time.Millisecond, tot.Min)
	assert.Equal(t, 2*time.Hour, tot.Max)
	assert.Equal(t, int64(4), tot.Hist.TotalCount())
	assert.Nil(t, tot.CorrectedHist)
	assert.Equal(t, int64(1), r.NumErrors())
	assert.True(t, r.HasFailures())
}

func TestErrorsGroupedByMethodNameAndText(t *testing.T) {
	clk := newFakeClock()
	r := NewRegistry(Options{Now: clk.Now})
	t0 := clk.Now()
	for i := range 5 {
		r.Record(Sample{Method: "GET", Name: "/item", Duration: time.Millisecond, Err: errors.New("HTTP 500")})
		clk.Add(time.Second)
		if i%2 == 0 {
			r.Record(Sample{Method: "POST", Name: "/item", Duration: time.Millisecond, Err: errors.New("HTTP 500")})
		}
	}
	r.Record(Sample{Method: "GET", Name: "/item", Err: fmt.Errorf("dial: %w", errors.New("connection refused"))})
	s := r.Snapshot()
	require.Len(t, s.Errors, 3)
	assert.Equal(t, Error{Method: "GET", Name: "/item", Message: "HTTP 500", Occurrences: 5,
		FirstSeen: t0.UTC(), LastSeen: t0.Add(4 * time.Second).UTC()}, *s.Errors[0])
	assert.Equal(t, "POST", s.Errors[1].Method)
	assert.Equal(t, int64(3), s.Errors[1].Occurrences)
	assert.Equal(t, "dial: connection refused", s.Errors[2].Message)
	assert.Equal(t, int64(9), r.NumErrors())
}

func TestDistinctErrorTextsAreCapped(t *testing.T) {
	r := NewRegistry(Options{})
	for i := range maxErrorsPerEntry + 50 {
		r.Record(Sample{Method: "GET", Name: "/x", Err: fmt.Errorf("id %d not found", i)})
	}
	s := r.Snapshot()
	assert.Len(t, s.Errors, maxErrorsPerEntry+1)
	assert.Equal(t, otherErrors, s.Errors[0].Message)
	assert.Equal(t, int64(50), s.Errors[0].Occurrences)
}

func TestExceptionsGroupedByStack(t *testing.T) {
	r := NewRegistry(Options{})
	for range 3 {
		r.RecordException("panic: boom", "stack A")
	}
	r.RecordException("panic: other", "stack B")
	s := r.Snapshot()
	require.Len(t, s.Exceptions, 2)
	assert.Equal(t, Exception{Message: "panic: boom", Traceback: "stack A", Count: 3}, *s.Exceptions[0])
	assert.Equal(t, int64(1), s.Exceptions[1].Count)
	assert.Equal(t, int64(4), r.NumErrors())
	assert.True(t, r.HasFailures())
}

func TestConcurrentRecordingIsExact(t *testing.T) {
	r := NewRegistry(Options{})
	const goroutines, perG = 50, 2000
	names := []string{"/a", "/b", "/c", "/d", "/e"}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	snapDone := make(chan struct{})
	go func() { // snapshots and deltas race with the recorders
		defer close(snapDone)
		for {
			select {
			case <-stop:
				return
			default:
				r.Snapshot()
			}
		}
	}()
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perG {
				s := Sample{Method: "GET", Name: names[(g+i)%len(names)], Duration: time.Duration(1+i%1000) * time.Microsecond, Size: 1}
				if i%10 == 0 {
					s.Err = errors.New("fail")
				}
				if i%7 == 0 {
					s.Corrected = s.Duration * 2
				}
				r.Record(s)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-snapDone
	s := r.Snapshot()
	tot := s.Total
	assert.Equal(t, int64(goroutines*perG), tot.NumRequests)
	assert.Equal(t, int64(goroutines*perG/10), tot.NumFailures)
	assert.Equal(t, int64(goroutines*perG), tot.TotalBytes)
	assert.Equal(t, int64(goroutines*perG), tot.Hist.TotalCount())
	var corrected int64
	for i := range perG {
		if i%7 == 0 {
			corrected += goroutines
		}
	}
	assert.Equal(t, corrected, tot.CorrectedHist.TotalCount())
	var sum int64
	for _, e := range s.Entries {
		assert.Equal(t, e.NumRequests, e.Hist.TotalCount())
		sum += e.NumRequests
	}
	assert.Equal(t, tot.NumRequests, sum)
	assert.Equal(t, time.Microsecond, tot.Min)
	assert.Equal(t, 1000*time.Microsecond, tot.Max)
	require.Len(t, s.Errors, len(names))
	var occ int64
	for _, e := range s.Errors {
		occ += e.Occurrences
	}
	assert.Equal(t, tot.NumFailures, occ)
}

func TestNameCapFoldsExcessWithOneWarning(t *testing.T) {
	var warnings []string
	r := NewRegistry(Options{MaxNames: 3, Warn: func(m string) { warnings = append(warnings, m) }})
	for i := range 10 {
		r.Record(Sample{Method: "GET", Name: fmt.Sprintf("/user/%d", i), Duration: time.Millisecond})
		r.Record(Sample{Method: "POST", Name: fmt.Sprintf("/user/%d", i), Duration: time.Millisecond, Err: errors.New("x")})
	}
	s := r.Snapshot()
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], OtherName)
	var names []string
	for _, e := range s.Entries {
		names = append(names, e.Method+" "+e.Name)
	}
	assert.Equal(t, []string{"GET /user/0", "POST /user/0", "GET /user/1", "GET " + OtherName, "POST " + OtherName}, names)
	assert.Equal(t, int64(8), s.Entries[3].NumRequests, "GET /user/2 .. /user/9")
	assert.Equal(t, int64(9), s.Entries[4].NumRequests, "POST /user/1 .. /user/9")
	assert.Equal(t, int64(20), s.Total.NumRequests)
	// Errors of folded names are grouped under the folded name too.
	var otherErr int64
	for _, e := range s.Errors {
		if e.Name == OtherName {
			otherErr += e.Occurrences
		}
	}
	assert.Equal(t, int64(9), otherErr)
}

func TestCurrentRPSWindowRule(t *testing.T) {
	clk := newFakeClock()
	r := NewRegistry(Options{Now: clk.Now})
	start := clk.Now().Unix()
	// second k gets k+1 requests, for 20 seconds
	for k := range 20 {
		for range k + 1 {
			r.Record(Sample{Method: "GET", Name: "/", Duration: time.Millisecond})
		}
		if k%3 == 0 {
			r.Snapshot() // snapshots in between must not change the counts
		}
		if k == 5 {
			// Early in the run the window starts at the start time: [0, 3) -> 1,2,3
			e := r.Snapshot().Entries[0]
			assert.InDelta(t, 2.0, e.CurrentRPS(clk.Now()), 1e-9)
			// Too early: empty window.
			assert.Equal(t, 0.0, e.CurrentRPS(time.Unix(start+1, 0)))
		}
		clk.Add(time.Second)
	}
	now := time.Unix(start+19, 500_000_000) // during second 19
	s := r.Snapshot()
	e := s.Entries[0]
	// seconds [19-12, 19-2) = [7, 17): counts 8..17 -> mean 12.5
	assert.InDelta(t, 12.5, e.CurrentRPS(now), 1e-9)
	assert.InDelta(t, 12.5, s.Total.CurrentRPS(now), 1e-9)
	assert.Equal(t, 0.0, e.CurrentFailPerSec(now))
	// The registry keeps ~20 s of per-second counts.
	for sec := range e.ReqPerSec {
		assert.Greater(t, sec, start+19-keepSeconds)
	}
	// total RPS over the run
	assert.InDelta(t, float64(e.NumRequests)/e.LastRequest.Sub(e.Start).Seconds(), e.TotalRPS(), 1e-9)
}

func TestCurrentPercentilesCoverTheLastTenSeconds(t *testing.T) {
	clk := newFakeClock()
	r := NewRegistry(Options{Now: clk.Now})
	for range 10 { // 10 s of slow requests
		for range 100 {
			r.Record(Sample{Method: "GET", Name: "/", Duration: 500 * time.Millisecond})
		}
		clk.Add(time.Second)
		r.Snapshot()
	}
	s := r.Snapshot()
	assert.Equal(t, 500*time.Millisecond, s.Entries[0].CurrentPercentile(0.5))
	for range 11 { // then 11 s of fast ones
		for range 100 {
			r.Record(Sample{Method: "GET", Name: "/", Duration: 5 * time.Millisecond})
		}
		clk.Add(time.Second)
		r.Snapshot()
	}
	s = r.Snapshot()
	e := s.Entries[0]
	assert.InDelta(t, float64(5*time.Millisecond), float64(e.CurrentPercentile(0.99)), 5e-3*float64(time.Millisecond), "slow ones left the window")
	assert.Equal(t, 500*time.Millisecond, e.Percentile(0.99), "cumulative keeps them")
	assert.Equal(t, e.CurrentPercentile(0.99), s.Total.CurrentPercentile(0.99))
	assert.LessOrEqual(t, e.Current.TotalCount(), int64(1100))
	// Idle for a while: the window empties.
	clk.Add(15 * time.Second)
	s = r.Snapshot()
	assert.Nil(t, s.Entries[0].Current)
	assert.Equal(t, time.Duration(0), s.Entries[0].CurrentPercentile(0.5))
}

func TestSnapshotHistogramsAreSharedOnlyWhileUnchanged(t *testing.T) {
	r := NewRegistry(Options{})
	r.Record(Sample{Method: "GET", Name: "/", Duration: time.Millisecond})
	a := r.Snapshot()
	b := r.Snapshot()
	assert.Same(t, a.Entries[0].Hist, b.Entries[0].Hist)
	assert.Same(t, a.Total.Hist, b.Total.Hist)
	r.Record(Sample{Method: "GET", Name: "/", Duration: time.Millisecond})
	c := r.Snapshot()
	assert.NotSame(t, a.Entries[0].Hist, c.Entries[0].Hist)
	assert.Equal(t, int64(1), a.Entries[0].Hist.TotalCount(), "an earlier snapshot does not change")
	assert.Equal(t, int64(2), c.Total.Hist.TotalCount())
}

func TestCorrectedHistogram(t *testing.T) {
	r := NewRegistry(Options{})
	r.Record(Sample{Method: "GET", Name: "/", Duration: 10 * time.Millisecond})
	s := r.Snapshot()
	assert.Nil(t, s.Entries[0].CorrectedHist)
	assert.Equal(t, time.Duration(0), s.Entries[0].CorrectedPercentile(0.5))
	for i := range 100 {
		r.Record(Sample{Method: "GET", Name: "/", Duration: 10 * time.Millisecond, Corrected: time.Duration(i+1) * 100 * time.Millisecond})
	}
	s = r.Snapshot()
	e := s.Entries[0]
	require.NotNil(t, e.CorrectedHist)
	assert.Equal(t, int64(100), e.CorrectedHist.TotalCount())
	assert.InDelta(t, float64(5100*time.Millisecond), float64(e.CorrectedPercentile(0.5)), float64(5*time.Millisecond))
	assert.InDelta(t, float64(10*time.Second), float64(e.CorrectedPercentile(1)), float64(10*time.Millisecond))
	assert.Equal(t, 10*time.Millisecond, e.Percentile(1), "service time is separate")
	assert.Equal(t, int64(100), s.Total.CorrectedHist.TotalCount())
}

func TestResetClearsEverything(t *testing.T) {
	clk := newFakeClock()
	r := NewRegistry(Options{Now: clk.Now})
	r.Record(Sample{Method: "GET", Name: "/", Duration: time.Millisecond, Corrected: time.Second, Err: errors.New("x")})
	r.RecordException("m", "tb")
	clk.Add(5 * time.Second)
	r.Reset()
	assert.Equal(t, int64(0), r.NumErrors())
	assert.False(t, r.HasFailures())
	s := r.Snapshot()
	assert.Equal(t, clk.Now(), s.Start)
	require.Len(t, s.Entries, 1, "names stay listed, as in Locust")
	e := s.Entries[0]
	assert.Equal(t, int64(0), e.NumRequests)
	assert.Equal(t, int64(0), e.Hist.TotalCount())
	assert.Nil(t, e.CorrectedHist)
	assert.Nil(t, e.Current)
	assert.Empty(t, e.ReqPerSec)
	assert.Equal(t, time.Duration(0), e.Percentile(0.5))
	assert.Empty(t, s.Errors)
	assert.Empty(t, s.Exceptions)
	assert.Equal(t, int64(0), s.Total.NumRequests)
	assert.True(t, s.Total.LastRequest.IsZero())
	r.Record(Sample{Method: "GET", Name: "/", Duration: 3 * time.Millisecond})
	s = r.Snapshot()
	assert.Equal(t, 3*time.Millisecond, s.Entries[0].Min)
	assert.Equal(t, int64(1), s.Total.Hist.TotalCount())
}

// feed records n pseudo-random samples with record, moving the clock.
func feed(clk *fakeClock, seed uint64, n int, record func(Sample)) {
	rnd := rand.New(rand.NewPCG(seed, 8))
	names := []string{"/a", "/b", "/c"}
	for i := range n {
		s := Sample{
			Method:   []string{"GET", "POST"}[rnd.IntN(2)],
			Name:     names[rnd.IntN(len(names))],
			Duration: time.Duration(rnd.ExpFloat64()*30_000) * time.Microsecond,
			Size:     rnd.Int64N(5000),
		}
		if rnd.IntN(10) == 0 {
			s.Err = fmt.Errorf("HTTP %d", 500+rnd.IntN(3))
		}
		if rnd.IntN(4) == 0 {
			s.Corrected = s.Duration + time.Duration(rnd.IntN(1000))*time.Millisecond
		}
		record(s)
		if i%7 == 0 {
			clk.Add(137 * time.Millisecond)
		}
	}
}

func TestMergeOfDeltasEqualsOneRegistry(t *testing.T) {
	clk := newFakeClock()
	single := NewRegistry(Options{Now: clk.Now})
	workers := []*Registry{NewRegistry(Options{Now: clk.Now}), NewRegistry(Options{Now: clk.Now}), NewRegistry(Options{Now: clk.Now})}
	master := NewRegistry(Options{Now: clk.Now})
	rnd := rand.New(rand.NewPCG(9, 10))
	for round := range 10 {
		feed(clk, uint64(round), 3000, func(s Sample) {
			single.Record(s)
			workers[rnd.IntN(len(workers))].Record(s)
		})
		for _, w := range workers { // a delta every few seconds
			master.Merge(w.TakeDelta())
		}
	}
	for k, w := range workers {
		w.RecordException("panic: x", "stack")
		if k == 0 {
			w.RecordException("panic: y", "stack y")
		}
		d := w.TakeDelta()
		for _, x := range d.Exceptions {
			x.Nodes = []string{fmt.Sprintf("worker-%d", k)}
		}
		master.Merge(d)
	}
	single.RecordException("panic: x", "stack")
	single.RecordException("panic: x", "stack")
	single.RecordException("panic: x", "stack")
	single.RecordException("panic: y", "stack y")

	a, b := single.Snapshot(), master.Snapshot()
	require.Equal(t, len(a.Entries), len(b.Entries))
	for k := range a.Entries {
		x, y := a.Entries[k], b.Entries[k]
		assert.Equal(t, x.Method+x.Name, y.Method+y.Name)
		assert.Equal(t, x.NumRequests, y.NumRequests)
		assert.Equal(t, x.NumFailures, y.NumFailures)
		assert.Equal(t, x.TotalTime, y.TotalTime)
		assert.Equal(t, x.Min, y.Min)
		assert.Equal(t, x.Max, y.Max)
		assert.Equal(t, x.TotalBytes, y.TotalBytes)
		assert.Equal(t, x.LastRequest, y.LastRequest)
		assert.True(t, x.Hist.Equals(y.Hist), "%s %s histogram", x.Method, x.Name)
		assert.True(t, x.CorrectedHist.Equals(y.CorrectedHist), "%s %s corrected histogram", x.Method, x.Name)
		for _, p := range ReportPercentiles {
			assert.Equal(t, x.Percentile(p), y.Percentile(p))
		}
	}
	assert.Equal(t, a.Total.NumRequests, b.Total.NumRequests)
	assert.True(t, a.Total.Hist.Equals(b.Total.Hist))
	assert.True(t, a.Total.CorrectedHist.Equals(b.Total.CorrectedHist))
	assert.Equal(t, a.Total.ReqPerSec, b.Total.ReqPerSec)
	assert.Equal(t, a.Total.FailPerSec, b.Total.FailPerSec)
	assert.Equal(t, a.Errors, b.Errors, "errors with first and last seen")
	require.Len(t, b.Exceptions, 2)
	assert.Equal(t, int64(3), b.Exceptions[0].Count)
	assert.Equal(t, []string{"worker-0", "worker-1", "worker-2"}, b.Exceptions[0].Nodes)
	assert.Equal(t, single.NumErrors(), master.NumErrors())
}

func TestSmallCountPercentilesFollowLocustsRanks(t *testing.T) {
	r := NewRegistry(Options{})
	for _, v := range []int{10, 20, 30, 40} {
		r.Record(Sample{Method: "GET", Name: "/", Duration: time.Duration(v) * time.Millisecond})
	}
	e := r.Snapshot().Entries[0]
	assert.InDelta(t, float64(20*time.Millisecond), float64(e.Median()), float64(20*time.Microsecond), "lower middle, like median_from_dict")
	want := map[float64]time.Duration{0.5: 30, 0.66: 30, 0.75: 40, 0.8: 40, 0.9: 40, 1: 40}
	for p, ms := range want { // HDR's highest equivalent value: within 0.1%
		assert.InDelta(t, float64(ms*time.Millisecond), float64(e.Percentile(p)), float64(ms*time.Microsecond), "p%v", p)
	}
	assert.InDelta(t, float64(10*time.Millisecond), float64(e.Percentile(0)), float64(10*time.Microsecond))
}

func TestTakeDeltaReturnsOnlyWhatIsNewAndZeroes(t *testing.T) {
	clk := newFakeClock()
	r := NewRegistry(Options{Now: clk.Now})
	t0 := clk.Now()
	r.Record(Sample{Method: "GET", Name: "/a", Duration: 10 * time.Millisecond, Corrected: 20 * time.Millisecond, Err: errors.New("x")})
	r.Record(Sample{Method: "GET", Name: "/b", Duration: 30 * time.Millisecond})
	r.RecordException("m", "tb")
	clk.Add(3 * time.Second)
	d := r.TakeDelta()
	assert.Equal(t, t0, d.Start)
	require.Len(t, d.Entries, 2)
	assert.Nil(t, d.Entries[0].Current)
	assert.Equal(t, map[int64]int64{t0.Unix(): 1}, d.Entries[0].ReqPerSec)
	assert.Equal(t, map[int64]int64{t0.Unix(): 1}, d.Entries[0].FailPerSec)
	assert.Equal(t, int64(1), d.Entries[0].CorrectedHist.TotalCount())
	assert.Equal(t, int64(2), d.Total.NumRequests)
	assert.Equal(t, int64(2), d.Total.Hist.TotalCount())
	require.Len(t, d.Errors, 1)
	require.Len(t, d.Exceptions, 1)

	r.Record(Sample{Method: "GET", Name: "/b", Duration: 5 * time.Millisecond})
	d2 := r.TakeDelta()
	assert.Equal(t, clk.Now(), d2.Start)
	require.Len(t, d2.Entries, 1, "names without new requests are left out")
	b := d2.Entries[0]
	assert.Equal(t, "/b", b.Name)
	assert.Equal(t, int64(1), b.NumRequests)
	assert.Equal(t, 5*time.Millisecond, b.Min)
	assert.Equal(t, 5*time.Millisecond, b.Max)
	assert.Equal(t, int64(1), b.Hist.TotalCount())
	assert.Nil(t, b.CorrectedHist)
	assert.Empty(t, d2.Errors)
	assert.Empty(t, d2.Exceptions)
	assert.Empty(t, r.TakeDelta().Entries)
	assert.Equal(t, int64(2), r.NumErrors(), "counted since start, not since the last delta")
}

func TestWarnMayRecord(t *testing.T) {
	var r *Registry
	r = NewRegistry(Options{MaxNames: 1, Warn: func(string) {
		r.Record(Sample{Method: "LOG", Name: "warning", Duration: 1})
	}})
	r.Record(Sample{Method: "GET", Name: "/1"})
	r.Record(Sample{Method: "GET", Name: "/2"})
	s := r.Snapshot()
	assert.Equal(t, int64(3), s.Total.NumRequests)
}

func TestBusyStripesMakeTheNameGrowAStripe(t *testing.T) {
	r := NewRegistry(Options{})
	r.Record(Sample{Method: "GET", Name: "/", Duration: time.Millisecond})
	e := r.lookup("GET", "/", 0)
	require.Equal(t, int32(1), e.nstripes.Load())
	first := e.stripes[0].Load()
	first.mu.Lock() // a recorder holds the only stripe
	r.Record(Sample{Method: "GET", Name: "/", Duration: 2 * time.Millisecond})
	first.mu.Unlock()
	assert.Equal(t, int32(2), e.nstripes.Load())
	// Stripes never exceed the limit: hold them all and record from another goroutine.
	for e.nstripes.Load() < r.maxStripes {
		n := e.nstripes.Load()
		for k := range n {
			e.stripes[k].Load().mu.Lock()
		}
		r.Record(Sample{Method: "GET", Name: "/", Duration: 3 * time.Millisecond})
		for k := range n {
			e.stripes[k].Load().mu.Unlock()
		}
		require.Equal(t, n+1, e.nstripes.Load())
	}
	s := r.Snapshot()
	assert.Equal(t, int64(2+r.maxStripes-2), s.Total.NumRequests)
	assert.Equal(t, s.Total.NumRequests, s.Total.Hist.TotalCount())
	assert.Equal(t, time.Millisecond, s.Total.Min)
}

func TestIdleStripesGiveBackTheirDenseCounts(t *testing.T) {
	clk := newFakeClock()
	r := NewRegistry(Options{Now: clk.Now})
	r.Record(Sample{Method: "GET", Name: "/", Duration: time.Millisecond, Corrected: time.Second})
	st := r.lookup("GET", "/", 0).stripes[0].Load()
	r.Snapshot()
	assert.NotNil(t, st.hist.c, "kept while recently used")
	clk.Add(idleFree + time.Second)
	r.Snapshot()
	assert.Nil(t, st.hist.c)
	assert.Nil(t, st.corr.c)
	r.Record(Sample{Method: "GET", Name: "/", Duration: 2 * time.Millisecond})
	s := r.Snapshot()
	assert.Equal(t, int64(2), s.Entries[0].Hist.TotalCount())
	assert.Equal(t, 2*time.Millisecond, s.Entries[0].Max)
}

func TestNegativeAndHugeDurationsAreClampedInTheHistogram(t *testing.T) {
	r := NewRegistry(Options{})
	r.Record(Sample{Method: "GET", Name: "/", Duration: -time.Second})
	r.Record(Sample{Method: "GET", Name: "/", Duration: 100 * time.Hour})
	e := r.Snapshot().Entries[0]
	assert.Equal(t, int64(2), e.Hist.TotalCount())
	assert.Equal(t, -time.Second, e.Min, "exact values are kept as given")
	assert.Equal(t, 100*time.Hour, e.Max)
	assert.Equal(t, 100*time.Hour, e.Percentile(1))
}

func TestSnapshotHistogramsMergeIntoAFullRangeOne(t *testing.T) {
	r := NewRegistry(Options{})
	r.Record(Sample{Method: "GET", Name: "/fast", Duration: 300 * time.Microsecond})
	r.Record(Sample{Method: "GET", Name: "/slow", Duration: 90 * time.Second})
	r.Record(Sample{Method: "GET", Name: "/slower", Duration: 3 * time.Hour})
	s := r.Snapshot()
	h := NewHistogram()
	for _, e := range s.Entries {
		assert.Zero(t, h.Merge(e.Hist), "nothing dropped")
	}
	assert.Equal(t, h.Export().Counts[:len(s.Total.Hist.Export().Counts)], s.Total.Hist.Export().Counts)
	assert.Equal(t, int64(3), s.Total.Hist.TotalCount())
	assert.Less(t, s.Entries[0].Hist.ByteSize(), newHist().ByteSize()/3, "a fast name's histogram is small")
}

func TestMinMaxWithOnlyNegativeDurations(t *testing.T) {
	r := NewRegistry(Options{})
	r.Record(Sample{Method: "GET", Name: "/", Duration: -3 * time.Millisecond})
	r.Record(Sample{Method: "GET", Name: "/", Duration: -2 * time.Millisecond})
	e := r.Snapshot().Entries[0]
	assert.Equal(t, -3*time.Millisecond, e.Min)
	assert.Equal(t, -2*time.Millisecond, e.Max)
}

func TestPercentilesInOnePassEqualPercentile(t *testing.T) {
	r := NewRegistry(Options{})
	rnd := rand.New(rand.NewPCG(5, 6))
	for range 5000 {
		r.Record(Sample{Method: "GET", Name: "/", Duration: time.Duration(rnd.ExpFloat64() * float64(20*time.Millisecond))})
	}
	e := r.Snapshot().Entries[0]
	ps := append([]float64{0, 0.01, 0.5}, ReportPercentiles...)
	got := e.Percentiles(ps...)
	for i, p := range ps {
		assert.Equal(t, e.Percentile(p), got[i], "p%v", p)
	}
	assert.Equal(t, []time.Duration{0, 0}, (&Entry{}).Percentiles(0.5, 1))
}

func TestDeltasTakenDuringRecordingLoseNothing(t *testing.T) {
	worker := NewRegistry(Options{})
	master := NewRegistry(Options{})
	const goroutines, perG = 20, 3000
	var wg sync.WaitGroup
	done := make(chan struct{})
	reporter := make(chan struct{})
	go func() { // a worker's report loop, racing with the recorders
		defer close(reporter)
		for {
			select {
			case <-done:
				master.Merge(worker.TakeDelta())
				return
			default:
				master.Merge(worker.TakeDelta())
				master.Snapshot()
			}
		}
	}()
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perG {
				s := Sample{Method: "GET", Name: []string{"/a", "/b"}[i%2], Duration: time.Duration(g*perG+i) * time.Microsecond, Size: 2}
				if i%5 == 0 {
					s.Err = errors.New("boom")
				}
				worker.Record(s)
			}
		}()
	}
	wg.Wait()
	close(done)
	<-reporter
	tot := master.Snapshot().Total
	assert.Equal(t, int64(goroutines*perG), tot.NumRequests)
	assert.Equal(t, int64(goroutines*perG/5), tot.NumFailures)
	assert.Equal(t, int64(2*goroutines*perG), tot.TotalBytes)
	assert.Equal(t, int64(goroutines*perG), tot.Hist.TotalCount())
	assert.Equal(t, time.Duration(0), tot.Min)
	assert.Equal(t, time.Duration(goroutines*perG-1)*time.Microsecond, tot.Max)
	n := int64(goroutines*perG - 1)
	assert.Equal(t, time.Duration(n*(n+1)/2)*time.Microsecond, tot.TotalTime)
	var occ int64
	for _, e := range master.Snapshot().Errors {
		occ += e.Occurrences
	}
	assert.Equal(t, tot.NumFailures, occ)
}

func TestMergeToleratesSparseInput(t *testing.T) {
	r := NewRegistry(Options{})
	other := hdrhistogram.New(1, 10_000_000, 2) // another geometry: re-recorded by value
	require.NoError(t, other.RecordValue(1500))
	r.Merge(nil)
	r.Merge(&Snapshot{
		Entries:    []*Entry{nil, {Method: "GET", Name: "/", NumRequests: 1, Min: 1500 * time.Microsecond, Max: 1500 * time.Microsecond, Hist: other}},
		Errors:     []*Error{nil, {Method: "GET", Name: "/", Message: "x", Occurrences: 2}},
		Exceptions: []*Exception{nil, {Message: "m", Traceback: "tb", Count: 1}},
	})
	s := r.Snapshot()
	require.Len(t, s.Entries, 1)
	assert.Equal(t, int64(1), s.Entries[0].Hist.TotalCount())
	assert.InDelta(t, float64(1500*time.Microsecond), float64(s.Entries[0].Percentile(0.5)), float64(20*time.Microsecond))
	assert.Equal(t, int64(2), s.Errors[0].Occurrences)
	assert.Equal(t, int64(1), s.Exceptions[0].Count)
}
