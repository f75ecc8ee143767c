package user

import (
	"math/rand/v2"
	"time"

	"github.com/golocust/golocust/taskset"
)

// Between waits a uniformly random time in [min, max) after every task
// (Locust's between). max < min is treated as max == min.
func Between(min, max time.Duration) taskset.Wait { return between{min, max} }

type between struct{ min, max time.Duration }

func (b between) NewWaiter(rnd *rand.Rand) taskset.Waiter {
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return &betweenWaiter{b, rnd}
}

type betweenWaiter struct {
	between
	rnd *rand.Rand
}

func (w *betweenWaiter) Pause(_, _ time.Time) time.Duration {
	if w.max <= w.min {
		return w.min
	}
	return w.min + time.Duration(w.rnd.Int64N(int64(w.max-w.min)))
}

// Constant waits d after every task (Locust's constant). Constant(0), the
// default, never waits.
func Constant(d time.Duration) taskset.Wait { return constant(d) }

type constant time.Duration

func (c constant) NewWaiter(*rand.Rand) taskset.Waiter { return c }
func (c constant) Pause(_, _ time.Time) time.Duration  { return time.Duration(c) }

// timeless is implemented by the waiters whose Pause ignores the task's
// start and end. With them (and no intended start) the user loop reads no
// clock of its own: a task starts at the previous task's end when the user
// did not wait in between, and a task that ends without an error ends at
// the end of its last HTTP call, read by the call. So a closed-loop user
// reads the clock twice per request, at the request's start and end. A
// task's own failure (an error other than a recorded request's) is timed
// from the previous task's end to a fresh read.
type timeless interface{ timeless() }

func (constant) timeless()       {}
func (*betweenWaiter) timeless() {}

// ConstantPacing starts tasks d apart (Locust's constant_pacing): each
// task's start is scheduled one period after the previous task's scheduled
// start, never after its actual, possibly late, wake-up, so timer lateness
// does not pile up and a user runs 1/d tasks per second over any long span.
// A task that overruns is followed at once by the next; the schedule then
// catches up at most one period (the next tasks may run back to back for
// that one period), and a user more than one period behind drops the
// missed starts rather than bursting to make them up. Its Waiter is a
// taskset.Pacer: the user records the corrected latency from each task's
// scheduled start, so an overrunning target shows in the corrected
// percentiles.
func ConstantPacing(d time.Duration) taskset.Wait { return pacing(d) }

// ConstantThroughput runs perSecond tasks per second per user:
// ConstantPacing(1s / perSecond). perSecond <= 0 never waits.
func ConstantThroughput(perSecond float64) taskset.Wait {
	if perSecond <= 0 {
		return constant(0)
	}
	return pacing(time.Duration(float64(time.Second) / perSecond))
}

type pacing time.Duration

func (p pacing) NewWaiter(*rand.Rand) taskset.Waiter { return &pacer{d: time.Duration(p)} }

type pacer struct {
	d time.Duration
	// slot is when the next task is scheduled to start: the pause ends
	// there. intended is that task's slot before the catch-up bound, from
	// which its corrected latency is measured.
	slot, intended time.Time
}

func (p *pacer) Pause(start, end time.Time) time.Duration {
	base := p.slot // the slot of the task that just ran
	if base.IsZero() || start.Sub(base) > p.d {
		// First task, or the schedule lapsed (the task ran more than one
		// period after its slot, e.g. after the user left this set for a
		// nested one): start a new schedule from this task.
		base = start
	}
	p.intended = base.Add(p.d)
	p.slot = p.intended
	if floor := end.Add(-p.d); p.slot.Before(floor) {
		p.slot = floor // never more than one period of catch-up
	}
	return p.slot.Sub(end)
}

func (p *pacer) Intended() time.Time { return p.intended }
