package runner

import (
	"context"
	"errors"
	"net"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/user"
)

// Fast cluster timing for in-process tests.
const (
	tHeartbeat = 100 * time.Millisecond
	tReport    = 200 * time.Millisecond
)

func localListener(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return l
}

func startMaster(t *testing.T, o MasterOptions) *Master {
	t.Helper()
	if o.Server.Listener == nil && o.Server.BindPort == 0 {
		o.Server.Listener = localListener(t)
	}
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = tHeartbeat
	}
	m, err := NewMaster(o)
	require.NoError(t, err)
	t.Cleanup(m.Quit)
	return m
}

type testWorker struct {
	*Worker
	cancel context.CancelFunc
	done   chan error
}

func startWorker(t *testing.T, addr string, o WorkerOptions) *testWorker {
	t.Helper()
	o.Client.Address = addr
	if o.Client.BackoffBase == 0 {
		o.Client.BackoffBase = 20 * time.Millisecond
		o.Client.BackoffMax = 200 * time.Millisecond
	}
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = tHeartbeat
	}
	if o.ReportInterval == 0 {
		o.ReportInterval = tReport
	}
	w, err := NewWorker(o)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	tw := &testWorker{Worker: w, cancel: cancel, done: make(chan error, 1)}
	go func() { tw.done <- w.Run(ctx) }()
	t.Cleanup(func() { tw.stop(t) })
	return tw
}

// stop cancels the worker (SIGTERM) and waits for Run to return.
func (tw *testWorker) stop(t *testing.T) error {
	t.Helper()
	tw.cancel()
	select {
	case err, ok := <-tw.done:
		if ok {
			close(tw.done)
		}
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("worker did not stop")
		return nil
	}
}

func waitWorkers(t *testing.T, m *Master, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, m.WaitForWorkers(ctx, n, 0))
}

// counting is a user class whose users record a sample every few
// milliseconds and count them.
type counting struct {
	fakeClass
	n    atomic.Int64
	seqs sync.Map // Seq -> count
}

