package taskset

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Markov builds a set whose tasks are the states of a Markov chain
// (Locust's MarkovTaskSet): after running a state's task the user moves to
// one of that state's successors, chosen at random in proportion to the
// transition weights. The first state added is where the chain starts, each
// time a user enters the set.
//
// States are handles, so a transition names its target with a Go value
// rather than a string: a misspelt target does not compile, and states of
// a chain for another user type cannot be mixed in. Build the chain, then
// call Set; the Set is immutable and later changes to the builder do not
// reach it.
type Markov[U any] struct {
	states []*State[U]
}

// State is one state of a Markov chain: a task and its weighted
// transitions.
type State[U any] struct {
	chain *Markov[U]
	idx   int
	task  Task[U]
	next  []markovEdge
}

type markovEdge struct {
	to     int
	weight int
}

// NewMarkov returns an empty chain builder for users of type U.
func NewMarkov[U any]() *Markov[U] { return &Markov[U]{} }

// State adds a state running run (a method expression such as
// (*Shopper).Browse fits), named after the func as in Task.Name. The first
// state added is the chain's start.
func (m *Markov[U]) State(run func(u *U, ctx context.Context) error) *State[U] {
	return m.StateOf(Task[U]{Run: run})
}

// StateOf adds a state running t: a Run func or a nested Set, with an
// optional Name. Tags and Weight are not supported (transition weights
// replace the task weight, and a tag filter could cut the chain, as in
// Locust); StateOf panics when they are set, or when t has both or neither
// of Run and Set.
func (m *Markov[U]) StateOf(t Task[U]) *State[U] {
	i := len(m.states)
	switch {
	case len(t.Tags) > 0:
		panic(fmt.Sprintf("taskset: Markov state %d (%q) has tags; tags are not supported on the states of a Markov chain (they could cut it): tag the whole set with WithTags", i, t.Name))
	case t.Weight != 0:
		panic(fmt.Sprintf("taskset: Markov state %d (%q) has Weight %d; a Markov state is chosen by the transition weights given with To, leave Weight 0", i, t.Name, t.Weight))
	case t.Run != nil && t.Set != nil:
		panic(fmt.Sprintf("taskset: Markov state %d (%q) has both Run and Set", i, t.Name))
	case t.Run == nil && t.Set == nil:
		panic(fmt.Sprintf("taskset: Markov state %d (%q) has neither Run nor Set", i, t.Name))
	case t.Set != nil && len(t.Set.tasks) == 0:
		panic(fmt.Sprintf("taskset: Markov state %d (%q) holds an empty nested set", i, t.Name))
	}
	if t.Name == "" {
		if t.Set != nil {
			t.Name = t.Set.name
		} else {
			t.Name = FuncName(t.Run)
		}
	}
	t.Weight = 1
	s := &State[U]{chain: m, idx: i, task: t}
	m.states = append(m.states, s)
	return s
}

// To adds a transition from s to next with the given weight and returns s,
// so transitions chain: browse.To(index, 3).To(cart, 1). A second To with
// the same target replaces its weight (as Locust's decorators do). Weight
// 0 keeps the transition but never takes it; a negative weight, a nil
// target or one from another chain panics.
func (s *State[U]) To(next *State[U], weight int) *State[U] {
	switch {
	case next == nil:
		panic(fmt.Sprintf("taskset: Markov transition from %q to a nil state", s.task.Name))
	case next.chain != s.chain:
		panic(fmt.Sprintf("taskset: Markov transition from %q to %q, a state of another chain", s.task.Name, next.task.Name))
	case weight < 0:
		panic(fmt.Sprintf("taskset: Markov transition from %q to %q has negative weight %d", s.task.Name, next.task.Name, weight))
	}
	for i := range s.next {
		if s.next[i].to == next.idx {
			s.next[i].weight = weight
			return s
		}
	}
	s.next = append(s.next, markovEdge{to: next.idx, weight: weight})
	return s
}

// Name returns the state's task name.
func (s *State[U]) Name() string { return s.task.Name }

