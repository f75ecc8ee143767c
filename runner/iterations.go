package runner

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// Tickets is a shared allowance of iterations. Take claims one; false when
// none is left. Counter is the local one; in distributed mode a worker's
// allowance can come from the master behind the same interface.
type Tickets interface {
	Take() bool
}

// Counter is an allowance of n iterations shared by the users of this
// process.
type Counter struct {
	n    int64
	left atomic.Int64
}

// NewCounter returns an allowance of n iterations.
func NewCounter(n int64) *Counter {
	c := &Counter{n: n}
	c.left.Store(n)
	return c
}

// Take implements Tickets.
func (c *Counter) Take() bool {
	if c.left.Load() <= 0 {
		return false
	}
	return c.left.Add(-1) >= 0
}

// Taken returns how many iterations were claimed (at most n).
func (c *Counter) Taken() int64 { return c.n - max(c.left.Load(), 0) }

// IterationLimit is a user.IterationGate that lets a fixed number of
// iterations (task picks) run across its users, then ends each user at its
// next pick: a user always finishes the iteration it has started. Inner,
// when set, schedules the iterations (an ArrivalGate); the limit is taken
// after Inner hands one out, so an arrival-rate run stops after exactly
// the allowed iterations too.
//
// Without Inner it is a user.WaitKeeper: closed users keep their class's
// wait between tasks and take an iteration after it.
type IterationLimit struct {
	tickets Tickets
	inner   user.IterationGate
	taken   atomic.Int64

	once      sync.Once
	exhausted chan struct{}
}

var _ user.IterationGate = (*IterationLimit)(nil)

// NewIterationLimit returns a gate over tickets (NewCounter(n) for a local
// limit of n); inner may be nil.
func NewIterationLimit(tickets Tickets, inner user.IterationGate) *IterationLimit {
	return &IterationLimit{tickets: tickets, inner: inner, exhausted: make(chan struct{})}
}

// Next implements user.IterationGate.
func (l *IterationLimit) Next(ctx context.Context) (time.Time, bool) {
	select {
	case <-l.exhausted:
		return time.Time{}, false
	default:
	}
	var intended time.Time
	if l.inner != nil {
		it, ok := l.inner.Next(ctx)
		if !ok {
			return time.Time{}, false
		}
		intended = it
	}
	if !l.tickets.Take() {
		l.once.Do(func() { close(l.exhausted) })
		return time.Time{}, false
	}
	l.taken.Add(1)
	return intended, true
}

// KeepsClassWait implements user.WaitKeeper: a limit without a schedule
// leaves the pacing to the class's wait.
func (l *IterationLimit) KeepsClassWait() bool { return l.inner == nil }

// Taken returns how many iterations this gate let start.
func (l *IterationLimit) Taken() int64 { return l.taken.Load() }

// Exhausted is closed once a user has been refused because no iteration
// was left. The run is over once the users are gone too: each leaves at
// its next pick.
func (l *IterationLimit) Exhausted() <-chan struct{} { return l.exhausted }

// KeepClassWaits wraps classes so that their users still wait between
// tasks as their wait strategies say while a gate without a schedule of
// its own runs them: with a gate the user package does not apply the
// class wait unless the gate says it keeps it. The wrapper says so for the
// gate, so the user loop applies the waits itself (the wait of the task
// set the last task came from, as without a gate). Classes without a wait
// are returned as they are.
//
// Deprecated: a gate that keeps the class's wait says so itself
// (user.WaitKeeper, as IterationLimit without Inner does) and the user
// loop then applies the wait; the runner no longer wraps classes. This
// stays for code that calls it, and does not wait twice under such a gate.
func KeepClassWaits(classes []user.Spawner) []user.Spawner {
	out := make([]user.Spawner, len(classes))
	for i, c := range classes {
		out[i] = keepWait(c)
	}
	return out
}

func keepWait(c user.Spawner) user.Spawner {
	if _, ok := c.(waitKeeper); ok {
		return c
	}
	if cw, ok := c.(interface{ ClassWait() taskset.Wait }); ok && cw.ClassWait() != nil {
		return waitKeeper{Spawner: c}
	}
	return c
}

type waitKeeper struct{ user.Spawner }

func (k waitKeeper) Filter(include, exclude []string) (user.Spawner, error) {
	f, err := k.Spawner.Filter(include, exclude)
	if err != nil {
		return nil, err
	}
	return waitKeeper{Spawner: f}, nil
}

func (k waitKeeper) Run(ctx context.Context, env *user.Env) {
	if env != nil && env.Gate != nil && !keepsClassWait(env.Gate) {
		env.Gate = keptWait{env.Gate}
	}
	k.Spawner.Run(ctx, env)
}

// keptWait is a gate that leaves the pacing between its iterations to the
// class's wait, which the user loop then applies.
type keptWait struct{ user.IterationGate }

func (keptWait) KeepsClassWait() bool { return true }

func keepsClassWait(g user.IterationGate) bool {
	k, ok := g.(user.WaitKeeper)
	return ok && k.KeepsClassWait()
}
