package runner

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

func TestCounterConcurrent(t *testing.T) {
	c := NewCounter(1000)
	var got atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for c.Take() {
				got.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(1000), got.Load())
	assert.Equal(t, int64(1000), c.Taken())
	assert.False(t, c.Take())
}

// TestIterationLimitOnLocal: 10 users of a local runner share a limit of
// 1000 iterations; exactly 1000 run and every user leaves by itself.
func TestIterationLimitOnLocal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var ran atomic.Int64
		gate := NewIterationLimit(NewCounter(1000), nil)
		c := &fakeClass{name: "A", weight: 1, behave: func(ctx context.Context, env *user.Env) {
			for {
				if _, ok := env.Gate.Next(ctx); !ok {
					return
				}
				ran.Add(1)
				time.Sleep(time.Millisecond)
			}
		}}
		l := newLocal(t, Options{Classes: []user.Spawner{c}, Gate: gate})
		defer l.Quit()
		require.NoError(t, l.Start(10, 10))
		<-gate.Exhausted()
		synctest.Wait()
		assert.Equal(t, int64(1000), ran.Load())
		assert.Equal(t, int64(1000), gate.Taken())
		assert.Zero(t, l.UserCount(), "users leave at their next pick")
	})
}

// TestIterationLimitOverArrival: a limit of 50 over a 100 it/s schedule
// stops after exactly 50, half a second in.
func TestIterationLimitOverArrival(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, err := NewArrivalGate(Arrival{Rate: 100, PreAllocate: 4})
		require.NoError(t, err)
		limit := NewIterationLimit(NewCounter(50), g)
		var ran atomic.Int64
		p := &limitPool{gate: limit, ran: &ran}
		start := time.Now()
		require.NoError(t, g.Start(context.Background(), p))
		<-limit.Exhausted()
		g.Stop()
		<-g.Done()
		p.wg.Wait()
		assert.Equal(t, int64(50), ran.Load())
		assert.Equal(t, 500*time.Millisecond, time.Since(start).Truncate(10*time.Millisecond))
	})
}

type limitPool struct {
	gate user.IterationGate
	ran  *atomic.Int64
	n    atomic.Int64
	wg   sync.WaitGroup
}

func (p *limitPool) Start(users int, _ float64) error {
	for int(p.n.Load()) < users {
		p.n.Add(1)
		p.wg.Go(func() {
			defer p.n.Add(-1)
			for {
				if _, ok := p.gate.Next(context.Background()); !ok {
					return
				}
				p.ran.Add(1)
			}
		})
	}
	return nil
}

func (p *limitPool) UserCount() int { return int(p.n.Load()) }

type ticker struct{ user.Base }

var tickerRuns atomic.Int64

func (*ticker) Tick(context.Context) error { tickerRuns.Add(1); return nil }

// TestKeepClassWaitsUnderALimit: 2 users that wait 100 ms between tasks
// share a limit of 10 iterations: 5 each, 100 ms apart, so the run takes
// 400 ms, not no time at all.
func TestKeepClassWaitsUnderALimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tickerRuns.Store(0)
		c := user.Class[ticker]{Name: "T", Wait: user.Constant(100 * time.Millisecond), Tasks: taskset.Weighted(taskset.Task[ticker]{Run: (*ticker).Tick})}
		classes := KeepClassWaits([]user.Spawner{c})
		require.IsType(t, waitKeeper{}, classes[0])
		f, err := classes[0].Filter(nil, nil)
		require.NoError(t, err)
		require.IsType(t, waitKeeper{}, f, "filtering keeps the wrapper")
		gate := NewIterationLimit(NewCounter(10), nil)
		l := newLocal(t, Options{Classes: classes, Gate: gate})
		defer l.Quit()
		start := time.Now()
		require.NoError(t, l.Start(2, 2))
		<-gate.Exhausted()
		assert.Equal(t, 500*time.Millisecond, time.Since(start), "the 11th pick is refused after the 5th wait")
		synctest.Wait()
		assert.Equal(t, int64(10), tickerRuns.Load())
		assert.Zero(t, l.UserCount())
	})
}

// The same run without the wrapper: the limit is a user.WaitKeeper, so the
// user loop applies the class's wait itself, once.
func TestIterationLimitKeepsTheClassWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tickerRuns.Store(0)
		c := user.Class[ticker]{Name: "T", Wait: user.Constant(100 * time.Millisecond), Tasks: taskset.Weighted(taskset.Task[ticker]{Run: (*ticker).Tick})}
		gate := NewIterationLimit(NewCounter(10), nil)
		assert.True(t, gate.KeepsClassWait())
		assert.False(t, NewIterationLimit(NewCounter(10), gate).KeepsClassWait(), "a limit over a schedule leaves the pacing to it")
		l := newLocal(t, Options{Classes: []user.Spawner{c}, Gate: gate})
		defer l.Quit()
		start := time.Now()
		require.NoError(t, l.Start(2, 2))
		<-gate.Exhausted()
		assert.Equal(t, 500*time.Millisecond, time.Since(start), "the 11th pick is refused after the 5th wait")
		synctest.Wait()
		assert.Equal(t, int64(10), tickerRuns.Load())
		assert.Zero(t, l.UserCount())
	})
}

// admitN admits n iterations in all and has no schedule: a gate of the
// user's own that does not say whether it keeps the class's wait.
type admitN struct{ left atomic.Int64 }

func (g *admitN) Next(ctx context.Context) (time.Time, bool) {
	return time.Time{}, g.left.Add(-1) >= 0 && ctx.Err() == nil
}

// Under a gate of the user's own, the deprecated wrapper still makes the
// users wait as their class says, once: 2 users, 10 iterations, 100 ms
// apart, so the last one starts at 400 ms.
func TestKeepClassWaitsUnderAGateOfTheUsersOwn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tickerRuns.Store(0)
		c := user.Class[ticker]{Name: "T", Wait: user.Constant(100 * time.Millisecond), Tasks: taskset.Weighted(taskset.Task[ticker]{Run: (*ticker).Tick})}
		gate := &admitN{}
		gate.left.Store(10)
		l := newLocal(t, Options{Classes: KeepClassWaits([]user.Spawner{c}), Gate: gate})
		defer l.Quit()
		start := time.Now()
		require.NoError(t, l.Start(2, 2))
		for synctest.Wait(); l.UserCount() > 0; synctest.Wait() {
			time.Sleep(time.Millisecond) // fake time: the loop ends at the users' end to the millisecond
		}
		assert.Equal(t, 500*time.Millisecond, time.Since(start).Truncate(time.Millisecond), "the 11th pick is refused after the 5th wait")
		assert.Equal(t, int64(10), tickerRuns.Load())
	})
}

func TestKeepClassWaitsLeavesClassesWithoutAWait(t *testing.T) {
	c := &fakeClass{name: "A", weight: 1}
	assert.Same(t, c, KeepClassWaits([]user.Spawner{c})[0].(*fakeClass))
}
