package user_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// The tests in this file run the same cases over both HTTP clients: what
// they share (options, names, verdicts, recording, error texts) must
// behave the same on either transport.

// httpClient is what both clients offer a task.
type httpClient interface {
	Get(ctx context.Context, path string, opts ...user.Option) *user.Response
	Post(ctx context.Context, path string, opts ...user.Option) *user.Response
	Put(ctx context.Context, path string, opts ...user.Option) *user.Response
	Patch(ctx context.Context, path string, opts ...user.Option) *user.Response
	Delete(ctx context.Context, path string, opts ...user.Option) *user.Response
	Head(ctx context.Context, path string, opts ...user.Option) *user.Response
	Do(ctx context.Context, method, path string, opts ...user.Option) *user.Response
	Cookie(name string) string
}

var (
	_ httpClient = (*user.HTTP)(nil)
	_ httpClient = (*user.NetHTTP)(nil)
)

// clientTask is a task over either client.
type clientTask struct {
	weight int
	run    func(c httpClient, ctx context.Context) error
}

// fastUser and netUser run clientTasks; OnStop counts into userStops.
type fastUser struct{ user.HTTP }
type netUser struct{ user.NetHTTP }

var userStops atomic.Int64

func (*fastUser) OnStop(context.Context) error { userStops.Add(1); return nil }
func (*netUser) OnStop(context.Context) error  { userStops.Add(1); return nil }

// clientKind starts users over one of the clients.
type clientKind struct {
	name string
	// start runs n users of tasks (in sequence when seq) against host.
	start func(t *testing.T, host string, n int, seq bool, tasks ...clientTask) *run
}

var clientKinds = []clientKind{
	{"HTTP", func(t *testing.T, host string, n int, seq bool, tasks ...clientTask) *run {
		return startTasks(t, host, n, seq, func(u *fastUser) httpClient { return &u.HTTP }, tasks)
	}},
	{"NetHTTP", func(t *testing.T, host string, n int, seq bool, tasks ...clientTask) *run {
		return startTasks(t, host, n, seq, func(u *netUser) httpClient { return &u.NetHTTP }, tasks)
	}},
}

var fastKind, netKind = clientKinds[0], clientKinds[1]

func startTasks[U any](t *testing.T, host string, n int, seq bool, client func(*U) httpClient, tasks []clientTask) *run {
	t.Helper()
	var ts []taskset.Task[U]
	for i, k := range tasks {
		ts = append(ts, taskset.Task[U]{Name: fmt.Sprint("t", i), Weight: k.weight,
			Run: func(u *U, ctx context.Context) error { return k.run(client(u), ctx) }})
	}
	set := taskset.Weighted(ts...)
	if seq {
		set = taskset.Sequential(ts...)
	}
	return start(t, user.Class[U]{Tasks: set}, host, n)
}

// once runs f as the single task of one user, once, and waits for it.
func (k clientKind) once(t *testing.T, host string, f func(c httpClient, ctx context.Context)) *run {
	t.Helper()
	r := k.start(t, host, 1, false, clientTask{run: func(c httpClient, ctx context.Context) error {
		f(c, ctx)
		return user.ErrStopUser
	}})
	r.wait(t, 10*time.Second)
	return r
}

func forEachClient(t *testing.T, test func(t *testing.T, k clientKind)) {
	for _, k := range clientKinds {
		t.Run(k.name, func(t *testing.T) { test(t, k) })
	}
}

var (
	getOK = clientTask{weight: 3, run: func(c httpClient, ctx context.Context) error { return c.Get(ctx, "/ok?id=1").Err() }}
	fail  = clientTask{run: func(c httpClient, ctx context.Context) error {
		return fmt.Errorf("wrapped: %w", c.Get(ctx, "/fail").Err())
	}}
	postItem = clientTask{run: func(c httpClient, ctx context.Context) error {
		return c.Post(ctx, "/item/7", user.JSON(map[string]int{"n": 1}), user.Name("/item/[id]")).Err()
	}}
	getSlow = clientTask{run: func(c httpClient, ctx context.Context) error { return c.Get(ctx, "/slow").Err() }}
)

