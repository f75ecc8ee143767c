package runner

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/user"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// record keeps what fake users saw, in spawn (ID) order.
type record struct {
	mu      sync.Mutex
	started map[int]*user.Env
	exited  map[int]error // ctx.Err() when the user returned
}

func newRecord() *record {
	return &record{started: map[int]*user.Env{}, exited: map[int]error{}}
}

func (r *record) start(env *user.Env) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started[env.ID] = env
}

func (r *record) exit(env *user.Env, ctxErr error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exited[env.ID] = ctxErr
}

// order returns the classes of the started users by ID.
func (r *record) order() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]int, 0, len(r.started))
	for id := range r.started {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	var s string
	for _, id := range ids {
		s += r.started[id].Class
	}
	return s
}

func (r *record) exitedIDs() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []int
	for id := range r.exited {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}

// fakeClass is a user.Spawner whose users run behave (default: wait until
// told to stop, like a user between tasks).
type fakeClass struct {
	name          string
	weight, fixed int
	host          string
	noTasks       bool
	rec           *record
	behave        func(ctx context.Context, env *user.Env)
}

func (f *fakeClass) ClassName() string    { return f.name }
func (f *fakeClass) ClassWeight() int     { return f.weight }
func (f *fakeClass) ClassFixedCount() int { return f.fixed }
func (f *fakeClass) ClassHost() string    { return f.host }
func (f *fakeClass) Filter(include, exclude []string) (user.Spawner, error) {
	if f.noTasks {
		return nil, fmt.Errorf("user class %q: no task left", f.name)
	}
	return f, nil
}
func (f *fakeClass) TaskRatio() []user.TaskShare { return nil }
func (f *fakeClass) Run(ctx context.Context, env *user.Env) {
	if f.rec != nil {
		f.rec.start(env)
		defer func() { f.rec.exit(env, ctx.Err()) }()
	}
	if f.behave != nil {
		f.behave(ctx, env)
		return
	}
	select {
	case <-env.Stopping:
	case <-ctx.Done():
	}
}

func class(name string, weight, fixed int, rec *record) *fakeClass {
	return &fakeClass{name: name, weight: weight, fixed: fixed, rec: rec}
}

func newLocal(t *testing.T, o Options) *Local {
	t.Helper()
	l, err := NewLocal(o)
	require.NoError(t, err)
	return l
}

func TestRampKeepsTheMixAndPace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecord()
		l := newLocal(t, Options{Classes: []user.Spawner{class("A", 5, 0, rec), class("B", 1, 0, rec)}})
		defer l.Quit()
		require.Equal(t, StateReady, l.State())
		require.NoError(t, l.Start(12, 2))
		synctest.Wait()
		// 2 users per step, a step per second, the first at once.
		for step := 1; step <= 6; step++ {
			assert.Equal(t, 2*step, l.UserCount(), "after %d steps", step)
			if step < 6 {
				assert.Equal(t, StateSpawning, l.State())
				time.Sleep(time.Second)
				synctest.Wait()
			}
		}
		assert.Equal(t, StateRunning, l.State(), "no sleep after the last step")
		assert.Equal(t, "AAABAAAAABAA", rec.order())
		assert.Equal(t, map[string]int{"A": 10, "B": 2}, l.ClassCounts())
	})
}

func TestSpawnRateArithmetic(t *testing.T) {
	tests := []struct {
		rate  float64
		users int
		// users expected at each checkpoint after the start
		at   []time.Duration
		want []int
		end  time.Duration // when the ramp completes
	}{
		{0.5, 3, []time.Duration{0, 1999 * time.Millisecond, 2 * time.Second, 4 * time.Second}, []int{1, 1, 2, 3}, 4 * time.Second},
		{2.5, 5, []time.Duration{0, 799 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond}, []int{2, 2, 4, 5}, 1600 * time.Millisecond},
		{120, 300, []time.Duration{0, time.Second, 2 * time.Second}, []int{120, 240, 300}, 2 * time.Second},
		{1000, 10, []time.Duration{0}, []int{10}, 0},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.rate), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLocal(t, Options{Classes: []user.Spawner{class("A", 1, 0, nil)}})
				defer l.Quit()
				start := time.Now()
				require.NoError(t, l.Start(tc.users, tc.rate))
				for i, at := range tc.at {
					time.Sleep(time.Until(start.Add(at)))
					synctest.Wait()
					assert.Equal(t, tc.want[i], l.UserCount(), "at %v", at)
				}
				for l.State() == StateSpawning {
					time.Sleep(time.Millisecond)
					synctest.Wait()
				}
				assert.Equal(t, tc.end, time.Since(start).Round(time.Millisecond))
			})
		})
	}
}

func TestFixedCountsFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecord()
		l := newLocal(t, Options{Classes: []user.Spawner{
			class("A", 1, 0, rec), class("B", 1, 0, rec), class("F", 7, 1, rec),
		}})
		defer l.Quit()
		require.NoError(t, l.Start(9, 100))
		synctest.Wait()
		assert.Equal(t, map[string]int{"F": 1, "A": 4, "B": 4}, l.ClassCounts())
		assert.Equal(t, "FABABABAB", rec.order())
	})
}

func TestChangeCountUpAndDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newRecord()
		l := newLocal(t, Options{Classes: []user.Spawner{class("A", 5, 0, rec), class("B", 1, 0, rec)}})
		defer l.Quit()
		require.NoError(t, l.Start(12, 100))
		synctest.Wait()
		require.Equal(t, StateRunning, l.State())

		// Up: the new users keep the mix.
		require.NoError(t, l.Start(24, 100))
		synctest.Wait()
		assert.Equal(t, map[string]int{"A": 20, "B": 4}, l.ClassCounts())
		assert.Equal(t, "AAABAAAAABAA"+"AAABAAAAABAA", rec.order())

		// Down at 2 users per second: the newest go first, the mix holds.
		start := time.Now()
		require.NoError(t, l.Start(6, 2))
		synctest.Wait()
		assert.Equal(t, StateSpawning, l.State())
		assert.Equal(t, 22, l.UserCount())
		assert.Equal(t, []int{22, 23}, rec.exitedIDs(), "the first step stops the two newest users")
		time.Sleep(time.Second)
		synctest.Wait()
		assert.Equal(t, []int{20, 21, 22, 23}, rec.exitedIDs())
		for l.State() == StateSpawning {
			time.Sleep(time.Second)
			synctest.Wait()
			want := max(6, 22-2*int(time.Since(start)/time.Second))
			assert.Equal(t, want, l.UserCount())
		}
		assert.Equal(t, 8*time.Second, time.Since(start), "18 removals, 2 per second, no sleep after the last")
		assert.Equal(t, map[string]int{"A": 5, "B": 1}, l.ClassCounts())
		var want []int
		for id := 6; id < 24; id++ {
			want = append(want, id)
		}
		assert.Equal(t, want, rec.exitedIDs(), "users 6..23 (the newest) stopped")

		// Up again: the sequence numbers freed by the ramp-down are reused.
		require.NoError(t, l.Start(12, 100))
		synctest.Wait()
		seqs := map[string][]int64{}
		rec.mu.Lock()
		for id, env := range rec.started {
			if _, gone := rec.exited[id]; !gone {
				seqs[env.Class] = append(seqs[env.Class], env.Seq)
			}
		}
		rec.mu.Unlock()
		for _, s := range seqs {
			slices.Sort(s)
		}
		assert.Equal(t, map[string][]int64{"A": {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, "B": {0, 1}}, seqs)
	})
}

func TestStartMidRampRedirects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLocal(t, Options{Classes: []user.Spawner{class("A", 1, 0, nil), class("B", 1, 0, nil)}})
		defer l.Quit()
		require.NoError(t, l.Start(100, 10))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		require.Equal(t, 30, l.UserCount())
		require.NoError(t, l.Start(20, 10))
		synctest.Wait()
		assert.Equal(t, 20, l.UserCount())
		assert.Equal(t, StateRunning, l.State())
		assert.Equal(t, map[string]int{"A": 10, "B": 10}, l.ClassCounts())
	})
}

