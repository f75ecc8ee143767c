package user_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// runSeeded runs one traced user of c to its end with Env.Rand seeded by
// seed, on the test's goroutine.
func runSeeded[U any](t *testing.T, c user.Class[U], host string, seed uint64) {
	t.Helper()
	c.Traceparent = true
	env := &user.Env{Class: c.ClassName(), Host: host, Stats: stats.NewRegistry(stats.Options{}),
		Stopping: make(chan struct{}), StopTest: func(error) {}, Rand: rand.New(rand.NewPCG(seed, 7))}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c.Run(ctx, env)
	require.NoError(t, ctx.Err(), "the user ended by itself")
}

// The trace ids are drawn from the user's own random source, Env.Rand,
// not from a shared one: a user seeded alike sends the same ids, call for
// call, and one seeded otherwise sends others. Each case runs one user
// three times against a target that logs what it received.
func TestTraceIDsComeFromTheUsersOwnRandomSource(t *testing.T) {
	type sent func(t *testing.T, seed uint64) []string
	http := func(t *testing.T, seed uint64) []string {
		l, host := newHeaderLog(t)
		runSeeded(t, user.Class[fastUser]{Tasks: taskset.Weighted(taskset.Task[fastUser]{Name: "t",
			Run: func(u *fastUser, ctx context.Context) error { traceTask(&u.HTTP, ctx); return user.ErrStopUser }})}, host, seed)
		return l.get("/t")
	}
	netHTTP := func(t *testing.T, seed uint64) []string {
		l, host := newHeaderLog(t)
		runSeeded(t, user.Class[netUser]{Tasks: taskset.Weighted(taskset.Task[netUser]{Name: "t",
			Run: func(u *netUser, ctx context.Context) error { traceTask(&u.NetHTTP, ctx); return user.ErrStopUser }})}, host, seed)
		return l.get("/t")
	}
	grpc := func(t *testing.T, seed uint64) []string {
		g := newTraceLog(t)
		runSeeded(t, user.Class[tracedProber]{Tasks: taskset.Weighted(taskset.Task[tracedProber]{Name: "run", Run: (*tracedProber).Run})},
			"grpc://"+g.addr, seed)
		return g.log()
	}
	for name, f := range map[string]sent{"HTTP": http, "NetHTTP": netHTTP, "GRPC": grpc} {
		t.Run(name, func(t *testing.T) {
			a, again, other := f(t, 1), f(t, 1), f(t, 2)
			require.Len(t, a, 30)
			distinct := map[string]bool{}
			for _, tp := range a {
				require.Regexp(t, `^00-[0-9a-f]{32}-[0-9a-f]{16}-01$`, tp)
				distinct[tp[3:35]] = true
			}
			assert.Len(t, distinct, 30, "a fresh trace id per call")
			assert.Equal(t, a, again, "the same seed gives the same ids, call for call")
			require.Len(t, other, 30)
			for _, tp := range other {
				assert.False(t, distinct[tp[3:35]], "another seed gives other ids: %s", tp)
			}
		})
	}
}
