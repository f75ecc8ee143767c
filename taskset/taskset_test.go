package taskset_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/taskset"
)

type shopper struct{ n int }

func (s *shopper) Browse(context.Context) error { s.n++; return nil }
func (s *shopper) Buy(context.Context) error    { return nil }

func noop(*shopper, context.Context) error { return nil }

func task(name string, weight int, tags ...string) taskset.Task[shopper] {
	return taskset.Task[shopper]{Name: name, Weight: weight, Tags: tags, Run: noop}
}

// walk picks n tasks, leaving a nested set whenever a task named
// "interrupt" comes up, and returns the names in order.
func walk(p *taskset.Picker[shopper], n int) []string {
	out := make([]string, 0, n)
	for range n {
		t := p.Next()
		out = append(out, t.Name)
		if t.Name == "interrupt" {
			p.Interrupt()
		}
	}
	return out
}

func counts(names []string) map[string]int {
	m := map[string]int{}
	for _, n := range names {
		m[n]++
	}
	return m
}

func TestWeightedSmoothOrder(t *testing.T) {
	s := taskset.Weighted(task("A", 5), task("B", 1))
	got := strings.Join(walk(s.NewPicker(nil, nil), 12), "")
	assert.Equal(t, "AAABAAAAABAA", got)
}

func TestWeightedExactSharesEveryPhase(t *testing.T) {
	s := taskset.Weighted(task("A", 3), task("B", 2), task("C", 1))
	phases := map[string]bool{}
	for seed := range uint64(50) {
		rnd := rand.New(rand.NewPCG(seed, 1))
		names := walk(s.NewPicker(rnd, nil), 600)
		phases[names[0]+names[1]] = true
		assert.Equal(t, map[string]int{"A": 300, "B": 200, "C": 100}, counts(names), "seed %d", seed)
	}
	assert.Greater(t, len(phases), 1, "users should start at different phases")
}

func TestWeightedReducesByGCD(t *testing.T) {
	s := taskset.Weighted(task("A", 20), task("B", 10))
	assert.Equal(t, "ABAABA", strings.Join(walk(s.NewPicker(nil, nil), 6), ""))
}

func TestSequentialRepeats(t *testing.T) {
	s := taskset.Sequential(task("A", 2), task("B", 0), task("C", 3))
	assert.Equal(t, "AABCCCAABCCC", strings.Join(walk(s.NewPicker(rand.New(rand.NewPCG(1, 2)), nil), 12), ""))
}

func TestNestedInterruptRestartsSequential(t *testing.T) {
	inner := taskset.Sequential(task("x", 1), task("y", 1), task("interrupt", 1))
	s := taskset.Sequential(task("A", 1), taskset.Task[shopper]{Set: inner})
	p := s.NewPicker(nil, nil)
	got := walk(p, 8)
	assert.Equal(t, []string{"A", "x", "y", "interrupt", "A", "x", "y", "interrupt"}, got)
	assert.Equal(t, 0, p.Depth())
}

func TestNestedWeightedCounts(t *testing.T) {
	// The nested set runs until it picks "interrupt" (1 in 4 of its picks).
	inner := taskset.Weighted(task("x", 3), task("interrupt", 1))
	s := taskset.Weighted(task("A", 1), taskset.Task[shopper]{Name: "inner", Set: inner})
	p := s.NewPicker(rand.New(rand.NewPCG(3, 4)), nil)
	c := counts(walk(p, 8000))
	// Every cycle of the top set is A once and one visit of the inner set
	// (x x x interrupt): 5 picks, 1000 cycles... plus the phase.
	assert.InDelta(t, 1600, c["A"], 2)
	assert.InDelta(t, 4800, c["x"], 6)
	assert.InDelta(t, 1600, c["interrupt"], 2)
}

func TestInterruptAtTopIsNoop(t *testing.T) {
	s := taskset.Weighted(task("A", 1))
	p := s.NewPicker(nil, nil)
	p.Next()
	assert.False(t, p.Interrupt())
	assert.Equal(t, "A", p.Next().Name)
}

type constWait time.Duration

