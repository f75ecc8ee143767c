package taskset

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"time"
)

// ErrInterrupt, returned by a task of a nested set, ends that nested set:
// the parent set picks its next task at once, without waiting. Returned by a
// task of the top-level set it only skips the wait, like ErrRescheduleNow.
var ErrInterrupt = errors.New("taskset: interrupt nested task set")

// ErrRescheduleNow, returned by a task, skips the wait before the next task
// (Locust's RescheduleTaskImmediately). It is not recorded as an error.
var ErrRescheduleNow = errors.New("taskset: reschedule now")

// maxOrder bounds the length of one weighted cycle (the sum of the weights
// divided by their greatest common divisor).
const maxOrder = 1 << 20

// Task is one thing a user does, or a nested set of things.
type Task[U any] struct {
	// Name is the task's name in task ratios and in the stats entry of a
	// failing task. Empty: derived once from the Run func's name (the
	// method name for a method expression), or the nested set's name.
	Name string
	// Weight is the task's share in a Weighted set, or the number of
	// consecutive runs in a Sequential set. 0 means 1; negative panics.
	Weight int
	// Tags select the task with Filter. On a task holding a Set they apply
	// to every task of that set.
	Tags []string
	// Run does the work; u is the user's own value. A method expression
	// such as (*Shopper).Browse fits.
	Run func(u *U, ctx context.Context) error
	// Set is a nested task set run instead of Run (exactly one of the two
	// must be set).
	Set *Set[U]
}

// Set is an ordered collection of tasks with a picking rule. Build it with
// Weighted or Sequential; the With methods return modified copies, so a
// Set can be shared safely.
type Set[U any] struct {
	name  string
	seq   bool
	tasks []Task[U]
	order []int32 // one cycle of task indexes
	wait  Wait
	tags  []string
	depth int // nesting depth below this set (0 = no nested sets)
	// markov, when non-nil, makes this a Markov set (see Markov): tasks
	// are its states and order is unused.
	markov *markov
}

// Weighted returns a set that picks its tasks in smooth weighted
// round-robin order: exact shares over every cycle, deterministic. It panics
// on a task with both or neither of Run and Set, a negative weight, an empty
// nested set, or a cycle longer than 2^20 picks.
func Weighted[U any](tasks ...Task[U]) *Set[U] { return build(false, tasks) }

// Sequential returns a set that runs its tasks in declaration order,
// cycling; a task of weight n runs n times in a row. It panics on the same
// mistakes as Weighted.
func Sequential[U any](tasks ...Task[U]) *Set[U] { return build(true, tasks) }

func build[U any](seq bool, tasks []Task[U]) *Set[U] {
	s := &Set[U]{seq: seq, tasks: slices.Clone(tasks)}
	if seq {
		s.name = "SequentialTaskSet"
	} else {
		s.name = "TaskSet"
	}
	for i := range s.tasks {
		t := &s.tasks[i]
		switch {
		case t.Run != nil && t.Set != nil:
			panic(fmt.Sprintf("taskset: task %d (%q) has both Run and Set", i, t.Name))
		case t.Run == nil && t.Set == nil:
			panic(fmt.Sprintf("taskset: task %d (%q) has neither Run nor Set", i, t.Name))
		case t.Weight < 0:
			panic(fmt.Sprintf("taskset: task %d (%q) has negative weight %d", i, t.Name, t.Weight))
		case t.Set != nil && len(t.Set.tasks) == 0:
			panic(fmt.Sprintf("taskset: task %d (%q) holds an empty nested set", i, t.Name))
		}
		if t.Weight == 0 {
			t.Weight = 1
		}
		if t.Name == "" {
			if t.Set != nil {
				t.Name = t.Set.name
			} else {
				t.Name = FuncName(t.Run)
			}
		}
		t.Tags = slices.Clone(t.Tags)
		if t.Set != nil && t.Set.depth+1 > s.depth {
			s.depth = t.Set.depth + 1
		}
	}
	s.order = makeOrder(seq, s.tasks)
	return s
}

