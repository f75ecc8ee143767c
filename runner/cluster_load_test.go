package runner

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/user"
)

func TestSplitExact(t *testing.T) {
	for _, tc := range []struct {
		n     int64
		parts int
		want  []int64
	}{
		{1000, 3, []int64{334, 333, 333}},
		{500, 2, []int64{250, 250}},
		{1, 2, []int64{1, 0}},
		{7, 1, []int64{7}},
	} {
		var sum int64
		for k := range tc.parts {
			got := splitExact(tc.n, k, tc.parts)
			assert.Equal(t, tc.want[k], got, "%d over %d, part %d", tc.n, tc.parts, k)
			sum += got
		}
		assert.Equal(t, tc.n, sum)
	}
	l := &ClusterLoad{Arrival: &Arrival{Rate: 100, MaxUsers: 5, PreAllocate: 1}, Iterations: 10}
	a := l.share(1, 3, 42)
	assert.Equal(t, int32(1), a.GetPart())
	assert.Equal(t, int32(3), a.GetParts())
	assert.Equal(t, int64(2), a.GetMaxUsers(), "5 users over 3: 2, 2, 1")
	assert.Equal(t, int64(1), a.GetPreAllocate(), "at least one each")
	assert.Equal(t, int64(3), a.GetMaxIterations())
	assert.True(t, a.GetIterationLimit())
	assert.Equal(t, uint64(42), a.GetRunId())
	require.NoError(t, locustpb.ValidateMasterMessage(&locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Spawn{Spawn: &locustpb.Spawn{Options: &locustpb.RunOptions{Arrival: a}}}}, locustpb.Limits{}))
}

// gatedClass is a user class whose users take their iterations from the
// gate, record one sample per iteration and count them.
func gatedClass(name string, ran *atomic.Int64, pause time.Duration) *fakeClass {
	return &fakeClass{name: name, weight: 1, behave: func(ctx context.Context, env *user.Env) {
		for {
			if _, ok := env.Gate.Next(ctx); !ok {
				return
			}
			ran.Add(1)
			env.Stats.Record(stats.Sample{Method: "GET", Name: "/it", Duration: time.Millisecond})
			if pause > 0 {
				select {
				case <-time.After(pause):
				case <-ctx.Done():
					return
				}
			}
		}
	}}
}

func waitLoadDone(t *testing.T, m *Master, d time.Duration) {
	t.Helper()
	select {
	case <-m.LoadDone():
	case <-time.After(d):
		t.Fatalf("the workers' shares were not done within %v", d)
	}
}

// An iteration limit of 500 over two workers runs exactly 500 iterations,
// 250 on each, and the run ends by itself.
func TestClusterIterationLimit(t *testing.T) {
	var ran atomic.Int64
	c := gatedClass("A", &ran, 2*time.Millisecond)
	m := startMaster(t, MasterOptions{Classes: []user.Spawner{c}, Load: &ClusterLoad{Iterations: 500}})
	w1 := startWorker(t, m.Addr(), WorkerOptions{Classes: []user.Spawner{c}})
	w2 := startWorker(t, m.Addr(), WorkerOptions{Classes: []user.Spawner{c}})
	waitWorkers(t, m, 2)
	require.NoError(t, m.Start(10, 1000))
	waitLoadDone(t, m, 20*time.Second)
	m.Stop()
	assert.Equal(t, int64(500), ran.Load(), "iterations run by the users")
	assert.Equal(t, int64(500), m.Registry().Snapshot().Total.NumRequests, "requests merged on the master")
	run, dropped, ok := m.Iterations()
	assert.True(t, ok)
	assert.Equal(t, int64(500), run)
	assert.Zero(t, dropped)
	for _, w := range []*testWorker{w1, w2} {
		w.mu.Lock()
		sh := w.share
		w.mu.Unlock()
		require.NotNil(t, sh)
		r, _ := sh.counts()
		assert.Equal(t, int64(250), r, "each worker runs its exact share")
	}
}

// An iteration limit larger than the users' count of workers is still
// exact when there are fewer users than workers: the worker with no user
// gets no share.
func TestClusterIterationLimitFewerUsersThanWorkers(t *testing.T) {
	var ran atomic.Int64
	c := gatedClass("A", &ran, 0)
	m := startMaster(t, MasterOptions{Classes: []user.Spawner{c}, Load: &ClusterLoad{Iterations: 77}})
	startWorker(t, m.Addr(), WorkerOptions{Classes: []user.Spawner{c}})
	startWorker(t, m.Addr(), WorkerOptions{Classes: []user.Spawner{c}})
	waitWorkers(t, m, 2)
	require.NoError(t, m.Start(1, 10))
	waitLoadDone(t, m, 20*time.Second)
	m.Stop()
	assert.Equal(t, int64(77), ran.Load())
	run, _, _ := m.Iterations()
	assert.Equal(t, int64(77), run)
}

