package runner

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// TestArrivalBackfillsDroppedIterations: the stall of
// TestArrivalStallTooSmallPool (every user hangs from about 1 s to 2 s) on
// the same schedule: each dropped iteration is back-filled with its wait
// until the next hand-off, at 2 s, when the users are back.
func TestArrivalBackfillsDroppedIterations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stall := func(since time.Duration) time.Duration {
			if since >= time.Second && since < 2*time.Second {
				return 2*time.Second - since
			}
			return time.Millisecond
		}
		var mu sync.Mutex
		var omitted []time.Duration
		p, _ := runFake(t, Arrival{Rate: 200, Stages: []RateStage{{5 * time.Second, 200}}, PreAllocate: 10, MaxUsers: 10,
			Omitted: func(d time.Duration) {
				mu.Lock()
				omitted = append(omitted, d)
				mu.Unlock()
			}}, stall)
		st := p.g.Stats()
		require.Equal(t, int64(1000), st.Run+st.Dropped)
		require.Len(t, omitted, int(st.Dropped), "one sample per dropped iteration")
		sort.Slice(omitted, func(i, j int) bool { return omitted[i] < omitted[j] })
		// Due every 5 ms from 1.050 s to about 1.995 s, handed over at 2 s.
		for i, d := range omitted {
			want := time.Duration(i+1) * 5 * time.Millisecond
			require.InDelta(t, float64(want), float64(d), float64(5*time.Millisecond), "sample %d of %d", i, len(omitted))
		}
		assert.InDelta(t, float64(950*time.Millisecond), float64(omitted[len(omitted)-1]), float64(10*time.Millisecond))
	})
}

// TestArrivalBackfillsAtTheEnd: iterations dropped when no hand-off follows
// are back-filled with their wait until the schedule ends.
func TestArrivalBackfillsAtTheEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var omitted []time.Duration
		p, _ := runFake(t, Arrival{Rate: 100, Stages: []RateStage{{time.Second, 100}}, PreAllocate: 1, MaxUsers: 1,
			Omitted: func(d time.Duration) { omitted = append(omitted, d) }},
			func(since time.Duration) time.Duration { return 2 * time.Second })
		st := p.g.Stats()
		assert.Equal(t, ArrivalStats{Run: 1, Dropped: 99}, st)
		require.Len(t, omitted, 99)
		// Due at 10 ms .. 990 ms; the schedule ends after the last one's
		// grace, at 995 ms.
		sort.Slice(omitted, func(i, j int) bool { return omitted[i] < omitted[j] })
		for i, d := range omitted {
			assert.Equal(t, DefaultArrivalGrace+time.Duration(i)*10*time.Millisecond, d, "sample %d", i)
		}
	})
}

// TestArrivalBackfillPendingIsBounded: past maxPendingOmitted pending
// dropped iterations, the older half is back-filled at once; nothing is
// lost.
func TestArrivalBackfillPendingIsBounded(t *testing.T) {
	var n atomic.Int64
	g, err := NewArrivalGate(Arrival{Rate: 1, Omitted: func(time.Duration) { n.Add(1) }})
	require.NoError(t, err)
	g.t0 = time.Now()
	for range maxPendingOmitted {
		g.omit(g.t0)
	}
	assert.Zero(t, n.Load())
	g.omit(g.t0)
	assert.Equal(t, int64(maxPendingOmitted/2), n.Load())
	assert.Equal(t, int64(maxPendingOmitted/2+1), g.npending.Load())
	g.backfill(true)
	assert.Equal(t, int64(maxPendingOmitted+1), n.Load())
	assert.Zero(t, g.npending.Load())
	g.omit(g.t0)
	assert.Equal(t, int64(maxPendingOmitted+2), n.Load(), "after the end, at once")
}

type stallUser struct{ user.HTTP }

func (u *stallUser) Get(ctx context.Context) error {
	return u.HTTP.Get(ctx, "/", user.Name("/")).Err()
}