func TestStatsEqualTargetCounts(t *testing.T) {
	forEachClient(t, func(t *testing.T, k clientKind) {
		tg := newTarget(t)
		r := k.start(t, tg.URL, 5, false, getOK, fail, postItem)
		eventually(t, func() bool { return tg.total() >= 500 }, "target should get requests")
		r.stop()
		r.wait(t, 10*time.Second)

		s := r.reg.Snapshot()
		ok, fail, post := entry(s, "GET", "/ok?id=1"), entry(s, "GET", "/fail"), entry(s, "POST", "/item/[id]")
		assert.EqualValues(t, tg.count("GET /ok"), ok.NumRequests)
		assert.EqualValues(t, tg.count("GET /fail"), fail.NumRequests)
		assert.EqualValues(t, tg.count("POST /item/7"), post.NumRequests)
		assert.EqualValues(t, tg.total(), s.Total.NumRequests, methods(s))
		assert.Zero(t, ok.NumFailures)
		assert.Zero(t, post.NumFailures)
		assert.Equal(t, fail.NumRequests, fail.NumFailures)
		assert.Equal(t, int64(len("hello"))*ok.NumRequests, ok.TotalBytes)
		assert.Equal(t, map[string]int64{"GET /fail: HTTP 503 Service Unavailable": fail.NumFailures}, errorsOf(s),
			"an HTTP failure returned by the task is not counted again")
		// Weights 3:1:1 per user, exact per full cycle of 5.
		assert.InDelta(t, 3*fail.NumRequests, ok.NumRequests, 5*3)
	})
}

func TestHardStopCutsOffInFlightRequests(t *testing.T) {
	forEachClient(t, func(t *testing.T, k clientKind) {
		tg := newTarget(t)
		userStops.Store(0)
		// OK first, so that /slow goes over a reused keep-alive connection.
		once := getOK
		once.weight = 1
		r := k.start(t, tg.URL, 3, true, once, getSlow)
		eventually(t, func() bool { return tg.inFlight.Load() == 3 }, "3 requests in flight")
		r.stop()
		// Graceful stop alone does not end a running task.
		time.Sleep(20 * time.Millisecond)
		assert.Equal(t, int64(3), tg.inFlight.Load())
		r.cancel()
		r.wait(t, 5*time.Second) // /slow never answers: only the cut-off ends it

		s := r.reg.Snapshot()
		e := entry(s, "GET", "/slow")
		assert.EqualValues(t, tg.count("GET /slow"), e.NumRequests)
		assert.EqualValues(t, 3, e.NumFailures)
		assert.Equal(t, map[string]int64{"GET /slow: request cut off by stop": 3}, errorsOf(s))
		assert.EqualValues(t, 3, userStops.Load(), "OnStop runs on hard stop")
		assert.EqualValues(t, tg.total(), s.Total.NumRequests)
		assert.EqualValues(t, 3, tg.count("GET /ok"))
	})
}

func TestCheckVerdicts(t *testing.T) {
	forEachClient(t, func(t *testing.T, k clientKind) {
		tg := newTarget(t)
		var errs []error
		r := k.once(t, tg.URL, func(c httpClient, ctx context.Context) {
			errs = append(errs,
				c.Get(ctx, "/fail", user.Check(func(*user.Response) error { return nil })).Err(),
				c.Get(ctx, "/ok", user.Check(func(r *user.Response) error {
					if string(r.Body) != "expected" {
						return errors.New("unexpected body")
					}
					return nil
				})).Err(),
				c.Get(ctx, "/fail", user.Check(func(r *user.Response) error {
					if r.StatusCode == 503 {
						return nil // a 503 is fine here
					}
					return r.StatusError()
				})).Err(),
				c.Get(ctx, "/missing", user.Check((*user.Response).StatusError)).Err(),
			)
		})
		require.Len(t, errs, 4)
		assert.NoError(t, errs[0])
		var re *user.RequestError
		require.ErrorAs(t, errs[1], &re)
		assert.Equal(t, "GET /ok: unexpected body", errs[1].Error())
		assert.NoError(t, errs[2])
		assert.NoError(t, errs[3]) // 200 for any other path
		s := r.reg.Snapshot()
		assert.Equal(t, map[string]int64{"GET /ok: unexpected body": 1}, errorsOf(s))
		assert.EqualValues(t, 2, entry(s, "GET", "/fail").NumRequests)
		assert.Zero(t, entry(s, "GET", "/fail").NumFailures)
	})
}