// FuncName returns the short name of a func: the method name for a method
// expression or method value ("Browse" for (*Shopper).Browse), the last
// element of the qualified name otherwise. It is computed with
// runtime.FuncForPC; call it once at setup, not per task run.
func FuncName(fn any) string {
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func || v.IsNil() {
		return ""
	}
	f := runtime.FuncForPC(v.Pointer())
	if f == nil {
		return ""
	}
	name := strings.TrimSuffix(f.Name(), "-fm")
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return name
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func makeOrder[U any](seq bool, tasks []Task[U]) []int32 {
	if len(tasks) == 0 {
		return nil
	}
	g := 0
	for _, t := range tasks {
		g = gcd(g, t.Weight)
	}
	total := 0
	for _, t := range tasks {
		total += t.Weight / g
		if total > maxOrder {
			panic(fmt.Sprintf("taskset: weights too large (a cycle of more than %d picks); use smaller weights", maxOrder))
		}
	}
	order := make([]int32, 0, total)
	if seq {
		// Sequential keeps the given weights as repeat counts.
		for i, t := range tasks {
			for range t.Weight {
				order = append(order, int32(i))
			}
		}
		return order
	}
	// Smooth weighted round robin: each pick adds every weight to its
	// task's current value, takes the largest (first on ties) and
	// subtracts the total from it. After total picks all values are back
	// to zero, so one cycle is the whole order.
	cur := make([]int, len(tasks))
	for range total {
		best := 0
		for i, t := range tasks {
			cur[i] += t.Weight / g
			if cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total
		order = append(order, int32(best))
	}
	return order
}

func (s *Set[U]) clone() *Set[U] {
	c := *s
	return &c
}

// WithWait returns a copy of s with its own wait strategy, used after each
// of its tasks instead of the parent's (or the user class's). nil inherits.
func (s *Set[U]) WithWait(w Wait) *Set[U] {
	c := s.clone()
	c.wait = w
	return c
}

// WithTags returns a copy of s whose tasks, nested ones included, all carry
// tags (in addition to their own).
func (s *Set[U]) WithTags(tags ...string) *Set[U] {
	c := s.clone()
	c.tags = append(slices.Clone(s.tags), tags...)
	return c
}

// WithName returns a copy of s with a name, the default Name of a Task
// holding it ("TaskSet" or "SequentialTaskSet" otherwise).
func (s *Set[U]) WithName(name string) *Set[U] {
	c := s.clone()
	c.name = name
	return c
}

// Name returns the set's name.
func (s *Set[U]) Name() string { return s.name }

// Sequential reports whether s runs its tasks in order.
func (s *Set[U]) Sequential() bool { return s.seq }

// Wait returns the set's own wait strategy (nil = inherited).
func (s *Set[U]) Wait() Wait { return s.wait }

// Tasks returns a copy of the set's tasks, with defaults applied (names,
// weights).
func (s *Set[U]) Tasks() []Task[U] { return slices.Clone(s.tasks) }

// Len returns the number of tasks in s.
func (s *Set[U]) Len() int {
	if s == nil {
		return 0
	}
	return len(s.tasks)
}

// Filter returns the set of tasks selected by tags: with include non-empty
// a task is kept when it has any of those tags; a task having any of the
// exclude tags is dropped. A task's tags are its own plus those of every
// enclosing set and set-holding task. Nested sets left empty are dropped.
// ok is false when nothing is left. With both lists empty s itself is
// returned. s is not modified.
func (s *Set[U]) Filter(include, exclude []string) (*Set[U], bool) {
	if s == nil {
		return nil, false
	}
	if len(include) == 0 && len(exclude) == 0 {
		return s, len(s.tasks) > 0
	}
	f := s.filter(nil, include, exclude)
	return f, f != nil
}

func (s *Set[U]) filter(base, include, exclude []string) *Set[U] {
	base = append(slices.Clone(base), s.tags...)
	if s.markov != nil {
		return s.filterMarkov(base, include, exclude)
	}
	var kept []Task[U]
	for _, t := range s.tasks {
		tags := append(slices.Clone(base), t.Tags...)
		if t.Set != nil {
			sub := t.Set.filter(tags, include, exclude)
			if sub == nil {
				continue
			}
			t.Set = sub
			kept = append(kept, t)
			continue
		}
		if len(include) > 0 && !anyIn(tags, include) {
			continue
		}
		if anyIn(tags, exclude) {
			continue
		}
		kept = append(kept, t)
	}
	if len(kept) == 0 {
		return nil
	}
	c := s.clone()
	c.tasks = kept
	c.order = makeOrder(s.seq, kept)
	c.depth = 0
	for _, t := range kept {
		if t.Set != nil && t.Set.depth+1 > c.depth {
			c.depth = t.Set.depth + 1
		}
	}
	return c
}

func anyIn(tags, set []string) bool {
	for _, t := range tags {
		if slices.Contains(set, t) {
			return true
		}
	}
	return false
}

// Share is one task's share of its set's picks, as in Locust's task ratio
// table. Nested holds the shares inside a nested set, relative to that set.
type Share struct {
	Name   string
	Share  float64
	Nested []Share
}

// Ratio returns each task's share of the set's picks. For a Markov set it
// is the long-run share of each state's runs for a user that starts at the
// first state and stays in the set (unreachable states have 0).
func (s *Set[U]) Ratio() []Share {
	if s == nil || len(s.tasks) == 0 {
		return nil
	}
	var shares []float64
	if s.markov != nil {
		shares = s.markov.stationary()
	} else {
		total := 0
		for _, t := range s.tasks {
			total += t.Weight
		}
		shares = make([]float64, len(s.tasks))
		for i, t := range s.tasks {
			shares[i] = float64(t.Weight) / float64(total)
		}
	}
	out := make([]Share, len(s.tasks))
	for i, t := range s.tasks {
		out[i] = Share{Name: t.Name, Share: shares[i]}
		if t.Set != nil {
			out[i].Nested = t.Set.Ratio()
		}
	}
	return out
}

// Wait is a wait-time strategy. NewWaiter is called once per user and per
// set that uses the strategy; rnd is that user's random source (not safe for
// use by other goroutines).
type Wait interface {
	NewWaiter(rnd *rand.Rand) Waiter
}

// Waiter is one user's instance of a wait strategy. Pause is called after
// every task with the task's start and end times and returns how long to
// wait before the next task (<= 0: none).
type Waiter interface {
	Pause(taskStart, taskEnd time.Time) time.Duration
}

// Pacer is implemented by Waiters that schedule task starts (constant
// pacing, constant throughput). Intended returns the time the next task
// should have started, read after the pause; the user package measures the
// coordinated-omission corrected latency from it. Zero means no intended
// start (for example before the first task).
type Pacer interface {
	Intended() time.Time
}

// WaitFunc adapts a function to Wait: the function is called after every
// task, the same way for every user (it must be safe for concurrent use).
type WaitFunc func(rnd *rand.Rand, taskStart, taskEnd time.Time) time.Duration

// NewWaiter implements Wait.
func (f WaitFunc) NewWaiter(rnd *rand.Rand) Waiter { return funcWaiter{f, rnd} }

type funcWaiter struct {
	f   WaitFunc
	rnd *rand.Rand
}

func (w funcWaiter) Pause(start, end time.Time) time.Duration { return w.f(w.rnd, start, end) }
