package user_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// web is a user type calling the counting target.
type web struct {
	user.HTTP
	stopped *atomic.Int64
}

func (w *web) OK(ctx context.Context) error { return w.Get(ctx, "/ok?id=1").Err() }
func (w *web) Fail(ctx context.Context) error {
	return fmt.Errorf("wrapped: %w", w.Get(ctx, "/fail").Err())
}
func (w *web) Post(ctx context.Context) error {
	return w.HTTP.Post(ctx, "/item/7", user.JSON(map[string]int{"n": 1}), user.Name("/item/[id]")).Err()
}
func (w *web) Slow(ctx context.Context) error { return w.Get(ctx, "/slow").Err() }
func (w *web) OnStop(context.Context) error {
	if w.stopped != nil {
		w.stopped.Add(1)
	}
	return nil
}

// startWith is start with a per-user initialiser run in OnStart.
func startWith(t *testing.T, c user.Class[web], host string, n int, init func(*web)) *run {
	hooked := user.Class[hooked]{Name: "web", Tasks: wrapSet(c.Tasks)}
	initHook.Store(&init)
	return start(t, hooked, host, n)
}

var initHook atomic.Pointer[func(*web)]

type hooked struct{ web }

func (h *hooked) OnStart(context.Context) error {
	(*initHook.Load())(&h.web)
	return nil
}

func wrapSet(s *taskset.Set[web]) *taskset.Set[hooked] {
	var ts []taskset.Task[hooked]
	for _, t := range s.Tasks() {
		run := t.Run
		ts = append(ts, taskset.Task[hooked]{Name: t.Name, Weight: t.Weight,
			Run: func(h *hooked, ctx context.Context) error { return run(&h.web, ctx) }})
	}
	if s.Sequential() {
		return taskset.Sequential(ts...)
	}
	return taskset.Weighted(ts...)
}

type stubborn struct{}

func TestTaskIgnoringItsContext(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var done atomic.Bool
	c := user.Class[stubborn]{Tasks: taskset.Weighted(taskset.Task[stubborn]{Name: "ignore",
		Run: func(_ *stubborn, ctx context.Context) error {
			close(started)
			<-release // ignores ctx
			done.Store(true)
			return ctx.Err()
		}})}
	r := start(t, c, "", 1)
	<-started
	r.stop()
	r.cancel()
	ended := make(chan struct{})
	go func() { r.wg.Wait(); close(ended) }()
	select {
	case <-ended:
		t.Fatal("Run returned while its task was still running")
	case <-time.After(30 * time.Millisecond):
	}
	close(release)
	r.wait(t, 5*time.Second)
	assert.True(t, done.Load())
	s := r.reg.Snapshot()
	assert.Empty(t, s.Entries, "a context error after a hard stop is not a failure")
}

type waiter struct{}

func TestWaitingUserLeavesAtOnceOnGracefulStop(t *testing.T) {
	var n atomic.Int64
	c := user.Class[waiter]{
		Wait: user.Constant(time.Hour),
		Tasks: taskset.Weighted(taskset.Task[waiter]{Name: "t", Run: func(_ *waiter, _ context.Context) error {
			n.Add(1)
			return nil
		}}),
	}
	r := start(t, c, "", 20)
	eventually(t, func() bool { return n.Load() == 20 }, "every user ran once")
	r.stop()
	r.wait(t, 5*time.Second) // far less than the hour's wait
	assert.EqualValues(t, 20, n.Load())
}

func TestWaitingUserLeavesAtOnceOnHardStop(t *testing.T) {
	var n atomic.Int64
	c := user.Class[waiter]{
		Wait:  user.Between(time.Hour, 2*time.Hour),
		Tasks: taskset.Weighted(taskset.Task[waiter]{Name: "t", Run: func(*waiter, context.Context) error { n.Add(1); return nil }}),
	}
	r := start(t, c, "", 5)
	eventually(t, func() bool { return n.Load() == 5 }, "every user ran once")
	r.cancel()
	r.wait(t, 5*time.Second)
}

type panicky struct{ n int }

func (p *panicky) table() map[string]int { return nil }

func (p *panicky) Boom(context.Context) error {
	p.n++
	m := p.table()
	m["x"] = p.n // nil map write
	return nil
}