func TestRequestOptionsAndMethods(t *testing.T) {
	forEachClient(t, func(t *testing.T, k clientKind) {
		tg := newTarget(t)
		var bodies []string
		r := k.once(t, tg.URL+"/base/", func(c httpClient, ctx context.Context) {
			keep := func(r *user.Response) { bodies = append(bodies, string(r.Body)) }
			keep(c.Post(ctx, "/echo?q=1", user.JSON(map[string]string{"a": "b"}), user.Header("X-Test", "yes")))
			keep(c.Put(ctx, "/echo", user.Form(url.Values{"k": {"v w"}})))
			keep(c.Patch(ctx, "/echo", user.Body([]byte("raw")), user.Header("Content-Type", "text/plain"), user.Name("patch")))
			keep(c.Delete(ctx, "/echo"))
			keep(c.Head(ctx, "/echo"))
			keep(c.Do(ctx, "OPTIONS", "/echo"))
			keep(c.Get(ctx, tg.URL+"/echo?abs=1")) // absolute URL of the same host
		})
		assert.Equal(t, []string{
			`POST /base/echo?q=1 application/json yes{"a":"b"}`,
			`PUT /base/echo application/x-www-form-urlencoded k=v+w`,
			`PATCH /base/echo text/plain raw`,
			`DELETE /base/echo  `,
			``,
			`OPTIONS /base/echo  `,
			`GET /echo?abs=1  `,
		}, bodies)
		s := r.reg.Snapshot()
		for _, k := range []string{"POST /base/echo?q=1", "PUT /base/echo", "PATCH patch", "DELETE /base/echo", "HEAD /base/echo", "OPTIONS /base/echo", "GET /echo?abs=1"} {
			m, n, _ := strings.Cut(k, " ")
			assert.EqualValues(t, 1, entry(s, m, n).NumRequests, k)
		}
		assert.EqualValues(t, 7, tg.total())
		assert.Zero(t, s.Total.NumFailures)
	})
}

func TestConnectionErrors(t *testing.T) {
	forEachClient(t, func(t *testing.T, k clientKind) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		closed := "http://" + ln.Addr().String()
		require.NoError(t, ln.Close())
		tg := newTarget(t)

		var errs []error
		r := k.once(t, closed, func(c httpClient, ctx context.Context) {
			errs = append(errs, c.Get(ctx, "/x").Err(), c.Get(ctx, "/y").Err())
		})
		require.Len(t, errs, 2)
		var ce *user.ConnError
		require.ErrorAs(t, errs[0], &ce)
		assert.Equal(t, "connection refused", ce.Text)
		assert.Equal(t, map[string]int64{"GET /x: connection refused": 1, "GET /y: connection refused": 1}, errorsOf(r.reg.Snapshot()))

		r = k.once(t, tg.URL, func(c httpClient, ctx context.Context) {
			errs = append(errs[:0], c.Get(ctx, "/slow", user.Timeout(50*time.Millisecond)).Err())
			tctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
			defer cancel()
			errs = append(errs, c.Get(tctx, "/slow").Err())
			errs = append(errs, c.Get(tctx, "/ok").Err()) // ctx done: not sent
		})
		require.ErrorAs(t, errs[0], &ce)
		assert.Equal(t, map[string]int64{"GET /slow: timeout after 50ms": 1, "GET /slow: timeout after 1m0s": 1}, errorsOf(r.reg.Snapshot()))
		assert.ErrorIs(t, errs[2], context.DeadlineExceeded)
		assert.Equal(t, 0, tg.count("GET /ok"), "a request whose ctx is done is not sent")
		// Both were written before the client gave up; a busy target may
		// read the second only after that.
		eventually(t, func() bool { return tg.count("GET /slow") == 2 }, "the target saw both /slow requests")
	})
}

// A closed-loop user reads the clock only around its requests (the loop
// reuses their reads), yet a task's own failure is still timed over the
// task, and requests keep their own durations.
func TestClosedLoopTimesTasksFromSharedClockReads(t *testing.T) {
	const work = 100 * time.Millisecond
	forEachClient(t, func(t *testing.T, k clientKind) {
		tg := newTarget(t)
		slowFail := clientTask{run: func(c httpClient, ctx context.Context) error {
			time.Sleep(work)
			return errors.New("bad page")
		}}
		r := k.start(t, tg.URL, 1, true, clientTask{run: getOK.run}, slowFail)
		eventually(t, func() bool {
			e := r.reg.Snapshot().Errors
			return len(e) > 0 && e[0].Occurrences >= 3
		}, "three failed tasks")
		r.stop()
		r.wait(t, 10*time.Second)
		s := r.reg.Snapshot()
		var task *stats.Entry
		for _, e := range s.Entries {
			if e.Method == user.TaskMethod {
				task = e
			}
		}
		require.NotNil(t, task, methods(s))
		assert.GreaterOrEqual(t, task.Min, work, "the failure is timed over the task")
		assert.Less(t, entry(s, "GET", "/ok?id=1").Min, work, "a request is not charged with the next task's work")
	})
}
