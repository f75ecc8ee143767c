// Arrival-rate and iteration-limit runs against a local target that can
// stall, with bounds derived from the schedule.

package locust

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// hitter requests / once per iteration.
type hitter struct{ user.HTTP }

func (h *hitter) Hit(ctx context.Context) error { return h.Get(ctx, "/").Err() }

func hitterClass() user.Class[hitter] {
	return user.Class[hitter]{Name: "Hitter", Tasks: taskset.Weighted(taskset.Task[hitter]{Run: (*hitter).Hit})}
}

// stallTarget answers at once, except that requests arriving between
// stallFrom and stallFrom+stall after the first request are held until
// the stall ends. It records when each request arrived.
type stallTarget struct {
	*httptest.Server
	stallFrom, stall time.Duration

	mu      sync.Mutex
	first   time.Time
	arrived []time.Time
}

func newStallTarget(t *testing.T, from, stall time.Duration) *stallTarget {
	st := &stallTarget{stallFrom: from, stall: stall}
	st.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		st.mu.Lock()
		if st.first.IsZero() {
			st.first = now
		}
		st.arrived = append(st.arrived, now)
		since := now.Sub(st.first)
		st.mu.Unlock()
		if st.stall > 0 && since >= st.stallFrom && since < st.stallFrom+st.stall {
			select {
			case <-time.After(st.stallFrom + st.stall - since):
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(st.Close)
	return st
}

func (st *stallTarget) arrivals() []time.Time {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := append([]time.Time(nil), st.arrived...)
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

func maxPerWindow(ts []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

// TestArrivalRateAgainstALocalTarget: 200 it/s for 5 s schedules 1000
// iterations, each run (one request, counted once) or dropped. How many
// are dropped depends on the machine: a process short of CPU drops an
// iteration it gets late rather than bunch it, so timing is asserted
// exactly in ./runner under synctest, and here only with tolerances
// derived from the schedule.
func TestArrivalRateAgainstALocalTarget(t *testing.T) {
	tg := newStallTarget(t, 0, 0)
	var stderr, stdout loadOut
	res := RunHeadless(t, Config{
		Host: tg.URL, RunTime: 30 * time.Second, JSON: true, Stdout: &stdout, Stderr: &stderr,
		Load: LoadConfig{ArrivalRate: 200, ArrivalStages: []runner.RateStage{{Duration: 5 * time.Second, Rate: 200}}, PreAllocate: 5, MaxUsers: 50},
	}, hitterClass())
	require.NotNil(t, res)
	n := res.Stats.Total.NumRequests
	assert.GreaterOrEqual(t, n, int64(500), "most of the schedule runs")
	assert.Equal(t, int64(len(tg.arrivals())), n, "the target saw every request")
	assert.Zero(t, res.Stats.Total.NumFailures)
	assert.Contains(t, stderr.String(), sprintf("iterations: %d run, %d dropped", n, 1000-n))
	assert.Contains(t, stderr.String(), "corrected latency ms: p50")
	assert.LessOrEqual(t, maxPerWindow(tg.arrivals(), 500*time.Millisecond), burstBound(200, 500*time.Millisecond), "no burst above the rate")

	var doc struct {
		Stats   []map[string]any   `json:"stats"`
		Metrics map[string]float64 `json:"metrics"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout.String()), &doc), stdout.String())
	assert.Equal(t, float64(n), doc.Metrics["iterations"])
	assert.Equal(t, float64(1000-n), doc.Metrics["dropped_iterations"])
	require.Len(t, doc.Stats, 1)
}

// maxJitter is how far a busy machine may move a request's arrival at the
// target from its hand-off to a user (scheduling of the user's goroutine,
// the connection and the handler's goroutine).
const maxJitter = 100 * time.Millisecond

// burstBound is the most requests of a rate-paced schedule that can arrive
// at the target in a window w: the gate starts at most rate×(w+1.2×grace)+1
// in any window (tested exactly in ./runner), and the jitter can move the
// requests of maxJitter more into it. A catch-up burst after a stall (the
// iterations of the whole stall at once) is far above it.
func burstBound(rate float64, w time.Duration) int {
	return int(rate*(w+maxJitter+runner.DefaultArrivalGrace*6/5).Seconds()) + 1
}

// TestArrivalRateThroughAStall: the target holds every request that
// arrives during one second. With a pool of 10 users and no room to grow,
// at most 10 requests arrive during the stall, the iterations due while
// all 10 hang are dropped (about 190 of the 200 due in that second), and
// there is no catch-up burst afterwards. The exact counts are asserted in
// ./runner under synctest; here the bounds follow from the schedule, the
// pool and the stall, so that a busy machine cannot break them.
func TestArrivalRateThroughAStall(t *testing.T) {
	tg := newStallTarget(t, time.Second, time.Second)
	var stderr loadOut
	res := RunHeadless(t, Config{
		Host: tg.URL, RunTime: 30 * time.Second, Stderr: &stderr,
		// Bounded by the schedule (1000), so that a busy machine's late
		// drops cannot breach it: the test is that thresholds see them.
		Thresholds: []string{"dropped_iterations<1000"},
		Load:       LoadConfig{ArrivalRate: 200, ArrivalStages: []runner.RateStage{{Duration: 5 * time.Second, Rate: 200}}, PreAllocate: 10, MaxUsers: 10},
	}, hitterClass())
	require.NotNil(t, res)
	run := res.Stats.Total.NumRequests
	out := stderr.String()
	i := strings.Index(out, "iterations: ")
	require.GreaterOrEqual(t, i, 0, out)
	var gotRun, dropped int64
	_, err := fmt.Sscanf(out[i:], "iterations: %d run, %d dropped", &gotRun, &dropped)
	require.NoError(t, err)
	assert.Equal(t, run, gotRun)
	assert.Contains(t, out, "all 10 users are busy: iterations are being dropped")
	assert.InDelta(t, 1000, run+dropped, 2, "every scheduled iteration is run or dropped")
	arr := tg.arrivals()
	require.Len(t, arr, int(run), "the target saw every iteration that ran")
	stallFrom, stallTo := arr[0].Add(time.Second), arr[0].Add(2*time.Second)
	var held []time.Duration // how long each request of the stall was held
	for _, a := range arr {
		if !a.Before(stallFrom) && a.Before(stallTo) {
			held = append(held, stallTo.Sub(a))
		}
	}
	assert.LessOrEqual(t, len(held), 10, "each of the 10 users is held by the first request it sends in the stall")
	// 200 iterations are due during the stall; at most 10 of them arrive in
	// it, and those due in its last maxJitter may arrive after it.
	assert.GreaterOrEqual(t, dropped, int64(200-10-200*maxJitter/time.Second), "the iterations due in the stall are dropped")
	assert.LessOrEqual(t, maxPerWindow(arr, 500*time.Millisecond), burstBound(200, 500*time.Millisecond), "no catch-up burst after the stall")
	// The service-time p99 shows the held requests when they are more than
	// 1 % of those run; the corrected p99 shows the stall through the
	// back-filled waits of the dropped iterations due early in it (no user
	// is free until it ends: at least 30 due in its first 150 ms wait more
	// than 800 ms).
	tot := res.Stats.Total
	sort.Slice(held, func(i, j int) bool { return held[i] > held[j] })
	if k := int(run / 100); k < len(held) {
		assert.GreaterOrEqual(t, tot.Percentile(0.99), held[k]*99/100, "service-time p99 against the target's hold times %v", held)
	}
	assert.Greater(t, tot.CorrectedPercentile(0.99), 800*time.Millisecond)
	assert.Equal(t, run+dropped, tot.CorrectedHist.TotalCount(), "one corrected sample per iteration, run or dropped")
	require.Len(t, res.Thresholds, 1)
	assert.Equal(t, float64(dropped), res.Thresholds[0].Measured, "thresholds see the dropped iterations")
	assert.True(t, res.Thresholds[0].Passed, "dropped_iterations<1000 with %d dropped: %s", dropped, res.Thresholds[0].Message)
}

// TestIterationLimitIsExact: 5 users, -i 300: exactly 300 requests, and
// the run ends by itself long before its run time.
func TestIterationLimitIsExact(t *testing.T) {
	tg := newStallTarget(t, 0, 0)
	var stderr loadOut
	start := time.Now()
	res := RunHeadless(t, Config{Users: 5, Host: tg.URL, RunTime: time.Minute, Stderr: &stderr, Load: LoadConfig{Iterations: 300}}, hitterClass())
	require.NotNil(t, res)
	assert.Equal(t, int64(300), res.Stats.Total.NumRequests)
	assert.Len(t, tg.arrivals(), 300)
	assert.Less(t, time.Since(start), 30*time.Second)
	assert.Contains(t, stderr.String(), "iterations: 300 run, 0 dropped")
}

// TestIterationLimitKeepsTheClassWait: 2 users waiting 100 ms between
// tasks, -i 10: 5 iterations each, so the run lasts about 400 ms.
func TestIterationLimitKeepsTheClassWait(t *testing.T) {
	tg := newStallTarget(t, 0, 0)
	c := hitterClass()
	c.Wait = user.Constant(100 * time.Millisecond)
	res := RunHeadless(t, Config{Users: 2, Host: tg.URL, RunTime: time.Minute, Load: LoadConfig{Iterations: 10}}, c)
	require.NotNil(t, res)
	assert.Equal(t, int64(10), res.Stats.Total.NumRequests)
	arr := tg.arrivals()
	require.Len(t, arr, 10)
	assert.GreaterOrEqual(t, arr[9].Sub(arr[0]), 390*time.Millisecond, "the users waited between tasks")
}
