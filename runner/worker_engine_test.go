package runner

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/user"
)

// A worker runs the master's test on the same Local engine as a
// standalone run: the same classes spawn in the same order (fixed counts
// first, then smooth weighted round-robin), with the same counts, and
// each user gets the same Env.ID.
func TestWorkerRunsTheLocalEngine(t *testing.T) {
	classes := func(rec *record) []user.Spawner {
		return []user.Spawner{
			&fakeClass{name: "A", weight: 5, rec: rec},
			&fakeClass{name: "B", weight: 1, rec: rec},
			&fakeClass{name: "F", fixed: 1, rec: rec},
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	alone := newRecord()
	l, err := NewLocal(Options{Classes: classes(alone)})
	require.NoError(t, err)
	defer l.Quit()
	require.NoError(t, l.Start(13, 1000)) // one ramp step: every user at once
	require.NoError(t, l.WaitState(ctx, StateRunning))
	waitStarted(t, alone, 13)

	onWorker := newRecord()
	m := startMaster(t, MasterOptions{Classes: classes(nil)})
	w := startWorker(t, m.Addr(), WorkerOptions{Classes: classes(onWorker)})
	waitWorkers(t, m, 1)
	require.NoError(t, m.Start(13, 1000))
	require.NoError(t, m.WaitUsers(ctx, 13))
	waitStarted(t, onWorker, 13)

	assert.Equal(t, "FAAABAAAAABAA", alone.order())
	assert.Equal(t, alone.order(), onWorker.order(), "the worker spawns as the local runner does")
	assert.Equal(t, l.ClassCounts(), m.ClassCounts())
	w.mu.Lock()
	wl := w.local
	w.mu.Unlock()
	require.NotNil(t, wl, "the worker's test runs on a Local")
	assert.Equal(t, StateRunning, wl.State())
	assert.Equal(t, l.ClassCounts(), wl.ClassCounts())

	m.Stop()
	assert.Equal(t, StateReady, w.State())
	assert.Zero(t, wl.UserCount())
	assert.Equal(t, StateStopped, wl.State(), "the worker stopped its test through the Local's Stop")
}

// An iteration limit runs through the same LoadRun on a worker (its share)
// as in a standalone run: exactly N iterations, then the run finishes by
// itself once the users have left.
func TestWorkerShareIsALoadRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var aloneRan atomic.Int64
	model := NewLoadModel(Load{Iterations: 7}, LoadModelOptions{})
	l, err := NewLocal(Options{Classes: []user.Spawner{gatedClass("A", &aloneRan, time.Millisecond)}, Gate: model.Gate()})
	require.NoError(t, err)
	run := model.Drive(l, nil).(*LoadRun)
	defer run.Quit()
	require.NoError(t, run.Start(3, 1000))
	select {
	case <-run.Finished():
	case <-ctx.Done():
		t.Fatal("the standalone run did not finish")
	}
	assert.Equal(t, int64(7), aloneRan.Load())
	it, _, ok := model.Iterations()
	assert.True(t, ok)
	assert.Equal(t, int64(7), it)

	var workerRan atomic.Int64
	c := gatedClass("A", &workerRan, time.Millisecond)
	m := startMaster(t, MasterOptions{Classes: []user.Spawner{c}, Load: &ClusterLoad{Iterations: 7}})
	w := startWorker(t, m.Addr(), WorkerOptions{Classes: []user.Spawner{c}})
	waitWorkers(t, m, 1)
	require.NoError(t, m.Start(3, 1000))
	waitLoadDone(t, m, 20*time.Second)
	w.mu.Lock()
	sh := w.share
	w.mu.Unlock()
	require.NotNil(t, sh)
	sh.mu.Lock()
	bound := sh.bound
	sh.mu.Unlock()
	require.NotNil(t, bound, "the worker's share is run by a LoadRun")
	_, isLocal := bound.Driver.(*Local)
	assert.True(t, isLocal, "over the worker's Local")
	m.Stop()
	assert.Equal(t, aloneRan.Load(), workerRan.Load())
	r, _ := sh.counts()
	assert.Equal(t, int64(7), r)
}

// waitStarted waits until n users have begun to run (a user counts as
// spawned before its goroutine records its start).
func waitStarted(t *testing.T, rec *record, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return len(rec.started) >= n
	}, 10*time.Second, 5*time.Millisecond, "%d users starting", n)
}