func TestPanicsRecordedAndUserCarriesOn(t *testing.T) {
	var runs atomic.Int64
	c := user.Class[panicky]{Tasks: taskset.Weighted(
		taskset.Task[panicky]{Run: (*panicky).Boom},
		taskset.Task[panicky]{Name: "count", Run: func(p *panicky, _ context.Context) error {
			if runs.Add(1) >= 100 {
				return user.ErrStopUser
			}
			return nil
		}},
	)}
	r := start(t, c, "", 3)
	r.wait(t, 10*time.Second)
	s := r.reg.Snapshot()
	require.Len(t, s.Exceptions, 1, "the same panic in three users is one group")
	x := s.Exceptions[0]
	assert.GreaterOrEqual(t, x.Count, int64(99))
	assert.Contains(t, x.Message, "nil map")
	assert.Contains(t, x.Traceback, "user_test.(*panicky).Boom")
	assert.Contains(t, x.Traceback, "user_test.go:")
	assert.NotContains(t, x.Traceback, "goroutine")
	assert.NotContains(t, x.Traceback, "runtime.")
	assert.Empty(t, s.Entries, "a panic is an exception, not a failed request")
}

type erring struct {
	user.HTTP
	n int
}

func TestTaskErrorsRecordedOnce(t *testing.T) {
	tg := newTarget(t)
	c := user.Class[erring]{Tasks: taskset.Sequential(
		taskset.Task[erring]{Name: "plain", Run: func(*erring, context.Context) error { return errors.New("out of stock") }},
		taskset.Task[erring]{Name: "http", Run: func(e *erring, ctx context.Context) error {
			return fmt.Errorf("checkout: %w", e.Get(ctx, "/fail").Err())
		}},
		taskset.Task[erring]{Name: "measure", Run: func(e *erring, _ context.Context) error {
			return user.Measure(e.Env(), "SQL", "select", func() (int64, error) { return 0, errors.New("deadlock") })
		}},
		taskset.Task[erring]{Name: "resched", Run: func(*erring, context.Context) error { return taskset.ErrRescheduleNow }},
		taskset.Task[erring]{Name: "stop", Run: func(e *erring, _ context.Context) error {
			e.n++
			if e.n == 10 {
				return user.ErrStopUser
			}
			return nil
		}},
	)}
	r := start(t, c, tg.URL, 2)
	r.wait(t, 10*time.Second)
	s := r.reg.Snapshot()
	assert.Equal(t, map[string]int64{
		"task plain: out of stock":                20,
		"GET /fail: HTTP 503 Service Unavailable": 20,
		"SQL select: deadlock":                    20,
	}, errorsOf(s))
	assert.EqualValues(t, 20, entry(s, user.TaskMethod, "plain").NumFailures)
	assert.EqualValues(t, tg.count("GET /fail"), entry(s, "GET", "/fail").NumRequests)
	assert.EqualValues(t, 60, s.Total.NumRequests, methods(s))
}

func TestStopTest(t *testing.T) {
	var stopped atomic.Int64
	c := user.Class[web]{Tasks: taskset.Weighted(taskset.Task[web]{Name: "end",
		Run: func(*web, context.Context) error { return fmt.Errorf("enough: %w", user.ErrStopTest) }})}
	r := startWith(t, c, "http://127.0.0.1:1", 1, func(w *web) { w.stopped = &stopped })
	r.wait(t, 5*time.Second)
	err, _ := r.stopErr.Load().(error)
	require.Error(t, err)
	assert.ErrorIs(t, err, user.ErrStopTest)
	assert.EqualValues(t, 1, stopped.Load())
	assert.Empty(t, r.reg.Snapshot().Entries)
}

type session struct {
	user.HTTP
	sid string
	bad *atomic.Int64
}

func (s *session) OnStart(ctx context.Context) error {
	if err := s.Post(ctx, "/login").Err(); err != nil {
		return err
	}
	s.sid = s.Cookie("sid")
	if s.sid == "" || s.Cookie("theme") != "dark" {
		return errors.New("no session cookie")
	}
	return nil
}

func (s *session) Me(ctx context.Context) error {
	return s.Get(ctx, "/me", user.Check(func(r *user.Response) error {
		if string(r.Body) != s.sid {
			s.bad.Add(1)
			return fmt.Errorf("wrong session %q", r.Body)
		}
		return nil
	})).Err()
}

