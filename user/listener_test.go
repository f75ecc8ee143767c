package user_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// listened does one GET, one failing GET, one custom call and one failing
// task per cycle, and stops after limit task runs.
type listened struct {
	user.HTTP
	runs int
}

const listenedLimit = 40

func (l *listened) step(ctx context.Context, f func(ctx context.Context) error) error {
	l.runs++
	err := f(ctx)
	if l.runs >= listenedLimit {
		return user.ErrStopUser
	}
	return err
}

func (l *listened) OK(ctx context.Context) error {
	return l.step(ctx, func(ctx context.Context) error { return l.Get(ctx, "/ok").Err() })
}

func (l *listened) Fail(ctx context.Context) error {
	return l.step(ctx, func(ctx context.Context) error { return l.Get(ctx, "/fail").Err() })
}

func (l *listened) Custom(ctx context.Context) error {
	return l.step(ctx, func(context.Context) error {
		user.Record(l.Env(), "CUSTOM", "op", 3*time.Millisecond, 42, nil)
		return nil
	})
}

func (l *listened) Broken(ctx context.Context) error {
	return l.step(ctx, func(context.Context) error { return errors.New("no stock") })
}

// The listener is called once for every recorded sample, with what the
// stats recorded (method, name, size, verdict), on the user that made it.
func TestRequestListenerSeesEveryRecordedRequest(t *testing.T) {
	tg := newTarget(t)
	reg := stats.NewRegistry(stats.Options{})
	var mu sync.Mutex // the test's own; the library takes no lock
	var events []user.RequestEvent
	listener := func(e user.RequestEvent) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	c := user.Class[listened]{Name: "Listened", Tasks: taskset.Sequential(
		taskset.Task[listened]{Run: (*listened).OK},
		taskset.Task[listened]{Run: (*listened).Fail},
		taskset.Task[listened]{Run: (*listened).Custom},
		taskset.Task[listened]{Run: (*listened).Broken},
	)}
	const users = 3
	var wg sync.WaitGroup
	for i := range users {
		env := &user.Env{ID: i, Class: c.ClassName(), Host: tg.URL, Stats: reg, Seq: int64(i),
			Rand: rand.New(rand.NewPCG(uint64(i), 1)), OnRequest: listener}
		wg.Go(func() { c.Run(context.Background(), env) })
	}
	wg.Wait()

	s := reg.Snapshot()
	require.EqualValues(t, s.Total.NumRequests, len(events), methods(s))
	// 40 task runs per user, one sample each, but the last run (Broken)
	// returns ErrStopUser instead of its error.
	assert.EqualValues(t, users*(listenedLimit-1), len(events))
	byKey := map[string]int64{}
	perUser := map[*listened]int{}
	ids := map[int]*listened{}
	for _, e := range events {
		byKey[e.Method+" "+e.Name]++
		require.NotNil(t, e.Env)
		assert.Equal(t, "Listened", e.Env.Class)
		u, ok := e.User.(*listened)
		require.True(t, ok, "User is the user's own *listened, got %T", e.User)
		perUser[u]++
		if prev, seen := ids[e.Env.ID]; seen {
			assert.Same(t, prev, u, "one user value per Env")
		}
		ids[e.Env.ID] = u
		switch e.Method + " " + e.Name {
		case "GET /ok":
			assert.NoError(t, e.Err)
			assert.EqualValues(t, len("hello"), e.Size)
			assert.Positive(t, e.Duration)
		case "GET /fail":
			assert.EqualError(t, e.Err, "HTTP 503 Service Unavailable")
		case "CUSTOM op":
			assert.NoError(t, e.Err)
			assert.Equal(t, 3*time.Millisecond, e.Duration)
			assert.EqualValues(t, 42, e.Size)
		case "task Broken":
			assert.EqualError(t, e.Err, "no stock")
		default:
			t.Errorf("unexpected event %v", e)
		}
	}
	assert.Len(t, perUser, users)
	for _, e := range s.Entries {
		assert.Equal(t, e.NumRequests, byKey[e.Method+" "+e.Name], "%s %s", e.Method, e.Name)
	}
	assert.EqualValues(t, tg.count("GET /ok"), byKey["GET /ok"])
	assert.EqualValues(t, tg.count("GET /fail"), byKey["GET /fail"])
}

type listenRecorder struct{ user.Base }

// A listener that panics is recovered: the panic is an exception, the
// request is still in the stats and the user carries on.
func TestRequestListenerPanicIsRecordedAndUserCarriesOn(t *testing.T) {
	reg := stats.NewRegistry(stats.Options{})
	runs := 0
	c := user.Class[listenRecorder]{Tasks: taskset.Weighted(taskset.Task[listenRecorder]{Name: "rec",
		Run: func(r *listenRecorder, _ context.Context) error {
			user.Record(r.Env(), "X", "op", time.Millisecond, 1, nil)
			if runs++; runs == 10 {
				return user.ErrStopUser
			}
			return nil
		}})}
	env := &user.Env{Stats: reg, OnRequest: func(user.RequestEvent) { panic("listener broke") }}
	c.Run(context.Background(), env)

	s := reg.Snapshot()
	assert.EqualValues(t, 10, s.Total.NumRequests)
	assert.Zero(t, s.Total.NumFailures)
	require.Len(t, s.Exceptions, 1)
	assert.EqualValues(t, 10, s.Exceptions[0].Count)
	assert.Equal(t, "listener broke", s.Exceptions[0].Message)
	assert.Contains(t, s.Exceptions[0].Traceback, "TestRequestListenerPanicIsRecordedAndUserCarriesOn")
}

// Record with an Env that no user runs still reaches the listener, with a
// nil User.
func TestRequestListenerOutsideAUser(t *testing.T) {
	var got []user.RequestEvent
	env := &user.Env{OnRequest: func(e user.RequestEvent) { got = append(got, e) }}
	user.Record(env, "X", "op", time.Second, 7, nil)
	require.Len(t, got, 1)
	assert.Nil(t, got[0].User)
	assert.Equal(t, "X op 1s 7B ok", got[0].String())
}

// BenchmarkUserLoopWithListener is BenchmarkUserLoop with a request
// listener set: the event is passed by value, so a listener that keeps
// nothing costs no allocation either.
func BenchmarkUserLoopWithListener(b *testing.B) {
	reg := stats.NewRegistry(stats.Options{})
	c := user.Class[limitUser]{
		Wait: user.Constant(0),
		Tasks: taskset.Weighted(
			taskset.Task[limitUser]{Name: "custom", Run: func(u *limitUser, ctx context.Context) error { return u.Custom(ctx) }},
		),
	}
	reg.Record(stats.Sample{Method: "X", Name: "op", Duration: time.Millisecond})
	var bytes int64
	benchLimit = b.N
	b.ReportAllocs()
	b.ResetTimer()
	c.Run(context.Background(), &user.Env{Host: "http://127.0.0.1:1", Stats: reg,
		OnRequest: func(e user.RequestEvent) { bytes += e.Size }})
	b.StopTimer()
	if bytes != 100*int64(b.N) {
		b.Fatalf("listener saw %d bytes, want %d", bytes, 100*b.N)
	}
}
