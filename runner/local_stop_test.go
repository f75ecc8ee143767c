// Tests of how a Local stops: graceful and hard stops, stop timeouts,
// users ending by themselves, hooks, and the Env each user gets.

package runner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/user"
)

func TestStop(t *testing.T) {
	tests := []struct {
		name        string
		stopTimeout time.Duration
		task        time.Duration
		took        time.Duration
		cancelled   bool
	}{
		{"no timeout cancels at once", 0, 3 * time.Second, 0, true},
		{"tasks finish within the timeout", 5 * time.Second, 2 * time.Second, 2 * time.Second, false},
		{"timeout cancels long tasks", time.Second, 3 * time.Second, time.Second, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newRecord()
				c := class("A", 1, 0, rec)
				c.behave = busy(tc.task)
				var stops int
				l := newLocal(t, Options{
					Classes:     []user.Spawner{c},
					StopTimeout: tc.stopTimeout,
					OnTestStop:  func(context.Context) error { stops++; return nil },
				})
				require.NoError(t, l.Start(5, 100))
				synctest.Wait()
				start := time.Now()
				l.Stop()
				assert.Equal(t, tc.took, time.Since(start))
				assert.Equal(t, StateStopped, l.State())
				assert.Equal(t, 0, l.UserCount())
				assert.Equal(t, 1, stops)
				rec.mu.Lock()
				require.Len(t, rec.exited, 5)
				for id, err := range rec.exited {
					assert.Equal(t, tc.cancelled, err != nil, "user %d", id)
				}
				rec.mu.Unlock()
				l.Stop() // a second Stop is a no-op
				assert.Equal(t, 1, stops)
				l.Quit()
				<-l.Done()
			})
		})
	}
}

func TestRampDownHonoursStopTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecord()
		c := class("A", 1, 0, rec)
		c.behave = busy(10 * time.Second)
		l := newLocal(t, Options{Classes: []user.Spawner{c}, StopTimeout: 2 * time.Second})
		defer l.Quit()
		require.NoError(t, l.Start(4, 100))
		synctest.Wait()
		require.NoError(t, l.Start(1, 100))
		synctest.Wait()
		assert.Equal(t, 1, l.UserCount(), "removed users no longer count")
		assert.Equal(t, StateRunning, l.State())
		assert.Empty(t, rec.exitedIDs(), "removed users finish their task within the stop timeout")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.Equal(t, []int{1, 2, 3}, rec.exitedIDs())
	})
}

func TestUserIgnoringItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zapcore.WarnLevel)
		release := make(chan struct{})
		stubborn := class("Stubborn", 1, 0, nil)
		stubborn.behave = func(ctx context.Context, env *user.Env) { <-release }
		polite := class("Polite", 1, 0, nil)
		l := newLocal(t, Options{
			Classes:     []user.Spawner{stubborn, polite},
			Logger:      zap.New(core),
			StopTimeout: time.Second,
			StopGrace:   500 * time.Millisecond,
		})
		require.NoError(t, l.Start(4, 100))
		synctest.Wait()
		start := time.Now()
		l.Stop()
		assert.Equal(t, 1500*time.Millisecond+user.OnStopGrace, time.Since(start), "stop timeout, OnStop grace and stop grace, then give up")
		assert.Equal(t, StateStopped, l.State())
		entries := logs.FilterMessageSnippet("did not stop").All()
		require.Len(t, entries, 1)
		assert.Equal(t, int64(2), entries[0].ContextMap()["users"])
		close(release)
		<-l.pool.idleChan()
		l.Quit()
	})
}

func TestStopDuringSpawning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLocal(t, Options{Classes: []user.Spawner{class("A", 1, 0, nil)}})
		require.NoError(t, l.Start(100, 1))
		time.Sleep(3 * time.Second)
		synctest.Wait()
		require.Equal(t, 4, l.UserCount())
		l.Stop()
		assert.Equal(t, StateStopped, l.State())
		time.Sleep(10 * time.Second)
		synctest.Wait()
		assert.Equal(t, 0, l.UserCount(), "the ramp ended with the stop")
		l.Quit()
	})
}

func TestStopTestSignal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := class("A", 1, 0, nil)
		c.behave = func(ctx context.Context, env *user.Env) {
			if env.ID == 2 {
				env.StopTest(fmt.Errorf("out of data: %w", user.ErrStopTest))
				return
			}
			<-env.Stopping
		}
		l := newLocal(t, Options{Classes: []user.Spawner{c}})
		defer l.Quit()
		require.NoError(t, l.Start(5, 100))
		synctest.Wait()
		select {
		case err := <-l.StopTest():
			assert.ErrorIs(t, err, user.ErrStopTest)
			assert.Contains(t, err.Error(), "out of data")
		default:
			t.Fatal("no StopTest signal")
		}
		assert.Equal(t, 4, l.UserCount(), "the user that ended is not counted")
		assert.Equal(t, StateRunning, l.State(), "the owner decides to stop")
	})
}