type loginUser struct{ user.HTTP }

func (u *loginUser) OnStart(ctx context.Context) error {
	path := "/login"
	if u.Env().ID%2 == 0 {
		path = "/fail" // the login request fails for half the users
	}
	return u.Post(ctx, path).Err()
}

// The README's login pattern (return the login request's error): a failed
// login is recorded once, as a failed request, and the user goes on to its
// tasks as in Locust; it is not also counted as a task failure.
func TestFailedLoginRequestDoesNotEndTheUser(t *testing.T) {
	tg := newTarget(t)
	var ran sync.Map
	c := user.Class[loginUser]{Tasks: taskset.Weighted(taskset.Task[loginUser]{Name: "t", Run: func(u *loginUser, ctx context.Context) error {
		ran.Store(u.Env().ID, true)
		return u.Get(ctx, "/ok").Err()
	}})}
	r := start(t, c, tg.URL, 6)
	eventually(t, func() bool {
		n := 0
		ran.Range(func(any, any) bool { n++; return true })
		return n == 6
	}, "all 6 users run their task")
	r.stop()
	r.wait(t, 10*time.Second)
	s := r.reg.Snapshot()
	assert.Equal(t, map[string]int64{"POST /fail: HTTP 503 Service Unavailable": 3}, errorsOf(s))
	assert.EqualValues(t, 3, entry(s, "POST", "/fail").NumFailures)
}

// TestCookiesPerUser: each of 4 users logs in and gets its own session
// cookie, which its later calls carry. The test waits until every user
// has made calls of its own (not a total count, which the first users
// to start can reach alone).
func TestCookiesPerUser(t *testing.T) {
	tg := newTarget(t)
	var bad atomic.Int64
	var mu sync.Mutex
	calls := map[string]int{} // session id -> calls to /me
	c := user.Class[sessionHooked]{Tasks: taskset.Weighted(taskset.Task[sessionHooked]{Name: "me",
		Run: func(s *sessionHooked, ctx context.Context) error {
			s.bad = &bad
			err := s.Me(ctx)
			mu.Lock()
			calls[s.sid]++
			mu.Unlock()
			return err
		}})}
	r := start(t, c, tg.URL, 4)
	eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		if len(calls) < 4 {
			return false
		}
		for _, n := range calls {
			if n < 20 {
				return false
			}
		}
		return true
	}, "every user calls /me")
	r.stop()
	r.wait(t, 10*time.Second)
	mu.Lock()
	assert.Len(t, calls, 4, "each user has its own session: %v", calls)
	mu.Unlock()
	assert.Zero(t, bad.Load())
	s := r.reg.Snapshot()
	assert.Zero(t, s.Total.NumFailures, methods(s))
	assert.EqualValues(t, tg.count("GET /me"), entry(s, "GET", "/me").NumRequests)
}

type sessionHooked struct {
	session
}

type client struct {
	user.HTTP
}

func TestConnectionReset(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			_, _ = conn.Read(buf)                // the request
			_ = conn.(*net.TCPConn).SetLinger(0) // close with RST
			_ = conn.Close()
		}
	}()
	defer func() { _ = ln.Close(); <-done }()
	r := fastKind.once(t, "http://"+ln.Addr().String(), func(c httpClient, ctx context.Context) {
		c.Get(ctx, "/a")
		c.Get(ctx, "/b")
	})
	assert.Equal(t, map[string]int64{"GET /a: connection reset by peer": 1, "GET /b: connection reset by peer": 1}, errorsOf(r.reg.Snapshot()))
}

func TestBadHost(t *testing.T) {
	for _, host := range []string{"", "ftp://x", "http://"} {
		c := user.Class[client]{Tasks: taskset.Weighted(taskset.Task[client]{Name: "x",
			Run: func(*client, context.Context) error { return nil }})}
		r := start(t, c, host, 1)
		r.wait(t, 5*time.Second)
		err, _ := r.stopErr.Load().(error)
		require.Error(t, err, host)
		assert.Contains(t, err.Error(), `user class "client"`)
	}
}

