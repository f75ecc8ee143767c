package runner

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

type shopper struct{ user.HTTP }

func (s *shopper) Browse(ctx context.Context) error {
	return s.Get(ctx, "/item?id=7", user.Name("/item")).Err()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A real user class against a counting server on 127.0.0.1: the stats
// count exactly the requests the server saw, across a ramp up, a ramp down
// and a graceful stop.
func TestRealUsersAgainstLocalServer(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()

	reg := stats.NewRegistry(stats.Options{})
	browse := user.Class[shopper]{
		Name:  "Shopper",
		Wait:  user.Constant(5 * time.Millisecond),
		Tasks: taskset.Weighted(taskset.Task[shopper]{Run: (*shopper).Browse}),
	}
	l := newLocal(t, Options{Classes: []user.Spawner{browse}, Registry: reg, Host: srv.URL, StopTimeout: 5 * time.Second})
	require.NoError(t, l.Start(6, 100))
	waitFor(t, "running", func() bool { return l.State() == StateRunning })
	waitFor(t, "requests", func() bool { return served.Load() >= 100 })
	require.NoError(t, l.Start(2, 100))
	waitFor(t, "ramp-down", func() bool { return l.State() == StateRunning && l.UserCount() == 2 })
	l.Stop()
	l.Quit()

	snap := reg.Snapshot()
	require.Len(t, snap.Entries, 1)
	e := snap.Entries[0]
	assert.Equal(t, "GET", e.Method)
	assert.Equal(t, "/item", e.Name)
	assert.Zero(t, e.NumFailures)
	assert.Equal(t, served.Load(), e.NumRequests, "stats count what the server saw")
}

func TestRealUserStopsTheTest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	// Exactly one user stops the test: the first to run the task. (Picking
	// it by Env.Seq == 0 let a number freed by the leaver be handed to a
	// user spawned after it, which left too.)
	var left atomic.Bool
	leaveOnce := func(*shopper, context.Context) error {
		if left.CompareAndSwap(false, true) {
			return user.ErrStopTest
		}
		return nil
	}
	leave := user.Class[shopper]{
		Name:  "Leaver",
		Wait:  user.Constant(10 * time.Millisecond),
		Tasks: taskset.Weighted(taskset.Task[shopper]{Run: leaveOnce}),
	}
	l := newLocal(t, Options{Classes: []user.Spawner{leave}, Host: srv.URL})
	defer l.Quit()
	require.NoError(t, l.Start(3, 100))
	select {
	case err := <-l.StopTest():
		assert.ErrorIs(t, err, user.ErrStopTest)
	case <-time.After(10 * time.Second):
		t.Fatal("no StopTest signal")
	}
	waitFor(t, "the leaver gone", func() bool { return l.UserCount() == 2 })
	assert.Equal(t, 2, l.UserCount(), "the leaver is not replaced")
}

// logoutUser logs out in OnStop; its task leaves a request in flight.
type logoutUser struct{ user.HTTP }

func (s *logoutUser) Browse(ctx context.Context) error { return s.Get(ctx, "/slow").Err() }
func (s *logoutUser) OnStop(ctx context.Context) error { return s.Post(ctx, "/logout").Err() }

// With the default --stop-timeout 0, users removed by a ramp-down and users
// stopped at the end of the run still log out: OnStop's requests reach the
// target and are recorded, though the stop cut the users' tasks off.
func TestOnStopRequestsAreSentAndRecordedWithoutStopTimeout(t *testing.T) {
	var slow, logouts atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			slow.Add(1)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/logout":
			logouts.Add(1)
		}
	}))
	defer srv.Close()
	defer close(release)

	reg := stats.NewRegistry(stats.Options{})
	c := user.Class[logoutUser]{Tasks: taskset.Weighted(taskset.Task[logoutUser]{Run: (*logoutUser).Browse})}
	l := newLocal(t, Options{Classes: []user.Spawner{c}, Registry: reg, Host: srv.URL})
	require.NoError(t, l.Start(6, 100))
	waitFor(t, "6 requests in flight", func() bool { return slow.Load() == 6 })
	require.NoError(t, l.Start(2, 100))
	waitFor(t, "4 logouts after the ramp-down", func() bool { return logouts.Load() == 4 })
	l.Stop()
	assert.EqualValues(t, 6, logouts.Load(), "every user logged out")
	l.Quit()

	var logout *stats.Entry
	for _, e := range reg.Snapshot().Entries {
		if e.Method == "POST" && e.Name == "/logout" {
			logout = e
		}
	}
	require.NotNil(t, logout)
	assert.EqualValues(t, 6, logout.NumRequests)
	assert.Zero(t, logout.NumFailures)
}