func TestUsersEndingByThemselvesAreNotReplaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var runs int
		var mu sync.Mutex
		c := class("A", 1, 0, nil)
		c.behave = func(ctx context.Context, env *user.Env) {
			mu.Lock()
			runs++
			mu.Unlock()
		}
		p := class("P", 1, 0, nil)
		p.behave = func(ctx context.Context, env *user.Env) { panic("boom") }
		l := newLocal(t, Options{Classes: []user.Spawner{c, p}})
		defer l.Quit()
		require.NoError(t, l.Start(10, 4))
		time.Sleep(5 * time.Second)
		synctest.Wait()
		assert.Equal(t, StateRunning, l.State())
		assert.Equal(t, 0, l.UserCount())
		assert.Equal(t, 5, runs)
	})
}

func TestHooksAndFreshStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts, stops int
		fail := true
		l := newLocal(t, Options{
			Classes: []user.Spawner{class("A", 1, 0, nil)},
			OnTestStart: func(ctx context.Context) error {
				starts++
				if fail {
					return errors.New("no database")
				}
				return nil
			},
			OnTestStop: func(ctx context.Context) error { stops++; return errors.New("logged only") },
		})
		err := l.Start(2, 10)
		require.ErrorContains(t, err, "no database")
		assert.Equal(t, StateReady, l.State())
		assert.Equal(t, 0, l.UserCount())

		fail = false
		require.NoError(t, l.Start(2, 10))
		require.NoError(t, l.Start(4, 10)) // a change of count: no hook
		synctest.Wait()
		assert.Equal(t, 2, starts)
		l.Stop()
		assert.Equal(t, 1, stops)
		require.NoError(t, l.Start(1, 10)) // a new test
		synctest.Wait()
		assert.Equal(t, 3, starts)
		l.Quit()
		assert.Equal(t, 2, stops)
		assert.ErrorIs(t, l.Start(1, 1), ErrQuit)
		select {
		case <-l.Done():
		default:
			t.Fatal("Done not closed after Quit")
		}
		l.Quit() // idempotent
	})
}

func TestEnv(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecord()
		a := class("A", 1, 0, rec)
		a.host = "http://127.0.0.1:1"
		b := class("B", 1, 0, rec)
		b.host = "http://127.0.0.1:2"
		reg := stats.NewRegistry(stats.Options{})
		gate := gateFunc(func(context.Context) (time.Time, bool) { return time.Time{}, true })
		run := func(host string, seed uint64) map[int]*user.Env {
			rec.mu.Lock()
			clear(rec.started)
			clear(rec.exited)
			rec.mu.Unlock()
			l := newLocal(t, Options{Classes: []user.Spawner{a, b}, Registry: reg, Host: host, Seed: seed, Gate: gate})
			require.NoError(t, l.Start(6, 100))
			synctest.Wait()
			l.Quit()
			rec.mu.Lock()
			defer rec.mu.Unlock()
			return maps(rec.started)
		}
		envs := run("", 42)
		require.Len(t, envs, 6)
		seqs := map[string][]int64{}
		for id, env := range envs {
			assert.Equal(t, id, env.ID)
			assert.Same(t, reg, env.Stats)
			assert.NotNil(t, env.Logger)
			assert.NotNil(t, env.Rand)
			assert.NotNil(t, env.Stopping)
			assert.NotNil(t, env.StopTest)
			assert.NotNil(t, env.Gate)
			want := map[string]string{"A": a.host, "B": b.host}[env.Class]
			assert.Equal(t, want, env.Host, "class host without a run host")
			seqs[env.Class] = append(seqs[env.Class], env.Seq)
		}
		for _, s := range seqs {
			slices.Sort(s)
		}
		assert.Equal(t, map[string][]int64{"A": {0, 1, 2}, "B": {0, 1, 2}}, seqs)

		// The same seed gives every user the same stream again; users differ.
		first := map[int]uint64{}
		for id, env := range envs {
			first[id] = env.Rand.Uint64()
		}
		again := run("http://127.0.0.1:9", 42)
		for id, env := range again {
			assert.Equal(t, first[id], env.Rand.Uint64(), "user %d", id)
			assert.Equal(t, "http://127.0.0.1:9", env.Host, "the run host wins")
		}
		assert.NotEqual(t, first[0], first[1])
		other := run("", 43)
		assert.NotEqual(t, first[0], other[0].Rand.Uint64())
	})
}