func TestLargeResponseHeaders(t *testing.T) {
	tg := newTarget(t)
	var got []string
	r := fastKind.once(t, tg.URL, func(c httpClient, ctx context.Context) {
		for range 3 {
			res := c.Get(ctx, "/bigheader")
			got = append(got, fmt.Sprintf("%v %d %s", res.Err(), len(res.Header("X-Big")), res.Body))
			res = c.Get(ctx, "/ok")
			got = append(got, fmt.Sprintf("%v %s", res.Err(), res.Body))
		}
	})
	assert.Equal(t, []string{"<nil> 20000 big", "<nil> hello", "<nil> 20000 big", "<nil> hello", "<nil> 20000 big", "<nil> hello"}, got)
	assert.Zero(t, r.reg.Snapshot().Total.NumFailures)
}

func TestCookieDeletion(t *testing.T) {
	tg := newTarget(t)
	var before, after string
	fastKind.once(t, tg.URL, func(c httpClient, ctx context.Context) {
		c.Get(ctx, "/login")
		before = c.Cookie("theme")
		c.Get(ctx, "/logout")
		after = c.Cookie("theme")
	})
	assert.Equal(t, "dark", before)
	assert.Equal(t, "", after)
}

type gate struct {
	n        atomic.Int64
	limit    int64
	intended time.Duration // how far in the past the intended start is
}

func (g *gate) Next(ctx context.Context) (time.Time, bool) {
	if g.n.Add(1) > g.limit {
		return time.Time{}, false
	}
	return time.Now().Add(-g.intended), true
}

func TestGateAndCorrectedLatency(t *testing.T) {
	tg := newTarget(t)
	c := user.Class[web]{Wait: user.Constant(time.Hour), Tasks: taskset.Weighted(taskset.Task[web]{Run: (*web).OK})}
	r := start(t, c, tg.URL, 0)
	g := &gate{limit: 50, intended: 200 * time.Millisecond}
	env := &user.Env{Host: tg.URL, Stats: r.reg, Gate: g}
	c.Run(context.Background(), env) // the gate ends the user after 50 iterations, no waits
	s := r.reg.Snapshot()
	e := entry(s, "GET", "/ok?id=1")
	require.EqualValues(t, 50, e.NumRequests)
	require.NotNil(t, e.CorrectedHist)
	assert.GreaterOrEqual(t, e.CorrectedPercentile(0.5), 200*time.Millisecond)
	assert.Less(t, e.Percentile(0.5), 200*time.Millisecond)
}

type recorder struct{ user.Base }

func TestRecordCorrectedWithPacing(t *testing.T) {
	var n atomic.Int64
	c := user.Class[recorder]{
		Wait: user.ConstantPacing(5 * time.Millisecond),
		Tasks: taskset.Weighted(taskset.Task[recorder]{Name: "t", Run: func(r *recorder, _ context.Context) error {
			i := n.Add(1)
			user.Record(r.Env(), "X", "op", time.Millisecond, 10, nil)
			if i == 3 {
				time.Sleep(80 * time.Millisecond)
			}
			if i == 6 {
				return user.ErrStopUser
			}
			return nil
		}}),
	}
	r := start(t, c, "", 1)
	r.wait(t, 5*time.Second)
	e := entry(r.reg.Snapshot(), "X", "op")
	require.EqualValues(t, 6, e.NumRequests)
	require.NotNil(t, e.CorrectedHist)
	assert.Equal(t, time.Millisecond, e.Max, "service time is what was recorded")
	// The task after the overrun started ~75 ms after its intended start.
	assert.GreaterOrEqual(t, e.CorrectedPercentile(1), 70*time.Millisecond)
	assert.Less(t, e.CorrectedPercentile(0.5), 70*time.Millisecond)
	// The generator's own lag: every task after the first had a slot.
	lag := r.reg.Snapshot().Lag
	require.NotNil(t, lag)
	assert.EqualValues(t, 5, lag.TotalCount())
	assert.GreaterOrEqual(t, lag.Max(), int64(70_000), "the overrun shows as lag, in microseconds")
}

type nested struct{ user.Base }

