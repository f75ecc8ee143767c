package runner

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScheduleConstantRate(t *testing.T) {
	s := NewSchedule(Arrival{Rate: 200})
	for _, k := range []int64{0, 1, 199, 200, 12345} {
		at, ok := s.At(k)
		require.True(t, ok)
		assert.Equal(t, time.Duration(k)*5*time.Millisecond, at, "iteration %d", k)
	}
	assert.True(t, math.IsInf(s.Total(), 1))
}

func TestScheduleRamps(t *testing.T) {
	// 0 → 100 it/s over 10 s: 500 iterations, iteration k at sqrt(k/5) s;
	// then 100 → 0 over 10 s: 500 more, the mirror image.
	s := NewSchedule(Arrival{Stages: []RateStage{{10 * time.Second, 100}, {10 * time.Second, 0}}})
	assert.InDelta(t, 1000, s.Total(), 1e-9)
	prev := time.Duration(-1)
	for k := int64(0); k < 1000; k++ {
		at, ok := s.At(k)
		require.True(t, ok, "iteration %d", k)
		require.Greater(t, at, prev, "iteration %d starts after %d", k, k-1)
		prev = at
		var want float64
		if k <= 500 {
			want = math.Sqrt(float64(k) / 5)
		} else {
			want = 20 - math.Sqrt(float64(1000-k)/5)
		}
		require.InDelta(t, want, at.Seconds(), 1e-6, "iteration %d", k)
	}
	_, ok := s.At(1000)
	assert.False(t, ok, "the schedule ends after the last stage")
}

func TestScheduleJumpsAndHolds(t *testing.T) {
	// A zero-length stage jumps to 50 it/s, held for 2 s: 100 iterations.
	s := NewSchedule(Arrival{Stages: []RateStage{{0, 50}, {2 * time.Second, 50}}})
	assert.InDelta(t, 100, s.Total(), 1e-9)
	at, ok := s.At(99)
	require.True(t, ok)
	assert.Equal(t, 1980*time.Millisecond, at)
}

func TestArrivalValidate(t *testing.T) {
	for _, a := range []Arrival{{}, {Rate: -1}, {Rate: math.NaN()}, {Rate: 1, PreAllocate: 5, MaxUsers: 2}, {Rate: 1, Part: 2, Parts: 2}, {Stages: []RateStage{{-time.Second, 1}}}} {
		assert.Error(t, a.Validate(), "%+v", a)
	}
	assert.NoError(t, Arrival{Rate: 1}.Validate())
	assert.NoError(t, Arrival{Stages: []RateStage{{time.Second, 1}}}.Validate())
}

// fakePool is a Scaler whose users loop on the gate and spend work(start)
// on each iteration, recording when each iteration was due and started.
type fakePool struct {
	g    *ArrivalGate
	work func(start time.Time) time.Duration

	mu       sync.Mutex
	n, peak  int
	intended []time.Time
	started  []time.Time
	wg       sync.WaitGroup
}

func (p *fakePool) Start(users int, _ float64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.n < users {
		p.n++
		p.peak = max(p.peak, p.n)
		p.wg.Add(1)
		go p.user()
	}
	return nil
}

func (p *fakePool) UserCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func (p *fakePool) user() {
	defer p.wg.Done()
	for {
		it, ok := p.g.Next(context.Background())
		if !ok {
			return
		}
		now := time.Now()
		p.mu.Lock()
		p.intended = append(p.intended, it)
		p.started = append(p.started, now)
		p.mu.Unlock()
		time.Sleep(p.work(now))
	}
}

