package taskset_test

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/taskset"
)

func state(m *taskset.Markov[shopper], name string) *taskset.State[shopper] {
	return m.StateOf(taskset.Task[shopper]{Name: name, Run: noop})
}

// shop is the chain used by most tests:
//
//	index -> browse (1)
//	browse -> index (3), browse (1), cart (1)
//	cart -> index (1), checkout (1)
//	checkout -> index (1)
func shop() *taskset.Set[shopper] {
	m := taskset.NewMarkov[shopper]()
	index := state(m, "index")
	browse := state(m, "browse")
	cart := state(m, "cart")
	checkout := state(m, "checkout")
	index.To(browse, 1)
	browse.To(index, 3).To(browse, 1).To(cart, 1)
	cart.To(index, 1).To(checkout, 1)
	checkout.To(index, 1)
	return m.Set()
}

// withinSigmas asserts that got successes out of n trials agree with
// probability p to within 5 binomial standard deviations.
func withinSigmas(t *testing.T, got, n int, p float64, what string) {
	t.Helper()
	sigma := math.Sqrt(float64(n) * p * (1 - p))
	assert.InDelta(t, p*float64(n), float64(got), 5*sigma+1, "%s: %d of %d, want p=%.3f", what, got, n, p)
}

func TestMarkovStartsAtTheFirstState(t *testing.T) {
	s := shop()
	for seed := range uint64(20) {
		p := s.NewPicker(rand.New(rand.NewPCG(seed, 7)), nil)
		assert.Equal(t, "index", p.Next().Name, "seed %d", seed)
		assert.Equal(t, "browse", p.Next().Name, "index has a single transition (seed %d)", seed)
	}
}

func TestMarkovTransitionFrequenciesFollowTheWeights(t *testing.T) {
	s := shop()
	p := s.NewPicker(rand.New(rand.NewPCG(42, 1)), nil)
	const n = 200_000
	names := walk(p, n)
	from := map[string]map[string]int{}
	for i := 1; i < len(names); i++ {
		if from[names[i-1]] == nil {
			from[names[i-1]] = map[string]int{}
		}
		from[names[i-1]][names[i]]++
	}
	sum := func(m map[string]int) int {
		t := 0
		for _, v := range m {
			t += v
		}
		return t
	}
	// Only the declared transitions ever happen.
	assert.Equal(t, []string{"browse"}, keys(from["index"]))
	assert.Equal(t, []string{"browse", "cart", "index"}, keys(from["browse"]))
	assert.Equal(t, []string{"checkout", "index"}, keys(from["cart"]))
	assert.Equal(t, []string{"index"}, keys(from["checkout"]))

	b := from["browse"]
	withinSigmas(t, b["index"], sum(b), 3.0/5, "browse->index")
	withinSigmas(t, b["browse"], sum(b), 1.0/5, "browse->browse")
	withinSigmas(t, b["cart"], sum(b), 1.0/5, "browse->cart")
	c := from["cart"]
	withinSigmas(t, c["checkout"], sum(c), 1.0/2, "cart->checkout")

	// The visit shares match the chain's stationary distribution, which
	// Ratio reports. By hand, with i, b, c, k the shares of index,
	// browse, cart, checkout: i = 3b/5 + c/2 + k, b = i + b/5, c = b/5,
	// k = c/2, so i:b:c:k = 8:10:2:1.
	want := map[string]float64{"index": 8.0 / 21, "browse": 10.0 / 21, "cart": 2.0 / 21, "checkout": 1.0 / 21}
	for _, sh := range s.Ratio() {
		assert.InDelta(t, want[sh.Name], sh.Share, 1e-9, "Ratio %s", sh.Name)
	}
	got := counts(names)
	for name, share := range want {
		// Visits are correlated, so allow a wider band than for
		// independent draws: 1% of n is over 10 sigma for these shares.
		assert.InDelta(t, share*n, float64(got[name]), 0.01*n, "visits of %s", name)
	}
}

func keys(m map[string]int) []string { return slices.Sorted(maps.Keys(m)) }

func TestMarkovSameSeedSameWalk(t *testing.T) {
	s := shop()
	a := walk(s.NewPicker(rand.New(rand.NewPCG(3, 4)), nil), 500)
	b := walk(s.NewPicker(rand.New(rand.NewPCG(3, 4)), nil), 500)
	c := walk(s.NewPicker(rand.New(rand.NewPCG(5, 6)), nil), 500)
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, c)
	// Without a source the walk is still reproducible.
	assert.Equal(t, walk(s.NewPicker(nil, nil), 100), walk(s.NewPicker(nil, nil), 100))
}

func TestMarkovPeriodicChainRatio(t *testing.T) {
	m := taskset.NewMarkov[shopper]()
	a, b := state(m, "A"), state(m, "B")
	a.To(b, 1)
	b.To(a, 1)
	s := m.Set()
	assert.Equal(t, "ABABAB", strings.Join(walk(s.NewPicker(nil, nil), 6), ""))
	r := s.Ratio()
	require.Len(t, r, 2)
	assert.InDelta(t, 0.5, r[0].Share, 1e-9)
	assert.InDelta(t, 0.5, r[1].Share, 1e-9)
}