func TestNestedInterruptAndReschedule(t *testing.T) {
	var total atomic.Int64
	rec := func(name string, ret error) taskset.Task[nested] {
		return taskset.Task[nested]{Name: name, Run: func(u *nested, _ context.Context) error {
			user.Record(u.Env(), "T", name, time.Microsecond, 0, nil)
			if total.Add(1) >= 700 {
				return user.ErrStopUser
			}
			return ret
		}}
	}
	inner := taskset.Sequential(rec("x", nil), rec("y", taskset.ErrRescheduleNow), rec("leave", taskset.ErrInterrupt)).
		WithWait(user.Constant(0))
	c := user.Class[nested]{
		Wait:  user.Constant(time.Hour), // the top set would wait: only the nested set runs without waiting
		Tasks: taskset.Weighted(rec("top", taskset.ErrRescheduleNow), taskset.Task[nested]{Set: inner}),
	}
	r := start(t, c, "", 1)
	r.wait(t, 10*time.Second)
	s := r.reg.Snapshot()
	// Each cycle: top, x, y, leave (top's ErrRescheduleNow and leave's
	// interrupt both skip the hour-long wait).
	for _, n := range []string{"top", "x", "y", "leave"} {
		assert.EqualValues(t, 175, entry(s, "T", n).NumRequests, n)
	}
}

func TestClassSpawner(t *testing.T) {
	c := user.Class[web]{
		Tags: []string{"all"},
		Tasks: taskset.Weighted(
			taskset.Task[web]{Run: (*web).OK, Weight: 3, Tags: []string{"read"}},
			taskset.Task[web]{Run: (*web).Post, Tags: []string{"write"}},
		),
	}
	var sp user.Spawner = c
	assert.Equal(t, "web", sp.ClassName())
	assert.Equal(t, 1, sp.ClassWeight())
	assert.Equal(t, 0, sp.ClassFixedCount())
	assert.Equal(t, []user.TaskShare{{Name: "OK", Share: 0.75}, {Name: "Post", Share: 0.25}}, sp.TaskRatio())

	f, err := sp.Filter([]string{"write"}, nil)
	require.NoError(t, err)
	assert.Equal(t, []user.TaskShare{{Name: "Post", Share: 1}}, f.TaskRatio())
	f, err = sp.Filter([]string{"all"}, []string{"read"})
	require.NoError(t, err)
	assert.Len(t, f.TaskRatio(), 1)
	_, err = sp.Filter(nil, []string{"all"})
	require.EqualError(t, err, `user class "web" had no tasks left after filtering by tags (include [], exclude ["all"])`)
	_, err = user.Class[web]{Name: "Empty"}.Filter(nil, nil)
	require.EqualError(t, err, `user class "Empty" has no tasks`)
	assert.Equal(t, 4, user.Class[web]{Weight: 4, Host: "h"}.ClassWeight())
}

func TestWaitStrategies(t *testing.T) {
	now := time.Now()
	w := user.Between(time.Second, 2*time.Second).NewWaiter(nil)
	for range 1000 {
		d := w.Pause(now, now)
		require.GreaterOrEqual(t, d, time.Second)
		require.Less(t, d, 2*time.Second)
	}
	assert.Equal(t, time.Second, user.Between(time.Second, time.Second).NewWaiter(nil).Pause(now, now))
	assert.Equal(t, 3*time.Second, user.Constant(3*time.Second).NewWaiter(nil).Pause(now, now))

	p := user.ConstantPacing(time.Second).NewWaiter(nil)
	assert.Equal(t, 700*time.Millisecond, p.Pause(now, now.Add(300*time.Millisecond)))
	assert.Equal(t, now.Add(time.Second), p.(taskset.Pacer).Intended())
	p = user.ConstantPacing(time.Second).NewWaiter(nil)
	assert.Equal(t, -500*time.Millisecond, p.Pause(now, now.Add(1500*time.Millisecond)), "an overrun waits nothing")

	tp := user.ConstantThroughput(4).NewWaiter(nil)
	assert.Equal(t, 250*time.Millisecond, tp.Pause(now, now))
	assert.Equal(t, time.Duration(0), user.ConstantThroughput(0).NewWaiter(nil).Pause(now, now))
}