// Set returns the chain as a task set, named "MarkovTaskSet" (WithName
// renames it). It panics when the chain has no state, or when a state has
// no transition of positive weight: the chain would have nowhere to go
// after it (Locust refuses such a target too). States that cannot be
// reached from the first are allowed and never run; Unreachable lists them.
func (m *Markov[U]) Set() *Set[U] {
	if len(m.states) == 0 {
		panic("taskset: Markov chain has no states; add some with State and connect them with To")
	}
	mk := &markov{start: 0, cum: make([][]int, len(m.states)), dest: make([][]int32, len(m.states))}
	s := &Set[U]{name: "MarkovTaskSet", markov: mk, tasks: make([]Task[U], len(m.states))}
	for i, st := range m.states {
		total := 0
		for _, e := range st.next {
			if e.weight == 0 {
				continue
			}
			total += e.weight
			mk.cum[i] = append(mk.cum[i], total)
			mk.dest[i] = append(mk.dest[i], int32(e.to))
		}
		if total == 0 {
			panic(fmt.Sprintf("taskset: Markov state %q has no transition of positive weight; add one with To (the chain would stop there)", st.task.Name))
		}
		t := st.task
		t.Tags = nil
		s.tasks[i] = t
		if t.Set != nil && t.Set.depth+1 > s.depth {
			s.depth = t.Set.depth + 1
		}
	}
	mk.reach = mk.reachable()
	return s
}

// markov is the immutable transition table of a Markov set, shared by all
// users of the class.
type markov struct {
	start int
	cum   [][]int   // per state: cumulative positive weights
	dest  [][]int32 // per state: the target of each cum entry
	reach []bool    // reachable from start
}

// next draws the successor of state i. It does not allocate.
func (mk *markov) next(i int, rnd *rand.Rand) int {
	cum := mk.cum[i]
	r := rnd.IntN(cum[len(cum)-1])
	for j, c := range cum {
		if r < c {
			return int(mk.dest[i][j])
		}
	}
	return int(mk.dest[i][len(cum)-1]) // unreachable: r < the last cum
}

func (mk *markov) reachable() []bool {
	seen := make([]bool, len(mk.cum))
	stack := []int{mk.start}
	seen[mk.start] = true
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range mk.dest[i] {
			if !seen[d] {
				seen[d] = true
				stack = append(stack, int(d))
			}
		}
	}
	return seen
}

// stationary returns the long-run share of the runs of each state of a
// user that starts at the first state and never leaves the set: the
// Cesàro limit of the chain's distribution, computed by iterating the lazy
// chain (I+P)/2, which has the same limit and, unlike P, converges on
// periodic chains too.
func (mk *markov) stationary() []float64 {
	n := len(mk.cum)
	p := make([]float64, n)
	q := make([]float64, n)
	p[mk.start] = 1
	for range 100000 {
		for i := range q {
			q[i] = p[i] / 2
		}
		for i := range n {
			if p[i] == 0 {
				continue
			}
			total := float64(mk.cum[i][len(mk.cum[i])-1])
			prev := 0
			for j, c := range mk.cum[i] {
				q[mk.dest[i][j]] += p[i] / 2 * float64(c-prev) / total
				prev = c
			}
		}
		diff := 0.0
		for i := range p {
			diff = max(diff, math.Abs(p[i]-q[i]))
		}
		p, q = q, p
		if diff < 1e-13 {
			break
		}
	}
	return p
}

// IsMarkov reports whether s was built by Markov.
func (s *Set[U]) IsMarkov() bool { return s.markov != nil }

// Unreachable returns the names of the states of a Markov set that cannot
// be reached from its first state (Locust warns about them); nil for other
// sets.
func (s *Set[U]) Unreachable() []string {
	if s == nil || s.markov == nil {
		return nil
	}
	var out []string
	for i, ok := range s.markov.reach {
		if !ok {
			out = append(out, s.tasks[i].Name)
		}
	}
	return out
}

// Transitions returns, for the state of a Markov set named from, each
// successor's name and probability, in the order the transitions were
// added (weight-0 transitions left out); nil when s is not a Markov set or
// has no such state.
func (s *Set[U]) Transitions(from string) []Share {
	if s == nil || s.markov == nil {
		return nil
	}
	i := slices.IndexFunc(s.tasks, func(t Task[U]) bool { return t.Name == from })
	if i < 0 {
		return nil
	}
	cum := s.markov.cum[i]
	total := float64(cum[len(cum)-1])
	out := make([]Share, len(cum))
	prev := 0
	for j, c := range cum {
		out[j] = Share{Name: s.tasks[s.markov.dest[i][j]].Name, Share: float64(c-prev) / total}
		prev = c
	}
	return out
}

// filterMarkov applies a tag filter to a Markov set. Its states carry no
// tags of their own, so the chain is kept whole or dropped whole: dropping
// one state would cut the chain. base holds the set's tags and its
// parents'.
func (s *Set[U]) filterMarkov(base, include, exclude []string) *Set[U] {
	c := s.clone()
	c.tasks = slices.Clone(s.tasks)
	for i, t := range c.tasks {
		if t.Set != nil {
			sub := t.Set.filter(base, include, exclude)
			if sub == nil {
				return nil
			}
			c.tasks[i].Set = sub
			continue
		}
		if (len(include) > 0 && !anyIn(base, include)) || anyIn(base, exclude) {
			return nil
		}
	}
	return c
}