// maxInWindow is the most iterations started in any window of length w.
func maxInWindow(starts []time.Time, w time.Duration) int {
	s := append([]time.Time(nil), starts...)
	sort.Slice(s, func(i, j int) bool { return s[i].Before(s[j]) })
	best, j := 0, 0
	for i := range s {
		for s[i].Sub(s[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func runFake(t *testing.T, a Arrival, work func(since time.Duration) time.Duration) (*fakePool, time.Time) {
	t.Helper()
	g, err := NewArrivalGate(a)
	require.NoError(t, err)
	start := time.Now()
	p := &fakePool{g: g, work: func(at time.Time) time.Duration { return work(at.Sub(start)) }}
	require.NoError(t, g.Start(context.Background(), p))
	<-g.Done()
	p.wg.Wait()
	return p, start
}

func TestArrivalRunsTheScheduleExactly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, start := runFake(t, Arrival{Rate: 200, Stages: []RateStage{{5 * time.Second, 200}}, PreAllocate: 5},
			func(time.Duration) time.Duration { return time.Millisecond })
		st := p.g.Stats()
		assert.Equal(t, ArrivalStats{Run: 1000}, st)
		require.Len(t, p.intended, 1000)
		for k, it := range p.intended {
			assert.Equal(t, time.Duration(k)*5*time.Millisecond, it.Sub(start), "iteration %d is due on the grid", k)
			assert.Equal(t, it, p.started[k], "iteration %d starts when due", k)
		}
		assert.Equal(t, 5, p.peak, "no growth needed")
	})
}

// TestArrivalStallTooSmallPool: 200 it/s for 5 s on 10 users (no growth);
// requests sent between 1 s and 2 s hang until 2 s. The 10 iterations
// started from 1 s hold every user; the iterations due from 1.050 s to
// 1.995 s find none and are dropped (190), then the schedule goes on as
// before, without a catch-up burst.
func TestArrivalStallTooSmallPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stall := func(since time.Duration) time.Duration {
			if since >= time.Second && since < 2*time.Second {
				return 2*time.Second - since
			}
			return time.Millisecond
		}
		var warnings []string
		p, start := runFake(t, Arrival{Rate: 200, Stages: []RateStage{{5 * time.Second, 200}}, PreAllocate: 10, MaxUsers: 10,
			Warn: func(msg string) { warnings = append(warnings, msg) }}, stall)
		require.Len(t, warnings, 1, "one warning")
		assert.Contains(t, warnings[0], "all 10 users are busy")
		st := p.g.Stats()
		assert.InDelta(t, 190, st.Dropped, 1, "dropped: %+v", st)
		assert.Equal(t, int64(1000), st.Run+st.Dropped, "every scheduled iteration is run or dropped")
		assert.Zero(t, st.Late)
		assert.Equal(t, 10, p.peak)
		for k, it := range p.intended {
			off := it.Sub(start)
			require.Zero(t, off%(5*time.Millisecond), "iteration %d is due on the grid", k)
			lag := p.started[k].Sub(it)
			require.True(t, lag >= 0 && lag <= DefaultArrivalGrace, "iteration %d starts %v after its time", k, lag)
			require.False(t, off > 1050*time.Millisecond && off < 1995*time.Millisecond, "no iteration due during the stall runs (%v)", off)
		}
		assert.LessOrEqual(t, maxInWindow(p.started, 100*time.Millisecond), 21, "no 100 ms window above the rate (20) + 1")
	})
}

// TestArrivalGrowsThePool: the same stall with 1 pre-allocated user and
// room for 300: the pool grows as users hang, so almost nothing is
// dropped and the iterations keep their schedule through the stall.
func TestArrivalGrowsThePool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stall := func(since time.Duration) time.Duration {
			if since >= time.Second && since < 2*time.Second {
				return 2*time.Second - since
			}
			return time.Millisecond
		}
		p, _ := runFake(t, Arrival{Rate: 200, Stages: []RateStage{{5 * time.Second, 200}}, PreAllocate: 1, MaxUsers: 300}, stall)
		st := p.g.Stats()
		assert.Equal(t, int64(1000), st.Run+st.Dropped)
		assert.LessOrEqual(t, st.Dropped, int64(2), "%+v", st)
		assert.GreaterOrEqual(t, p.peak, 200, "a user per iteration of the stall")
		assert.LessOrEqual(t, p.peak, 300)
		assert.LessOrEqual(t, maxInWindow(p.started, 100*time.Millisecond), 21)
	})
}

func TestArrivalStopEndsWaitingUsers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, err := NewArrivalGate(Arrival{Rate: 10, PreAllocate: 3})
		require.NoError(t, err)
		p := &fakePool{g: g, work: func(time.Time) time.Duration { return 0 }}
		require.NoError(t, g.Start(context.Background(), p))
		time.Sleep(time.Second + time.Millisecond)
		g.Stop()
		<-g.Done()
		p.wg.Wait()
		assert.Equal(t, int64(11), g.Stats().Run, "0 s to 1 s inclusive")
		assert.Error(t, g.Start(context.Background(), p), "a gate starts once")
	})
}

func TestArrivalPartsSplitTheSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var all []time.Duration
		for part := range 3 {
			p, start := runFake(t, Arrival{Rate: 100, Stages: []RateStage{{time.Second, 100}}, Part: part, Parts: 3},
				func(time.Duration) time.Duration { return 0 })
			for _, it := range p.intended {
				all = append(all, it.Sub(start))
			}
		}
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		require.Len(t, all, 100)
		for k, at := range all {
			assert.Equal(t, time.Duration(k)*10*time.Millisecond, at)
		}
	})
}

// Iteration k of a ramp from 0 to 100 it/s over 10 s starts when the
// integral of the rate reaches k: no drift, no catch-up.
func ExampleSchedule() {
	s := NewSchedule(Arrival{Stages: []RateStage{{Duration: 10 * time.Second, Rate: 100}}})
	for _, k := range []int64{0, 5, 20, 125, 499} {
		at, _ := s.At(k)
		fmt.Printf("iteration %d at %v\n", k, at.Round(time.Millisecond))
	}
	fmt.Println("iterations:", s.Total())
	// Output:
	// iteration 0 at 0s
	// iteration 5 at 1s
	// iteration 20 at 2s
	// iteration 125 at 5s
	// iteration 499 at 9.99s
	// iterations: 500
}
