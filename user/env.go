package user

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/param"
	"github.com/golocust/golocust/stats"
)

// ErrStopUser, returned by a task or OnStart (possibly wrapped), ends this
// user: OnStop runs and the user is gone; the runner does not replace it.
var ErrStopUser = errors.New("user: stop user")

// ErrStopTest, returned by a task or OnStart (possibly wrapped), stops the
// whole test: the user calls Env.StopTest with the error and ends.
var ErrStopTest = errors.New("user: stop test")

// TaskMethod is the stats Method of the failure entry recorded for a task
// (or OnStart/OnStop hook) that returns an error not already recorded by the
// HTTP client, Measure or Record. The entry's Name is the task's name.
const TaskMethod = "task"

// IterationGate lets a load model decide when each iteration (one task
// pick) runs. Next blocks until the user may pick its next task. ok=false
// ends the user. A non-zero intended time is when the iteration should have
// started: every sample recorded during it then also carries a
// coordinated-omission corrected latency. nil Env.Gate is the closed model.
type IterationGate interface {
	Next(ctx context.Context) (intended time.Time, ok bool)
}

// WaitKeeper is an IterationGate that only admits iterations and has no
// schedule of its own (an iteration limit over closed users): when
// KeepsClassWait is true, the user still waits between tasks as its
// class's wait strategy says, and asks the gate after the wait.
type WaitKeeper interface {
	IterationGate
	KeepsClassWait() bool
}

// keepsClassWait tells whether g leaves the pacing to the class's wait.
func keepsClassWait(g IterationGate) bool {
	k, ok := g.(WaitKeeper)
	return ok && k.KeepsClassWait()
}

// Env is what one running user gets from the runner. The runner fills the
// exported fields; the user package keeps per-user state in the unexported
// ones. An Env belongs to one user and must not be shared.
type Env struct {
	ID     int    // per-process user id
	Class  string // the user class's name
	Host   string // effective host: the run's -H, else the class's Host
	Stats  *stats.Registry
	Logger *zap.Logger // nil: no logging
	// Stopping is closed on a graceful stop: no new task starts, and a
	// waiting user leaves at once. nil: never.
	Stopping <-chan struct{}
	// StopTest is called when a task returns ErrStopTest (may be nil).
	StopTest func(reason error)
	// Rand is the user's random source, not shared with other goroutines.
	// nil: the user makes its own.
	Rand *rand.Rand
	// Gate, when non-nil, is called before every task pick (open model,
	// iteration limits). With a Gate the class's wait strategy is not
	// applied, the gate schedules the iterations, unless the gate is a
	// WaitKeeper that keeps the class's wait.
	Gate IterationGate
	// Seq is the class-wide sequence number of this user (unique across
	// the cluster in distributed mode), for partitioning test data.
	Seq int64
	// Params are the run's custom parameters (locust.Config.Params, set
	// by flags, env, config files or the web form); read them with the
	// declared param.Param's Get.
	Params param.Values
	// OnRequest, when set, is called for every request this user records
	// (see RequestListener). nil costs nothing.
	OnRequest RequestListener
	// Traceparent makes every HTTP (HTTP, NetHTTP) and gRPC (GRPC) call
	// of this user carry a W3C traceparent header (version 00, sampled),
	// its ids drawn from Rand; the stats keep the ids of the slowest
	// requests of each name as exemplars. A traceparent the task set
	// itself is kept, and its ids recorded. Class.Traceparent and the
	// --traceparent flag set it for every user; a task may flip it.
	Traceparent bool

	// self is the user's own value (*U), set by Class.Run for OnRequest.
	self any

	// lag1 is 1 + how late the current iteration started after its
	// intended start, 0 when it has none. Atomic: goroutines started by a
	// task may Record with the user's Env.
	lag1 atomic.Int64

	// clockBase and lastEnd hand the end time an HTTP call read to the
	// user loop, which then need not read the clock again (see timeless):
	// lastEnd is 1 + that end since clockBase (monotonic), 0 when no call
	// ended since the loop cleared it. clockBase is set before any task.
	clockBase time.Time
	lastEnd   atomic.Int64
}

// setEnd hands t, the end of a call, to the user loop.
func (e *Env) setEnd(t time.Time) {
	if e != nil && !e.clockBase.IsZero() {
		e.lastEnd.Store(max(int64(t.Sub(e.clockBase)), 0) + 1)
	}
}

// takeEnd returns the end of the latest call since the loop cleared it.
func (e *Env) takeEnd() (time.Time, bool) {
	v := e.lastEnd.Swap(0)
	if v <= 0 {
		return time.Time{}, false
	}
	return e.clockBase.Add(time.Duration(v - 1)), true
}

// setLag sets the current iteration's lag; d < 0: no intended start.
func (e *Env) setLag(d time.Duration) { e.lag1.Store(max(int64(d)+1, 0)) }

// Record records one timed call of a custom protocol into env's stats: a
// failure when err is non-nil; env.OnRequest, when set, is then called. When the current iteration has an intended
// start (arrival rate, pacing), the sample also carries the corrected
// latency d + (actual start - intended start).
func Record(env *Env, method, name string, d time.Duration, size int64, err error) {
	record(env, method, name, d, size, err, nil)
}

// record is Record with the ids of a traced call (nil: untraced).
func record(env *Env, method, name string, d time.Duration, size int64, err error, tr *traceIDs) {
	if env == nil {
		return
	}
	s := stats.Sample{Method: method, Name: name, Duration: d, Size: size, Err: err}
	if tr != nil {
		s.TraceID, s.SpanID = tr.trace, tr.span
	}
	if lag1 := env.lag1.Load(); lag1 > 0 {
		s.Corrected = d + time.Duration(lag1-1)
	}
	if env.Stats != nil {
		env.Stats.Record(s)
	}
	if env.OnRequest != nil {
		fireRequest(env, method, name, d, s.Corrected, size, err)
	}
}

// Measure times fn and records it as one call of a custom protocol (see
// Record). It returns fn's error wrapped in a *RequestError, which a task
// can return without it being counted a second time; nil on success.
func Measure(env *Env, method, name string, fn func() (size int64, err error)) error {
	start := time.Now()
	size, err := fn()
	d := time.Since(start)
	Record(env, method, name, d, size, err)
	if err != nil {
		return &RequestError{Method: method, Name: name, Err: err}
	}
	return nil
}

// RequestError is a failure already recorded in the stats (by the HTTP
// client, Measure or Record's callers). A task returning it, wrapped or
// not, is not counted again.
type RequestError struct {
	Method, Name string
	Err          error // the recorded error; its text is the stats' error text
}

func (e *RequestError) Error() string { return e.Method + " " + e.Name + ": " + e.Err.Error() }
func (e *RequestError) Unwrap() error { return e.Err }

// Base gives a user type access to its Env. Embed it by value:
//
//	type Worker struct{ user.Base }
//
// user.HTTP embeds it already.
type Base struct{ env *Env }

// Env returns the user's Env (nil before the user runs).
func (b *Base) Env() *Env { return b.env }

func (b *Base) bindBase(env *Env) {
	if b != nil {
		b.env = env
	}
}

type baseBinder interface{ bindBase(*Env) }