// pacedStarts simulates one paced user for span: every wake-up comes late
// by a random 0.2-0.9 ms (what timers did on the VM where pacing was
// measured) and every task takes service. It returns the number of task
// starts and the largest number of starts within one period.
func pacedStarts(w taskset.Wait, d, span, service time.Duration, rnd *rand.Rand) (n, burst int) {
	waiter := w.NewWaiter(rnd)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var starts []time.Time
	now := t0
	for now.Sub(t0) < span {
		start := now
		starts = append(starts, start)
		end := start.Add(service)
		if service > d && len(starts)%50 == 0 {
			end = start.Add(10 * d) // an overrun of many periods now and then
		}
		pause := max(0, waiter.Pause(start, end))
		now = end.Add(pause + 200*time.Microsecond + time.Duration(rnd.Int64N(int64(700*time.Microsecond))))
	}
	for i := range starts {
		j := i
		for j < len(starts) && starts[j].Sub(starts[i]) < d {
			j++
		}
		burst = max(burst, j-i)
	}
	return len(starts), burst
}

func TestConstantThroughputKeepsItsRateWhenTimersFireLate(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	total := 0
	for range 20 {
		n, burst := pacedStarts(user.ConstantThroughput(50), 20*time.Millisecond, 10*time.Second, 120*time.Microsecond, rnd)
		total += n
		assert.LessOrEqual(t, burst, 2, "no more than one period of catch-up")
	}
	// 20 users x 50/s x 10 s.
	assert.InDelta(t, 10000, total, 100, "within 1 %%")
}

func TestConstantPacingCatchesUpAtMostOnePeriod(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	d := 10 * time.Millisecond
	// Tasks that take a bit more than the period, with an overrun of ten
	// periods every 50 tasks: the user runs back to back, never more than
	// two starts within one period.
	n, burst := pacedStarts(user.ConstantPacing(d), d, 5*time.Second, d+time.Millisecond, rnd)
	assert.LessOrEqual(t, burst, 2)
	assert.Less(t, n, 500)

	// A late start within one period is made up: the next slot is still
	// one period after the previous slot.
	w := user.ConstantPacing(d).NewWaiter(nil)
	now := time.Now()
	assert.Equal(t, d, w.Pause(now, now))
	assert.Equal(t, d-3*time.Millisecond, w.Pause(now.Add(d+2*time.Millisecond), now.Add(d+3*time.Millisecond)))
	assert.Equal(t, now.Add(2*d), w.(taskset.Pacer).Intended())
	// An overrun of three periods: the next task runs at once and its
	// corrected latency counts from its slot; the schedule is kept only
	// one period behind, so one more task runs at once and then it holds.
	assert.Equal(t, -d, w.Pause(now.Add(2*d), now.Add(5*d)))
	assert.Equal(t, now.Add(3*d), w.(taskset.Pacer).Intended())
	assert.Equal(t, -time.Millisecond, w.Pause(now.Add(5*d), now.Add(5*d+time.Millisecond)))
	assert.Equal(t, d-2*time.Millisecond, w.Pause(now.Add(5*d+time.Millisecond), now.Add(5*d+2*time.Millisecond)))
}

func TestGracefulStopLetsRunningTasksFinish(t *testing.T) {
	tg := newTarget(t)
	c := user.Class[web]{Tasks: taskset.Weighted(taskset.Task[web]{Run: (*web).Slow}, taskset.Task[web]{Run: (*web).OK})}
	r := start(t, c, tg.URL, 4)
	eventually(t, func() bool { return tg.inFlight.Load() == 4 }, "4 requests in flight")
	r.stop()
	tg.unblock()
	r.wait(t, 10*time.Second)
	s := r.reg.Snapshot()
	assert.Zero(t, s.Total.NumFailures, methods(s))
	assert.EqualValues(t, tg.count("GET /slow"), entry(s, "GET", "/slow").NumRequests)
	assert.EqualValues(t, tg.count("GET /ok"), entry(s, "GET", "/ok?id=1").NumRequests)
	assert.EqualValues(t, tg.total(), s.Total.NumRequests)
}

func TestHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "s", Value: "1", Secure: true})
		fmt.Fprint(w, r.TLS != nil)
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	var bodies []string
	var errs []error
	c := user.Class[client]{Tasks: taskset.Weighted(taskset.Task[client]{Name: "tls",
		Run: func(c *client, ctx context.Context) error {
			errs = append(errs, c.Get(ctx, "/").Err()) // unknown authority
			c.TLSConfig = &tls.Config{RootCAs: pool}
			for range 3 {
				r := c.Get(ctx, "/")
				errs = append(errs, r.Err())
				bodies = append(bodies, string(r.Body))
			}
			return user.ErrStopUser
		}})}
	r := start(t, c, srv.URL, 1)
	r.wait(t, 10*time.Second)
	require.Len(t, errs, 4)
	require.Error(t, errs[0])
	assert.Contains(t, errs[0].Error(), "certificate")
	assert.Equal(t, []error{nil, nil, nil}, errs[1:])
	assert.Equal(t, []string{"true", "true", "true"}, bodies)
	e := entry(r.reg.Snapshot(), "GET", "/")
	assert.EqualValues(t, 4, e.NumRequests)
	assert.EqualValues(t, 1, e.NumFailures)
}