// TestArrivalStallShowsInCorrectedLatency: 200 it/s for 5 s on a pool of 5
// real users against a 127.0.0.1 target that holds every request for 1 s
// once it has served 200: the 5 users hang with it, the iterations due
// meanwhile are dropped, and only 5 requests (well under 1 %) see the
// stall. The service-time p99 does not show it; the corrected p99, with
// the dropped iterations back-filled, does.
func TestArrivalStallShowsInCorrectedLatency(t *testing.T) {
	const pool = 5
	var served atomic.Int64
	var stalling atomic.Bool
	var stallOnce sync.Once
	release := make(chan struct{})
	stallEnd := make(chan time.Time, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1) == 200 {
			stallOnce.Do(func() {
				stalling.Store(true)
				time.AfterFunc(time.Second, func() {
					stalling.Store(false)
					stallEnd <- time.Now()
					close(release)
				})
			})
		}
		if stalling.Load() {
			<-release
		}
	}))
	defer srv.Close()

	reg := stats.NewRegistry(stats.Options{})
	g, err := NewArrivalGate(Arrival{Rate: 200, Stages: []RateStage{{5 * time.Second, 200}}, PreAllocate: pool, MaxUsers: pool,
		Omitted: reg.RecordOmitted})
	require.NoError(t, err)
	class := user.Class[stallUser]{Name: "S", Tasks: taskset.Weighted(taskset.Task[stallUser]{Run: (*stallUser).Get})}
	l := newLocal(t, Options{Classes: []user.Spawner{class}, Registry: reg, Host: srv.URL, Gate: g, StopTimeout: 5 * time.Second})
	defer l.Quit()
	require.NoError(t, g.Start(context.Background(), l))
	select {
	case <-g.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the schedule did not end")
	}
	// The users finish the iterations handed to them before they are told
	// to stop (a user told to stop skips the iteration it holds).
	waitFor(t, "the last iterations' requests", func() bool { return reg.Snapshot().Total.NumRequests >= g.Stats().Run })
	l.Stop()
	select {
	case <-stallEnd:
	default:
		t.Fatal("the target never stalled")
	}

	st := g.Stats()
	s := reg.Snapshot()
	tot := s.Total
	t.Logf("run %d, dropped %d (late %d); requests %d; service p99 %v max %v; corrected p99 %v, samples %d (omitted %d)",
		st.Run, st.Dropped, st.Late, tot.NumRequests, tot.Percentile(0.99), tot.Max,
		tot.CorrectedPercentile(0.99), tot.CorrectedHist.TotalCount(), s.Omitted.TotalCount())
	assert.Equal(t, int64(1000), st.Run+st.Dropped, "every scheduled iteration is run or dropped")
	assert.Equal(t, st.Run, tot.NumRequests, "a request per iteration run")
	assert.Equal(t, st.Dropped, s.Omitted.TotalCount(), "a back-filled sample per dropped iteration")
	assert.Equal(t, st.Run+st.Dropped, tot.CorrectedHist.TotalCount())
	assert.GreaterOrEqual(t, st.Dropped, int64(150), "about a second of the schedule is dropped")
	assert.GreaterOrEqual(t, tot.Max, 900*time.Millisecond, "the stalled requests")
	// At most one request per pool user (5) meets the stall. On an idle
	// machine that is under 1 % of the requests, so the service-time p99
	// hides it; a busy machine runs fewer iterations (more are dropped), so
	// the percentile that leaves those five out is the one that must hide
	// it: below half the stall, which no request outside it comes near.
	below := 1 - float64(pool+1)/float64(tot.NumRequests)
	assert.Less(t, tot.Percentile(below), 500*time.Millisecond, "service time hides the stall (p%.2f)", 100*below)
	assert.GreaterOrEqual(t, tot.CorrectedPercentile(0.99), 500*time.Millisecond, "corrected p99 shows it")
}