func newCounting(name string, weight, fixed int) *counting {
	c := &counting{fakeClass: fakeClass{name: name, weight: weight, fixed: fixed}}
	c.behave = func(ctx context.Context, env *user.Env) {
		v, _ := c.seqs.LoadOrStore(env.Seq, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
		defer v.(*atomic.Int64).Add(-1)
		for {
			env.Stats.Record(stats.Sample{Method: "GET", Name: "/" + name, Duration: 3 * time.Millisecond})
			c.n.Add(1)
			select {
			case <-env.Stopping:
				return
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return c
}

func (c *counting) liveSeqs() []int64 {
	var out []int64
	c.seqs.Range(func(k, v any) bool {
		for range v.(*atomic.Int64).Load() {
			out = append(out, k.(int64))
		}
		return true
	})
	slices.Sort(out)
	return out
}

func clusterTotals(ws []*testWorker) []int {
	out := make([]int, len(ws))
	for i, w := range ws {
		out[i] = w.UserCount()
	}
	return out
}

func TestMasterSplitsUsersExactly(t *testing.T) {
	cases := []struct {
		name    string
		classes [][2]int // weight, fixed
		users   int
		workers int
		want    []int // per class over the cluster
		totals  []int // per worker, sorted descending
	}{
		{"fixed 1 and weights 1:1 at 9 users", [][2]int{{1, 1}, {1, 0}, {1, 0}}, 9, 2, []int{1, 4, 4}, []int{5, 4}},
		{"7 users over 5 workers", [][2]int{{1, 0}}, 7, 5, []int{7}, []int{2, 2, 1, 1, 1}},
		{"2 users over 5 workers", [][2]int{{1, 0}}, 2, 5, []int{2}, []int{1, 1, 0, 0, 0}},
		{"weights 4:3 at 7 users", [][2]int{{4, 0}, {3, 0}}, 7, 3, []int{4, 3}, []int{3, 2, 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var classes []user.Spawner
			names := []string{"A", "B", "C"}
			for i, c := range tc.classes {
				classes = append(classes, class(names[i], c[0], c[1], nil))
			}
			m := startMaster(t, MasterOptions{Classes: classes})
			var ws []*testWorker
			for range tc.workers {
				ws = append(ws, startWorker(t, m.Addr(), WorkerOptions{Classes: classes}))
			}
			waitWorkers(t, m, tc.workers)
			require.NoError(t, m.Start(tc.users, 1000))
			want := map[string]int{}
			for i := range tc.want {
				want[names[i]] = tc.want[i]
			}
			waitFor(t, "the split", func() bool {
				tot := clusterTotals(ws)
				sort.Sort(sort.Reverse(sort.IntSlice(tot)))
				return m.State() == StateRunning && slices.Equal(tot, tc.totals) && maps2eq(m.ClassCounts(), want) &&
					m.UserCount() == tc.users
			})
			m.Stop()
			assert.Equal(t, StateStopped, m.State())
			waitFor(t, "workers idle", func() bool { return slices.Equal(clusterTotals(ws), make([]int, tc.workers)) })
		})
	}
}

func maps2eq(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestStartWithoutWorkers(t *testing.T) {
	m := startMaster(t, MasterOptions{Classes: []user.Spawner{class("A", 1, 0, nil)}})
	err := m.Start(10, 1)
	assert.ErrorIs(t, err, ErrNoWorkers)
	assert.Equal(t, StateReady, m.State())
}

func TestWaitForWorkersGivesUp(t *testing.T) {
	m := startMaster(t, MasterOptions{Classes: []user.Spawner{class("A", 1, 0, nil)}})
	err := m.WaitForWorkers(context.Background(), 2, 300*time.Millisecond)
	assert.ErrorIs(t, err, ErrGaveUpWaiting)
}

// Stop reaches every worker and their final stats are merged before Stop
// returns: the master's total equals what the users recorded.
func TestStopMergesEveryWorkersFinalStats(t *testing.T) {
	c := newCounting("A", 1, 0)
	classes := []user.Spawner{c}
	reg := stats.NewRegistry(stats.Options{})
	m := startMaster(t, MasterOptions{Classes: classes, Registry: reg, StopTimeout: time.Second})
	ws := []*testWorker{
		startWorker(t, m.Addr(), WorkerOptions{Classes: classes, ReportInterval: time.Hour}), // only the final report
		startWorker(t, m.Addr(), WorkerOptions{Classes: classes}),
	}
	waitWorkers(t, m, 2)
	require.NoError(t, m.Start(6, 100))
	waitFor(t, "samples", func() bool { return c.n.Load() > 300 })
	m.Stop()
	assert.Equal(t, c.n.Load(), reg.Snapshot().Total.NumRequests, "merged total equals the samples recorded")
	assert.Equal(t, []int{0, 0}, clusterTotals(ws))
	// A second test on the same workers starts from fresh stats.
	require.NoError(t, m.Start(2, 100))
	waitFor(t, "second test", func() bool { return m.UserCount() == 2 })
	m.Stop()
	assert.Less(t, reg.Snapshot().Total.NumRequests, c.n.Load())
}

// Issue 8: 2 workers × 50 users get the sequence numbers 0..99, each once.
func TestSeqUniqueAcrossWorkers(t *testing.T) {
	a := newCounting("A", 1, 0)
	b := newCounting("B", 1, 0)
	classes := []user.Spawner{a, b}
	m := startMaster(t, MasterOptions{Classes: classes})
	startWorker(t, m.Addr(), WorkerOptions{Classes: classes})
	startWorker(t, m.Addr(), WorkerOptions{Classes: classes})
	waitWorkers(t, m, 2)
	require.NoError(t, m.Start(200, 1000))
	waitFor(t, "200 users", func() bool { return len(a.liveSeqs()) == 100 && len(b.liveSeqs()) == 100 })
	want := make([]int64, 100)
	for i := range want {
		want[i] = int64(i)
	}
	assert.Equal(t, want, a.liveSeqs())
	assert.Equal(t, want, b.liveSeqs())
	m.Stop()
}

func TestRebalanceOnJoinAndLeave(t *testing.T) {
	lg := zap.NewNop()
	classes := []user.Spawner{class("A", 1, 0, nil)}
	// With heartbeats a minute apart, no heartbeat or missed one can move
	// users within waitFor's deadline: the join and the goodbye must. (A
	// wall-clock bound on how soon failed on loaded machines.)
	m := startMaster(t, MasterOptions{Logger: lg, Classes: classes, HeartbeatInterval: time.Minute})
	w1 := startWorker(t, m.Addr(), WorkerOptions{Logger: lg, Classes: classes})
	waitWorkers(t, m, 1)
	require.NoError(t, m.Start(100, 10_000))
	waitFor(t, "100 users on one worker", func() bool { return w1.UserCount() == 100 })

	w2 := startWorker(t, m.Addr(), WorkerOptions{Logger: lg, Classes: classes})
	waitFor(t, "50/50 after the join", func() bool { return w1.UserCount() == 50 && w2.UserCount() == 50 })

	// SIGTERM on w2: goodbye, and its users move at once.
	require.NoError(t, w2.stop(t))
	waitFor(t, "100 on w1 after the goodbye", func() bool { return w1.UserCount() == 100 })
	assert.Len(t, m.Workers(), 1, "a worker that said goodbye is removed")
	m.Stop()
}

// The master ramps at the cluster-wide rate (2 users/s: 2 users at once,
// 2 more a second later) and changes the user count mid-run.
func TestMasterRampPaceAndMidRunChange(t *testing.T) {
	classes := []user.Spawner{class("A", 3, 0, nil), class("B", 1, 0, nil)}
	m := startMaster(t, MasterOptions{Classes: classes})
	w1 := startWorker(t, m.Addr(), WorkerOptions{Classes: classes})
	w2 := startWorker(t, m.Addr(), WorkerOptions{Classes: classes})
	waitWorkers(t, m, 2)
	start := time.Now()
	require.NoError(t, m.Start(4, 2))
	assert.Equal(t, StateSpawning, m.State())
	waitFor(t, "4 users", func() bool { return m.UserCount() == 4 && m.State() == StateRunning })
	assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "the second step waits users/rate")

	require.NoError(t, m.Start(12, 1000))
	waitFor(t, "12 users", func() bool {
		return w1.UserCount() == 6 && w2.UserCount() == 6 && maps2eq(m.ClassCounts(), map[string]int{"A": 9, "B": 3})
	})
	require.NoError(t, m.Start(2, 1000))
	waitFor(t, "2 users", func() bool { return w1.UserCount() == 1 && w2.UserCount() == 1 && m.UserCount() == 2 })
	assert.Equal(t, map[string]int{"A": 2, "B": 0}, m.ClassCounts())
	m.Stop()
}

// A user returning user.ErrStopTest on a worker reaches the master's
// StopTest channel.
func TestStopTestFromAWorkerUser(t *testing.T) {
	c := &fakeClass{name: "A", weight: 1, behave: func(ctx context.Context, env *user.Env) {
		if env.Seq == 0 {
			env.StopTest(errors.New("enough"))
		}
		<-env.Stopping
	}}
	classes := []user.Spawner{c}
	m := startMaster(t, MasterOptions{Classes: classes})
	startWorker(t, m.Addr(), WorkerOptions{Classes: classes})
	waitWorkers(t, m, 1)
	require.NoError(t, m.Start(2, 100))
	select {
	case err := <-m.StopTest():
		assert.ErrorIs(t, err, user.ErrStopTest)
		assert.ErrorContains(t, err, "enough")
	case <-time.After(10 * time.Second):
		t.Fatal("no stop-test signal from the worker")
	}
	m.Stop()
}

func TestSpreadHosts(t *testing.T) {
	mk := func(spec string) []*workerNode {
		var ws []*workerNode
		for i, h := range spec {
			ws = append(ws, &workerNode{id: string(rune('a' + i)), index: i, host: string(h)})
		}
		return ws
	}
	ids := func(ws []*workerNode) string {
		s := ""
		for _, w := range ws {
			s += w.id
		}
		return s
	}
	assert.Equal(t, "abc", ids(spreadHosts(mk("xxx"))), "one host: index order")
	assert.Equal(t, "adbc", ids(spreadHosts(mk("xxxy"))), "hosts first")
	assert.Equal(t, "acebdf", ids(spreadHosts(mk("xxyyzz"))))
	// 3 users over two hosts with two workers each land on both hosts.
	rows := Distribute([]int{2}, 4)
	ws := spreadHosts(mk("xxyy"))
	assert.Equal(t, 1, rows[0][0])
	assert.Equal(t, 1, rows[1][0])
	assert.NotEqual(t, ws[0].host, ws[1].host)
}

// After workers join or leave mid-test, every live user still has a
// distinct Env.Seq.
func TestSeqStaysUniqueAcrossRebalancing(t *testing.T) {
	a := newCounting("A", 1, 0)
	classes := []user.Spawner{a}
	m := startMaster(t, MasterOptions{Classes: classes})
	startWorker(t, m.Addr(), WorkerOptions{Classes: classes})
	w2 := startWorker(t, m.Addr(), WorkerOptions{Classes: classes})
	waitWorkers(t, m, 2)
	require.NoError(t, m.Start(40, 1000))
	distinct := func(n int) func() bool {
		return func() bool {
			s := a.liveSeqs()
			return len(s) == n && len(slices.Compact(slices.Clone(s))) == n
		}
	}
	waitFor(t, "40 users numbered 0..39", func() bool {
		s := a.liveSeqs()
		return len(s) == 40 && s[0] == 0 && s[39] == 39
	})
	w3 := startWorker(t, m.Addr(), WorkerOptions{Classes: classes})
	waitFor(t, "rebalanced over 3 workers", func() bool { return w3.UserCount() == 13 || w3.UserCount() == 14 })
	waitFor(t, "40 distinct numbers", distinct(40))
	require.NoError(t, m.Start(60, 1000))
	waitFor(t, "60 distinct numbers", distinct(60))
	require.NoError(t, w2.stop(t))
	waitFor(t, "60 distinct numbers on 2 workers", func() bool { return distinct(60)() && m.WorkerCount() == 2 })
	m.Stop()
}

// The master shows each worker's generator lag from its last report.
func TestMasterShowsEachWorkersGeneratorLag(t *testing.T) {
	classes := []user.Spawner{class("A", 1, 0, nil)}
	m := startMaster(t, MasterOptions{Classes: classes})
	w := rawWorker(t, m.Addr(), "lagging_1")
	waitWorkers(t, m, 1)
	reg := stats.NewRegistry(stats.Options{})
	for i := range 100 {
		reg.RecordLag(time.Duration(i+1) * 100 * time.Microsecond) // 0.1 .. 10 ms
	}
	r, err := SnapshotToReport(reg.TakeDelta(), 0, nil)
	require.NoError(t, err)
	require.NoError(t, w.Send(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Stats{Stats: r}}))
	waitFor(t, "the worker's lag", func() bool {
		ws := m.Workers()
		return len(ws) == 1 && ws[0].LagP99 > 0
	})
	info := m.Workers()[0]
	assert.InDelta(t, 5*time.Millisecond, info.LagP50, float64(50*time.Microsecond))
	assert.InDelta(t, 9900*time.Microsecond, info.LagP99, float64(50*time.Microsecond))
	assert.InDelta(t, 5*time.Millisecond, func() time.Duration { p50, _, _ := generatorLagOf(m); return p50 }(), float64(50*time.Microsecond))
}

// generatorLagOf reads the merged lag p50 off the master's registry.
func generatorLagOf(m *Master) (p50, p99 time.Duration, ok bool) {
	m.coal.fold()
	s := m.Registry().Snapshot()
	if s.Lag == nil {
		return 0, 0, false
	}
	return time.Duration(s.Lag.ValueAtQuantile(50)) * time.Microsecond, time.Duration(s.Lag.ValueAtQuantile(99)) * time.Microsecond, true
}