type hooks struct{ user.Base }

var hookMode atomic.Value // "panic", "error", "stopuser"

func (h *hooks) OnStart(context.Context) error {
	switch hookMode.Load() {
	case "panic":
		panic("cannot log in")
	case "error":
		return errors.New("login refused")
	case "stopuser":
		return user.ErrStopUser
	}
	return nil
}

func (h *hooks) OnStop(context.Context) error { return errors.New("logout failed") }

func TestHooks(t *testing.T) {
	var ran atomic.Int64
	c := user.Class[hooks]{Tasks: taskset.Weighted(taskset.Task[hooks]{Name: "t", Run: func(h *hooks, _ context.Context) error {
		ran.Add(1)
		return user.ErrStopUser
	}})}
	for _, mode := range []string{"panic", "error", "stopuser", "ok"} {
		t.Run(mode, func(t *testing.T) {
			hookMode.Store(mode)
			ran.Store(0)
			r := start(t, c, "", 1)
			r.wait(t, 5*time.Second)
			s := r.reg.Snapshot()
			switch mode {
			case "panic":
				require.Len(t, s.Exceptions, 1)
				assert.Equal(t, "cannot log in", s.Exceptions[0].Message)
				assert.True(t, strings.HasPrefix(s.Exceptions[0].Traceback, "github.com/golocust/golocust/user_test.(*hooks).OnStart\n\t"),
					s.Exceptions[0].Traceback)
				assert.Empty(t, s.Entries)
				assert.Zero(t, ran.Load())
				assert.Equal(t, map[string]int64{"hooks: OnStart panicked": 1}, s.EndedUsers)
			case "error":
				// Recorded once, and the user goes on to its tasks (and
				// so to OnStop), as in Locust.
				assert.Equal(t, map[string]int64{"task OnStart: login refused": 1, "task OnStop: logout failed": 1}, errorsOf(s))
				assert.EqualValues(t, 1, ran.Load())
			case "stopuser":
				assert.Empty(t, s.Entries)
				assert.Zero(t, ran.Load())
				assert.Equal(t, map[string]int64{"hooks: OnStart returned user.ErrStopUser": 1}, s.EndedUsers)
			case "ok":
				assert.Equal(t, map[string]int64{"task OnStop: logout failed": 1}, errorsOf(s))
				assert.EqualValues(t, 1, ran.Load())
				assert.Equal(t, map[string]int64{"hooks: task t returned user.ErrStopUser": 1}, s.EndedUsers)
			}
		})
	}
}

type both struct {
	user.HTTP
	user.Base
}

type pointerHTTP struct{ *user.HTTP }

func TestBinding(t *testing.T) {
	tg := newTarget(t)
	var envs []*user.Env
	c := user.Class[both]{Tasks: taskset.Weighted(taskset.Task[both]{Name: "t", Run: func(b *both, ctx context.Context) error {
		envs = append(envs, b.Env(), b.HTTP.Env())
		return errors.Join(b.Get(ctx, "/ok").Err(), user.ErrStopUser)
	}})}
	r := start(t, c, tg.URL, 1)
	r.wait(t, 5*time.Second)
	require.Len(t, envs, 2)
	assert.Same(t, r.envs[0], envs[0])
	assert.Same(t, r.envs[0], envs[1])
	assert.Equal(t, 1, tg.count("GET /ok"))

	p := user.Class[pointerHTTP]{Tasks: taskset.Weighted(taskset.Task[pointerHTTP]{Name: "t",
		Run: func(*pointerHTTP, context.Context) error { return nil }})}
	r = start(t, p, tg.URL, 1)
	r.wait(t, 5*time.Second)
	err, _ := r.stopErr.Load().(error)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "embed user.HTTP by value")
}
