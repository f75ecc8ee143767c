package runner

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/user"
)

// engine is what Local and Master share through the one lifecycle
// (lifecycle.go): a Driver that can be waited on.
type engine interface {
	Driver
	WaitState(ctx context.Context, states ...State) error
	Done() <-chan struct{}
	Registry() *stats.Registry
}

// The local runner and the master go through the same lifecycle: the
// same states for the same calls, a fresh test (from ready or stopped)
// clears the stats where a change of the user count does not, Stop ends
// in stopped, and after Quit every Start and every wait for another
// state fails with ErrQuit. The master's users run on a worker over the
// real transport on 127.0.0.1.
func TestLocalAndMasterShareOneLifecycle(t *testing.T) {
	classes := func() []user.Spawner { return []user.Spawner{class("A", 3, 0, nil), class("B", 1, 0, nil)} }
	for _, tc := range []struct {
		name string
		make func(t *testing.T) engine
	}{
		{"local", func(t *testing.T) engine { return newLocal(t, Options{Classes: classes()}) }},
		{"master", func(t *testing.T) engine {
			m := startMaster(t, MasterOptions{Classes: classes()})
			startWorker(t, m.Addr(), WorkerOptions{Classes: classes()})
			waitWorkers(t, m, 1)
			return m
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.make(t)
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			sample := stats.Sample{Method: "GET", Name: "/x", Duration: time.Millisecond}
			requests := func() int64 { return e.Registry().Snapshot().Total.NumRequests }

			assert.Equal(t, StateReady, e.State())
			require.NoError(t, e.Start(4, 1000))
			require.NoError(t, e.WaitState(ctx, StateRunning))
			waitFor(t, "4 users, 3 of A", func() bool {
				return e.UserCount() == 4 && maps2eq(e.ClassCounts(), map[string]int{"A": 3, "B": 1})
			})

			e.Registry().Record(sample)
			require.NoError(t, e.Start(8, 1000), "a change of the user count")
			require.NoError(t, e.WaitState(ctx, StateRunning))
			waitFor(t, "8 users", func() bool { return e.UserCount() == 8 })
			assert.Equal(t, int64(1), requests(), "a change of the user count keeps the stats")

			e.Stop()
			assert.Equal(t, StateStopped, e.State())
			require.NoError(t, e.WaitState(ctx, StateStopped), "a state already reached returns at once")
			waitFor(t, "no users", func() bool { return e.UserCount() == 0 })
			e.Stop() // no test runs: returns at once
			assert.Equal(t, StateStopped, e.State())

			require.NoError(t, e.Start(2, 1000), "a fresh test from stopped")
			assert.Zero(t, requests(), "a fresh test clears the stats")
			require.NoError(t, e.WaitState(ctx, StateRunning))
			waitFor(t, "2 users", func() bool { return e.UserCount() == 2 })

			e.Quit()
			select {
			case <-e.Done():
			default:
				t.Fatal("Done is not closed after Quit")
			}
			assert.Equal(t, StateStopped, e.State(), "Quit stops the test")
			assert.ErrorIs(t, e.Start(1, 1), ErrQuit)
			err := e.WaitState(ctx, StateRunning)
			require.ErrorIs(t, err, ErrQuit)
			assert.Contains(t, err.Error(), "waiting for state running, the runner is stopped")
			e.Quit() // a second Quit returns at once
		})
	}
}