// An arrival rate of 100 it/s for 3 s over two workers: each runs its
// stripe of the cluster schedule, so 300 ± 3 % iterations are scheduled,
// run + dropped = scheduled, and the run ends when both schedules are
// over. Dropped iterations back-fill the corrected latencies, which the
// master merges.
func TestClusterArrivalRate(t *testing.T) {
	var ran atomic.Int64
	c := gatedClass("A", &ran, 0)
	l := &ClusterLoad{Arrival: &Arrival{Stages: []RateStage{{Duration: 0, Rate: 100}, {Duration: 3 * time.Second, Rate: 100}}, MaxUsers: 4}}
	m := startMaster(t, MasterOptions{Classes: []user.Spawner{c}, Load: l})
	startWorker(t, m.Addr(), WorkerOptions{Classes: []user.Spawner{c}})
	startWorker(t, m.Addr(), WorkerOptions{Classes: []user.Spawner{c}})
	waitWorkers(t, m, 2)
	start := time.Now()
	require.NoError(t, m.Start(1, 1))
	waitLoadDone(t, m, 20*time.Second)
	took := time.Since(start)
	m.Stop()
	run, dropped, ok := m.Iterations()
	require.True(t, ok)
	t.Logf("run %d, dropped %d in %v", run, dropped, took)
	assert.InDelta(t, 300, run+dropped, 9, "scheduled iterations: 100/s × 3 s ± 3 %%")
	assert.Equal(t, ran.Load(), run, "run = iterations the users ran")
	assert.Equal(t, run, m.Registry().Snapshot().Total.NumRequests)
	assert.GreaterOrEqual(t, took, 2900*time.Millisecond, "the schedule keeps its pace")
}

// A dropped iteration's back-filled wait travels from a worker to the
// master's corrected latencies.
func TestClusterOmittedMerged(t *testing.T) {
	var ran atomic.Int64
	c := gatedClass("A", &ran, time.Hour) // the one user never comes back
	l := &ClusterLoad{Arrival: &Arrival{Stages: []RateStage{{Duration: 0, Rate: 50}, {Duration: time.Second, Rate: 50}}, MaxUsers: 1, PreAllocate: 1}}
	m := startMaster(t, MasterOptions{Classes: []user.Spawner{c}, Load: l, StopTimeout: 0})
	startWorker(t, m.Addr(), WorkerOptions{Classes: []user.Spawner{c}})
	waitWorkers(t, m, 1)
	require.NoError(t, m.Start(1, 1))
	require.Eventually(t, func() bool {
		_, d, _ := m.Iterations()
		return d > 20
	}, 10*time.Second, 20*time.Millisecond)
	m.Stop()
	run, dropped, _ := m.Iterations()
	assert.Equal(t, int64(1), run)
	snap := m.Registry().Snapshot()
	require.NotNil(t, snap.Omitted, "the worker's omitted samples reach the master")
	assert.Equal(t, dropped, snap.Omitted.TotalCount())
	require.NotNil(t, snap.Total.CorrectedHist)
	assert.Equal(t, dropped, snap.Total.CorrectedHist.TotalCount(), "the Aggregated corrected latencies hold the back-filled drops (the fake user records no intended start)")
}

// Snapshot.Omitted survives the wire and the master's coalescer.
func TestOmittedOnTheWire(t *testing.T) {
	reg := stats.NewRegistry(stats.Options{})
	for _, ms := range []int{5, 50, 500} {
		reg.RecordOmitted(time.Duration(ms) * time.Millisecond)
	}
	d := reg.TakeDelta()
	require.NotNil(t, d.Omitted)
	r, err := SnapshotToReport(d, 0, nil)
	require.NoError(t, err)
	require.NotEmpty(t, r.GetOmittedHistogram())
	require.NoError(t, locustpb.ValidateWorkerMessage(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Stats{Stats: r}}, locustpb.Limits{}))
	back, err := ReportToSnapshot(r, "w1")
	require.NoError(t, err)
	require.NotNil(t, back.Omitted)
	assert.Equal(t, int64(3), back.Omitted.TotalCount())
	assert.Equal(t, d.Omitted.ValueAtQuantile(99), back.Omitted.ValueAtQuantile(99))

	master := stats.NewRegistry(stats.Options{})
	c := newCoalescer(master)
	require.NoError(t, c.add(r, "w1"))
	require.NoError(t, c.add(r, "w2"))
	c.fold()
	snap := master.Snapshot()
	require.NotNil(t, snap.Omitted)
	assert.Equal(t, int64(6), snap.Omitted.TotalCount(), "both workers' samples")
	require.NotNil(t, snap.Total.CorrectedHist)
	assert.Equal(t, int64(6), snap.Total.CorrectedHist.TotalCount())
	c.fold() // nothing pending: nothing added twice
	assert.Equal(t, int64(6), master.Snapshot().Omitted.TotalCount())
}