func (c constWait) NewWaiter(*rand.Rand) taskset.Waiter { return c }
func (c constWait) Pause(_, _ time.Time) time.Duration  { return time.Duration(c) }

func TestNestedWaitOwnOrInherited(t *testing.T) {
	own := taskset.Sequential(task("own", 1)).WithWait(constWait(7))
	inh := taskset.Sequential(task("inh", 1))
	s := taskset.Sequential(task("top", 1), taskset.Task[shopper]{Set: own}, taskset.Task[shopper]{Set: inh})
	p := s.NewPicker(nil, constWait(3))
	now := time.Now()
	assert.Equal(t, "top", p.Next().Name)
	assert.Equal(t, 3*time.Nanosecond, p.Waiter().Pause(now, now))
	assert.Equal(t, "own", p.Next().Name)
	assert.Equal(t, 7*time.Nanosecond, p.Waiter().Pause(now, now))
	require.True(t, p.Interrupt())
	assert.Equal(t, "inh", p.Next().Name)
	assert.Equal(t, 3*time.Nanosecond, p.Waiter().Pause(now, now))
	assert.Equal(t, 1, p.Depth())
	// No wait strategy at all: never waits.
	q := s.NewPicker(nil, nil)
	q.Next()
	assert.Equal(t, time.Duration(0), q.Waiter().Pause(now, now))
}

func TestFilterTags(t *testing.T) {
	inner := taskset.Weighted(task("x", 1, "slow"), task("y", 1)).WithTags("inner")
	s := taskset.Weighted(
		task("a", 1, "fast"),
		task("b", 2, "slow", "write"),
		task("c", 1),
		taskset.Task[shopper]{Name: "nested", Set: inner, Tags: []string{"n"}},
	)
	names := func(s *taskset.Set[shopper]) []string {
		var out []string
		for _, t := range s.Tasks() {
			if t.Set != nil {
				for _, n := range t.Set.Tasks() {
					out = append(out, t.Name+"/"+n.Name)
				}
				continue
			}
			out = append(out, t.Name)
		}
		return out
	}
	cases := []struct {
		name             string
		include, exclude []string
		want             []string
		ok               bool
	}{
		{"none", nil, nil, []string{"a", "b", "c", "nested/x", "nested/y"}, true},
		{"include any", []string{"fast", "write"}, nil, []string{"a", "b"}, true},
		{"include nested task", []string{"slow"}, nil, []string{"b", "nested/x"}, true},
		{"include set tag", []string{"inner"}, nil, []string{"nested/x", "nested/y"}, true},
		{"include task-of-set tag", []string{"n"}, nil, []string{"nested/x", "nested/y"}, true},
		{"exclude any", nil, []string{"slow", "fast"}, []string{"c", "nested/y"}, true},
		{"exclude drops empty set", nil, []string{"inner"}, []string{"a", "b", "c"}, true},
		{"both", []string{"slow"}, []string{"write"}, []string{"nested/x"}, true},
		{"nothing left", []string{"nope"}, nil, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := s.Filter(tc.include, tc.exclude)
			require.Equal(t, tc.ok, ok)
			if !ok {
				assert.Nil(t, f)
				return
			}
			assert.Equal(t, tc.want, names(f))
			// Filtered sets keep picking by weight.
			require.NotNil(t, f.NewPicker(nil, nil).Next())
		})
	}
	assert.Equal(t, 4, s.Len(), "Filter must not modify its receiver")
}

func TestFilterKeepsWeights(t *testing.T) {
	s := taskset.Weighted(task("a", 3, "k"), task("b", 1), task("c", 1, "k"))
	f, ok := s.Filter([]string{"k"}, nil)
	require.True(t, ok)
	assert.Equal(t, map[string]int{"a": 300, "c": 100}, counts(walk(f.NewPicker(nil, nil), 400)))
}

