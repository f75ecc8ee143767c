package runner

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/user"
)

// WaitState returns when the ramp completes, at the ramp's last step, and
// says what it waited for when ctx ends or the runner quits first.
func TestLocalWaitState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLocal(t, Options{Classes: []user.Spawner{class("A", 1, 0, nil)}})
		defer l.Quit()
		start := time.Now()
		require.NoError(t, l.Start(4, 2)) // steps of 2 users every second: 0 s, 1 s
		require.NoError(t, l.WaitState(t.Context(), StateRunning))
		assert.Equal(t, time.Second, time.Since(start), "running once the last step is spawned")
		assert.Equal(t, 4, l.UserCount())

		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		err := l.WaitState(ctx, StateStopped, StateReady)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.EqualError(t, err, "runner: waiting for states [stopped ready], the runner is running: context deadline exceeded")

		go func() {
			time.Sleep(time.Second)
			l.Quit()
		}()
		err = l.WaitState(t.Context(), StateSpawning)
		require.ErrorIs(t, err, ErrQuit)
		assert.Contains(t, err.Error(), "waiting for state spawning, the runner is stopped")
		require.NoError(t, l.WaitState(t.Context(), StateStopped), "a state reached before the call returns at once")
	})
}
