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

// ConstantPacing starts tasks d apart: after a task it waits d minus the
// task's run time (Locust's constant_pacing). A task that overruns d is
// followed at once by the next, with no catch-up later. Its Waiter is a
// taskset.Pacer: each task's intended start is the previous task's start
// plus d, and the user records the corrected latency from it, so an
// overrunning target shows in the corrected percentiles.
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
	d        time.Duration
	intended time.Time
}

func (p *pacer) Pause(start, end time.Time) time.Duration {
	p.intended = start.Add(p.d)
	return p.intended.Sub(end)
}

func (p *pacer) Intended() time.Time { return p.intended }