func TestNames(t *testing.T) {
	sh := &shopper{}
	s := taskset.Weighted(
		taskset.Task[shopper]{Run: (*shopper).Browse},
		taskset.Task[shopper]{Run: func(u *shopper, ctx context.Context) error { return sh.Buy(ctx) }},
		taskset.Task[shopper]{Set: taskset.Sequential(task("x", 1))},
		taskset.Task[shopper]{Set: taskset.Weighted(task("x", 1)).WithName("Checkout")},
	)
	ts := s.Tasks()
	assert.Equal(t, "Browse", ts[0].Name)
	assert.Equal(t, "func1", ts[1].Name)
	assert.Equal(t, "SequentialTaskSet", ts[2].Name)
	assert.Equal(t, "Checkout", ts[3].Name)
	assert.Equal(t, "Buy", taskset.FuncName(sh.Buy))
	assert.Equal(t, "", taskset.FuncName(nil))
}

func TestRatio(t *testing.T) {
	s := taskset.Weighted(task("a", 3), taskset.Task[shopper]{Name: "n", Set: taskset.Sequential(task("x", 1), task("y", 3))})
	r := s.Ratio()
	require.Len(t, r, 2)
	assert.Equal(t, taskset.Share{Name: "a", Share: 0.75}, r[0])
	assert.Equal(t, "n", r[1].Name)
	assert.InDelta(t, 0.25, r[1].Share, 1e-12)
	assert.Equal(t, []taskset.Share{{Name: "x", Share: 0.25}, {Name: "y", Share: 0.75}}, r[1].Nested)
}

func TestBuildPanics(t *testing.T) {
	set := taskset.Weighted(task("x", 1))
	assert.PanicsWithValue(t, `taskset: task 0 ("bad") has both Run and Set`, func() {
		taskset.Weighted(taskset.Task[shopper]{Name: "bad", Run: noop, Set: set})
	})
	assert.Panics(t, func() { taskset.Weighted(taskset.Task[shopper]{}) })
	assert.Panics(t, func() { taskset.Sequential(task("neg", -1)) })
	assert.Panics(t, func() { taskset.Weighted(taskset.Task[shopper]{Set: taskset.Weighted[shopper]()}) })
	assert.Panics(t, func() { taskset.Weighted(task("a", 1<<20), task("b", 1<<20+1)) })
}

func TestEmptySet(t *testing.T) {
	s := taskset.Weighted[shopper]()
	_, ok := s.Filter(nil, nil)
	assert.False(t, ok)
	assert.Nil(t, s.NewPicker(nil, nil).Next())
	assert.Nil(t, s.Ratio())
}

func TestWithDoesNotModify(t *testing.T) {
	s := taskset.Weighted(task("a", 1))
	w := s.WithWait(constWait(1)).WithTags("t").WithName("n")
	assert.Nil(t, s.Wait())
	assert.Equal(t, "TaskSet", s.Name())
	assert.Equal(t, "n", w.Name())
	_, ok := s.Filter([]string{"t"}, nil)
	assert.False(t, ok)
	_, ok = w.Filter([]string{"t"}, nil)
	assert.True(t, ok)
}

func TestWaitFunc(t *testing.T) {
	w := taskset.WaitFunc(func(_ *rand.Rand, s, e time.Time) time.Duration { return e.Sub(s) * 2 })
	now := time.Now()
	assert.Equal(t, 2*time.Second, w.NewWaiter(nil).Pause(now, now.Add(time.Second)))
}

func TestPickerNextAllocatesNothing(t *testing.T) {
	inner := taskset.Sequential(task("x", 1), task("interrupt", 1))
	s := taskset.Weighted(task("a", 2), task("b", 1), taskset.Task[shopper]{Set: inner})
	p := s.NewPicker(rand.New(rand.NewPCG(1, 1)), constWait(0))
	walk(p, 10)
	allocs := testing.AllocsPerRun(1000, func() {
		t := p.Next()
		_ = p.Waiter()
		if t.Name == "interrupt" {
			p.Interrupt()
		}
	})
	assert.Zero(t, allocs)
}

func BenchmarkPickerNext(b *testing.B) {
	s := taskset.Weighted(task("a", 5), task("b", 3), task("c", 1))
	p := s.NewPicker(nil, nil)
	b.ReportAllocs()
	for b.Loop() {
		p.Next()
	}
}