func TestMarkovNestedRestartsAtFirstStateOnEachEntry(t *testing.T) {
	m := taskset.NewMarkov[shopper]()
	x, y, stop := state(m, "x"), state(m, "y"), state(m, "interrupt")
	x.To(y, 1)
	y.To(stop, 1)
	stop.To(x, 1)
	s := taskset.Sequential(task("A", 1), taskset.Task[shopper]{Set: m.Set()})
	assert.Equal(t, "A x y interrupt A x y interrupt", strings.Join(walk(s.NewPicker(nil, nil), 8), " "))
	assert.Equal(t, "MarkovTaskSet", s.Tasks()[1].Name)
}

func TestMarkovZeroWeightTransitionIsNeverTaken(t *testing.T) {
	m := taskset.NewMarkov[shopper]()
	a, b, c := state(m, "A"), state(m, "B"), state(m, "C")
	a.To(b, 1).To(c, 0)
	b.To(a, 1)
	c.To(a, 1)
	s := m.Set()
	got := counts(walk(s.NewPicker(rand.New(rand.NewPCG(1, 1)), nil), 1000))
	assert.Zero(t, got["C"])
	assert.Equal(t, []string{"C"}, s.Unreachable())
	assert.Equal(t, []taskset.Share{{Name: "B", Share: 1}}, s.Transitions("A"))
}

func TestMarkovToSameTargetReplacesWeight(t *testing.T) {
	m := taskset.NewMarkov[shopper]()
	a, b := state(m, "A"), state(m, "B")
	a.To(b, 1).To(a, 1).To(b, 3)
	b.To(a, 1)
	assert.Equal(t, []taskset.Share{{Name: "B", Share: 0.75}, {Name: "A", Share: 0.25}}, m.Set().Transitions("A"))
}

func TestMarkovSetIsASnapshotOfTheBuilder(t *testing.T) {
	m := taskset.NewMarkov[shopper]()
	a, b := state(m, "A"), state(m, "B")
	a.To(b, 1)
	b.To(a, 1)
	s := m.Set()
	a.To(a, 100)
	assert.Equal(t, []taskset.Share{{Name: "B", Share: 1}}, s.Transitions("A"))
}

func TestMarkovStateNamesDefaultToTheMethod(t *testing.T) {
	m := taskset.NewMarkov[shopper]()
	b := m.State((*shopper).Browse)
	b.To(b, 1)
	assert.Equal(t, "Browse", b.Name())
	assert.True(t, m.Set().IsMarkov())
}

func TestMarkovMistakesPanicWithTheFix(t *testing.T) {
	other := taskset.NewMarkov[shopper]()
	foreign := state(other, "elsewhere")
	cases := map[string]struct {
		build func()
		want  string
	}{
		"empty chain": {func() { taskset.NewMarkov[shopper]().Set() }, "has no states"},
		"dead end": {func() {
			m := taskset.NewMarkov[shopper]()
			a, b := state(m, "A"), state(m, "B")
			a.To(b, 1)
			m.Set()
		}, `state "B" has no transition of positive weight; add one with To`},
		"only zero weights": {func() {
			m := taskset.NewMarkov[shopper]()
			a := state(m, "A")
			a.To(a, 0)
			m.Set()
		}, `"A" has no transition of positive weight`},
		"negative weight": {func() {
			m := taskset.NewMarkov[shopper]()
			a := state(m, "A")
			a.To(a, -1)
		}, "negative weight -1"},
		"other chain": {func() {
			m := taskset.NewMarkov[shopper]()
			state(m, "A").To(foreign, 1)
		}, `to "elsewhere", a state of another chain`},
		"nil target": {func() { state(taskset.NewMarkov[shopper](), "A").To(nil, 1) }, "nil state"},
		"tags": {func() {
			taskset.NewMarkov[shopper]().StateOf(taskset.Task[shopper]{Name: "A", Run: noop, Tags: []string{"x"}})
		}, "tags are not supported on the states of a Markov chain"},
		"weight": {func() {
			taskset.NewMarkov[shopper]().StateOf(taskset.Task[shopper]{Name: "A", Run: noop, Weight: 2})
		}, "leave Weight 0"},
		"no run": {func() { taskset.NewMarkov[shopper]().StateOf(taskset.Task[shopper]{Name: "A"}) }, "neither Run nor Set"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				require.NotNil(t, r, "no panic")
				assert.Contains(t, r, c.want)
			}()
			c.build()
		})
	}
}

func TestMarkovFilterKeepsOrDropsTheWholeChain(t *testing.T) {
	s := shop().WithTags("shop")
	outer := taskset.Weighted(task("other", 1, "misc"), taskset.Task[shopper]{Set: s})

	kept, ok := outer.Filter([]string{"shop"}, nil)
	require.True(t, ok)
	require.Equal(t, 1, kept.Len())
	inner := kept.Tasks()[0].Set
	require.NotNil(t, inner)
	assert.True(t, inner.IsMarkov())
	assert.Equal(t, 4, inner.Len())

	dropped, ok := outer.Filter(nil, []string{"shop"})
	require.True(t, ok)
	assert.Equal(t, []string{"other"}, names(dropped))

	_, ok = s.Filter([]string{"misc"}, nil)
	assert.False(t, ok)
}

func names(s *taskset.Set[shopper]) []string {
	var out []string
	for _, t := range s.Tasks() {
		out = append(out, t.Name)
	}
	return out
}

func TestMarkovNextDoesNotAllocate(t *testing.T) {
	p := shop().NewPicker(rand.New(rand.NewPCG(1, 2)), nil)
	allocs := testing.AllocsPerRun(1000, func() { p.Next() })
	assert.Zero(t, allocs)
}