// busy is a user that is in the middle of a task of length d when the test
// stops: it finishes the task unless its context is cancelled first.
func busy(d time.Duration) func(ctx context.Context, env *user.Env) {
	return func(ctx context.Context, env *user.Env) {
		<-env.Stopping
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
}

type gateFunc func(context.Context) (time.Time, bool)

func (g gateFunc) Next(ctx context.Context) (time.Time, bool) { return g(ctx) }

func maps(m map[int]*user.Env) map[int]*user.Env {
	out := make(map[int]*user.Env, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestOptionsAndStartValidation(t *testing.T) {
	_, err := NewLocal(Options{})
	assert.ErrorContains(t, err, "no user classes")
	_, err = NewLocal(Options{Classes: []user.Spawner{class("A", 1, 0, nil), class("A", 1, 0, nil)}})
	assert.ErrorContains(t, err, `"A"`)
	_, err = NewLocal(Options{Classes: []user.Spawner{class("A", 1, 0, nil)}, StopTimeout: -1})
	assert.ErrorContains(t, err, "negative stop timeout")

	empty := class("Empty", 1, 0, nil)
	empty.noTasks = true
	l, err := NewLocal(Options{Classes: []user.Spawner{class("A", 1, 0, nil), empty}, Tags: []string{"x"}})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"A": 0}, l.ClassCounts(), "a class left without tasks is dropped")
	_, err = NewLocal(Options{Classes: []user.Spawner{empty}, ExcludeTags: []string{"x"}})
	assert.ErrorContains(t, err, "no user class has a task left")

	for _, bad := range []struct {
		users int
		rate  float64
	}{{-1, 1}, {1, 0}, {1, -2}, {1, math.NaN()}, {1, math.Inf(1)}} {
		assert.Error(t, l.Start(bad.users, bad.rate), "%v", bad)
	}
	assert.Equal(t, StateReady, l.State())
	l.Quit()
}

func TestResetStats(t *testing.T) {
	for _, reset := range []bool{false, true} {
		t.Run(fmt.Sprint(reset), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				reg := stats.NewRegistry(stats.Options{})
				reg.Record(stats.Sample{Method: "GET", Name: "/before-start", Duration: time.Millisecond})
				l := newLocal(t, Options{Classes: []user.Spawner{class("A", 1, 0, nil)}, Registry: reg, ResetStats: reset})
				defer l.Quit()
				require.NoError(t, l.Start(4, 2))
				synctest.Wait()
				assert.Zero(t, reg.Snapshot().Total.NumRequests, "a fresh test starts with clear stats")
				reg.Record(stats.Sample{Method: "GET", Name: "/while-spawning", Duration: time.Millisecond})
				time.Sleep(time.Second)
				synctest.Wait()
				require.Equal(t, StateRunning, l.State())
				want := int64(1)
				if reset {
					want = 0
				}
				assert.Equal(t, want, reg.Snapshot().Total.NumRequests)
			})
		})
	}
}

func TestRampFollowsSpawnOrder(t *testing.T) {
	tests := []struct {
		weights []int
		n       int
		want    string
	}{
		{[]int{5, 1}, 3, "AAA"},
		{[]int{5, 1}, 4, "AAAB"},
		{[]int{5, 1}, 12, "AAABAAAAABAA"},
		{[]int{1, 4}, 3, "BBA"},       // Targets 1/2: B leaves the rotation once it has its 2
		{[]int{3, 2, 1}, 6, "ABACBA"}, // as SpawnOrder
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.weights, tc.n), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newRecord()
				var classes []user.Spawner
				for i, w := range tc.weights {
					classes = append(classes, class(string(rune('A'+i)), w, 0, rec))
				}
				l := newLocal(t, Options{Classes: classes})
				defer l.Quit()
				require.NoError(t, l.Start(tc.n, 1000))
				synctest.Wait()
				assert.Equal(t, tc.want, rec.order())
			})
		})
	}
}

func TestStartRefusesMoreUsersThanTheLimit(t *testing.T) {
	l := newLocal(t, Options{Classes: []user.Spawner{class("A", 1, 0, nil)}, UserLimit: 3})
	defer l.Quit()
	err := l.Start(4, 100)
	require.ErrorIs(t, err, ErrTooManyUsers)
	assert.Contains(t, err.Error(), "4 users asked for, the limit is 3 (raise it with --user-limit")
	assert.Equal(t, StateReady, l.State(), "nothing started")
	require.NoError(t, l.Start(3, 100))
	assert.ErrorIs(t, checkUserLimit(DefaultUserLimit+1, 0), ErrTooManyUsers, "the default applies when unset")
	assert.NoError(t, checkUserLimit(DefaultUserLimit, 0))
}
