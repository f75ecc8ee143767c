package taskset

import (
	"math/rand/v2"
	"time"
)

// Picker is one user's walk through a Set and its nested sets: the
// position in each set and each set's Waiter. It is not safe for concurrent
// use; each user has its own. Next, Waiter and Interrupt do not allocate
// once every nested set has been entered once.
type Picker[U any] struct {
	rnd   *rand.Rand
	mrnd  *rand.Rand // draws Markov transitions: rnd, or a fixed seed without one
	stack []*cursor[U]
}

type cursor[U any] struct {
	set    *Set[U]
	pos    int
	waiter Waiter
	kids   []*cursor[U] // per task index, created on first entry
}

// NewPicker returns a Picker for one user. rnd is the user's random source
// (it sets the starting phase of weighted sets and feeds the waiters; nil
// starts every weighted set at its first task). wait is the inherited
// strategy of the top-level set (the user class's); the set's own WithWait
// overrides it. A nil strategy never waits.
func (s *Set[U]) NewPicker(rnd *rand.Rand, wait Wait) *Picker[U] {
	p := &Picker[U]{rnd: rnd, stack: make([]*cursor[U], 0, s.depth+1)}
	p.stack = append(p.stack, p.newCursor(s, waiterOf(wait, rnd)))
	return p
}

func waiterOf(w Wait, rnd *rand.Rand) Waiter {
	if w == nil {
		return noWait{}
	}
	return w.NewWaiter(rnd)
}

type noWait struct{}

func (noWait) Pause(_, _ time.Time) time.Duration { return 0 }

func (p *Picker[U]) newCursor(s *Set[U], inherited Waiter) *cursor[U] {
	c := &cursor[U]{set: s, waiter: inherited, kids: make([]*cursor[U], len(s.tasks))}
	if s.wait != nil {
		c.waiter = s.wait.NewWaiter(p.rnd)
	}
	if s.markov != nil {
		c.pos = s.markov.start
		switch {
		case p.mrnd != nil:
		case p.rnd != nil:
			p.mrnd = p.rnd
		default:
			// A Markov set needs a random source; without the user's,
			// a fixed seed keeps the walk reproducible.
			p.mrnd = rand.New(rand.NewPCG(1, 2))
		}
	}
	if !s.seq && s.markov == nil && p.rnd != nil && len(s.order) > 1 {
		c.pos = p.rnd.IntN(len(s.order))
	}
	return c
}

// Next returns the next task to run, entering nested sets as they are
// picked, or nil when the set is empty. The returned Task belongs to the
// Set; do not modify it.
func (p *Picker[U]) Next() *Task[U] {
	for {
		c := p.stack[len(p.stack)-1]
		var i int
		if mk := c.set.markov; mk != nil {
			// The current state runs now; its successor is drawn at once,
			// as Locust's MarkovTaskSet does.
			i = c.pos
			c.pos = mk.next(i, p.mrnd)
		} else {
			if len(c.set.order) == 0 {
				return nil
			}
			i = int(c.set.order[c.pos])
			c.pos++
			if c.pos == len(c.set.order) {
				c.pos = 0
			}
		}
		t := &c.set.tasks[i]
		if t.Set == nil {
			return t
		}
		k := c.kids[i]
		if k == nil {
			k = p.newCursor(t.Set, c.waiter)
			c.kids[i] = k
		} else if t.Set.seq {
			k.pos = 0
		} else if t.Set.markov != nil {
			k.pos = t.Set.markov.start // each entry starts the chain anew
		}
		p.stack = append(p.stack, k)
	}
}

// Waiter returns the Waiter of the set the last task came from: the one to
// use after it.
func (p *Picker[U]) Waiter() Waiter { return p.stack[len(p.stack)-1].waiter }

// Interrupt leaves the current nested set, back to its parent. It reports
// false (and does nothing) at the top-level set.
func (p *Picker[U]) Interrupt() bool {
	if len(p.stack) == 1 {
		return false
	}
	p.stack[len(p.stack)-1] = nil
	p.stack = p.stack[:len(p.stack)-1]
	return true
}

// Depth returns the current nesting depth (0 = top-level set).
func (p *Picker[U]) Depth() int { return len(p.stack) - 1 }
