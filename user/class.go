package user

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/taskset"
)

// TaskShare is one task's share in a class's task ratio (see
// taskset.Set.Ratio).
type TaskShare = taskset.Share

// Spawner is the non-generic face of a user class, what the runner uses.
// Class[U] implements it.
type Spawner interface {
	ClassName() string
	ClassWeight() int
	ClassFixedCount() int
	ClassHost() string
	// Filter applies --tags/--exclude-tags; the error names the class when
	// it has no task left.
	Filter(include, exclude []string) (Spawner, error)
	TaskRatio() []TaskShare
	// Run runs one user until it ends: graceful stop (env.Stopping),
	// ErrStopUser, ErrStopTest, a closed Gate, or ctx cancelled (hard
	// stop: the running task's ctx is cancelled and in-flight HTTP
	// requests are cut off).
	Run(ctx context.Context, env *Env)
}

// Starter is implemented by user types (*U) that need to run something
// once before their first task, such as a login.
type Starter interface {
	OnStart(ctx context.Context) error
}

// Stopper is implemented by user types (*U) that need to run something
// when the user ends (after a successful OnStart).
type Stopper interface {
	OnStop(ctx context.Context) error
}

// Class describes a user type U: every spawned user gets its own zero U
// (embedded HTTP, NetHTTP, GRPC and Base are bound to the user's Env
// before OnStart; their connections are closed when the user ends).
type Class[U any] struct {
	Name       string       // default: U's type name
	Weight     int          // share among weighted classes; 0 means 1
	FixedCount int          // > 0: exactly this many users, spawned before weighted ones
	Host       string       // default host; the run's -H wins
	Wait       taskset.Wait // after each task; nil = Constant(0)
	Tags       []string     // apply to every task
	Tasks      *taskset.Set[U]
	// Traceparent makes every HTTP and gRPC call of the class's users
	// carry a W3C traceparent header (see Env.Traceparent); the
	// --traceparent flag sets it on every class.
	Traceparent bool
}

var _ Spawner = Class[struct{}]{}

// Traceable is a user class whose calls can carry a W3C traceparent
// header; Class[U] implements it. --traceparent turns it on through it.
type Traceable interface {
	Spawner
	// WithTraceparent returns the class with its calls traced (on) or
	// left as the class says (off); the receiver is not changed.
	WithTraceparent(on bool) Spawner
}

var _ Traceable = Class[struct{}]{}

// Traced returns classes with their calls traced (Traceable.
// WithTraceparent(true)), and the names of those that cannot be (they are
// not Traceable) and are returned as they are.
func Traced(classes []Spawner) (out []Spawner, untraceable []string) {
	out = make([]Spawner, len(classes))
	for i, c := range classes {
		t, ok := c.(Traceable)
		if !ok {
			untraceable = append(untraceable, c.ClassName())
			out[i] = c
			continue
		}
		out[i] = t.WithTraceparent(true)
	}
	return out, untraceable
}

// WithTraceparent implements Traceable.
func (c Class[U]) WithTraceparent(on bool) Spawner {
	c.Traceparent = c.Traceparent || on
	return c
}

// ClassName implements Spawner.
func (c Class[U]) ClassName() string {
	if c.Name != "" {
		return c.Name
	}
	return reflect.TypeFor[U]().Name()
}

// ClassWeight implements Spawner.
func (c Class[U]) ClassWeight() int {
	if c.Weight == 0 {
		return 1
	}
	return c.Weight
}

// ClassFixedCount implements Spawner.
func (c Class[U]) ClassFixedCount() int { return c.FixedCount }

// ClassHost implements Spawner.
func (c Class[U]) ClassHost() string { return c.Host }

// ClassWait returns the class's wait strategy (Wait; nil when none). A
// runner that gates the iterations uses it to keep the class's waits.
func (c Class[U]) ClassWait() taskset.Wait { return c.Wait }

// Filter implements Spawner: the class with only the tasks selected by the
// tags (the class's Tags count as tags of every task).
func (c Class[U]) Filter(include, exclude []string) (Spawner, error) {
	if c.Tasks.Len() == 0 {
		return nil, fmt.Errorf("user class %q has no tasks", c.ClassName())
	}
	set := c.Tasks
	if len(c.Tags) > 0 {
		set = set.WithTags(c.Tags...)
	}
	f, ok := set.Filter(include, exclude)
	if !ok {
		return nil, fmt.Errorf("user class %q had no tasks left after filtering by tags (include %q, exclude %q)",
			c.ClassName(), include, exclude)
	}
	c.Tasks = f
	c.Tags = nil // carried by the set now
	return c, nil
}

// TaskRatio implements Spawner.
func (c Class[U]) TaskRatio() []TaskShare { return c.Tasks.Ratio() }

type httpBinder interface{ bindHTTP(env *Env) (*HTTP, error) }

type netHTTPBinder interface {
	bindNetHTTP(env *Env) (*NetHTTP, error)
}

type grpcBinder interface{ bindGRPC(env *Env) (*GRPC, error) }

// boundClient is a client embedded in a user and bound to its Env: start
// ties it to a context (the user's, later OnStop's own), whose cancel cuts
// its requests off; close ends its connections.
type boundClient interface {
	start(ctx context.Context)
	close()
}

// bindClients binds the clients embedded in u to env. On an error the
// ones bound already are returned too, to be closed.
func bindClients(u any, env *Env) ([]boundClient, error) {
	var bound []boundClient
	for _, bind := range []func(any, *Env) (boundClient, bool, error){
		bindAs(httpBinder.bindHTTP), bindAs(netHTTPBinder.bindNetHTTP), bindAs(grpcBinder.bindGRPC),
	} {
		b, ok, err := bind(u, env)
		if err != nil {
			return bound, err
		}
		if ok {
			bound = append(bound, b)
		}
	}
	return bound, nil
}

// bindAs binds a user's client of type C when the user embeds one (has
// B's bind method).
func bindAs[B any, C boundClient](bind func(B, *Env) (C, error)) func(any, *Env) (boundClient, bool, error) {
	return func(u any, env *Env) (boundClient, bool, error) {
		b, ok := u.(B)
		if !ok {
			return nil, false, nil
		}
		c, err := bind(b, env)
		return c, err == nil, err
	}
}

type action uint8

const (
	actWait action = iota
	actNow
	actInterrupt
	actStop
)

// Run implements Spawner: it runs one user of the class until it ends.
func (c Class[U]) Run(ctx context.Context, env *Env) {
	if env == nil {
		env = &Env{}
	}
	env.setLag(-1)
	log := env.Logger
	if log == nil {
		log = zap.NewNop()
	}
	rnd := env.Rand
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		env.Rand = rnd // the user's own source, for its trace ids too
	}
	if c.Traceparent {
		env.Traceparent = true
	}
	if c.Tasks.Len() == 0 {
		log.Error("user class has no tasks", zap.String("class", c.ClassName()))
		return
	}
	u := new(U)
	env.self = u // for the request listener
	// The user's clients are tied to a context whose cancel cuts their
	// requests off: the user's ctx first, OnStop's own context later.
	clients, err := bindClients(u, env)
	defer func() {
		for i := len(clients) - 1; i >= 0; i-- {
			clients[i].close()
		}
	}()
	if err != nil {
		c.cannotStart(env, log, err)
		return
	}
	if b, ok := any(u).(baseBinder); ok {
		b.bindBase(env)
	}
	for _, b := range clients {
		b.start(ctx)
	}

	if s, ok := any(u).(Starter); ok {
		start := time.Now()
		err := call(env, log, "OnStart", s.OnStart, ctx)
		var pe *panicError
		switch act := c.outcome(ctx, env, log, "OnStart", time.Since(start), err); {
		case act == actStop:
			return
		case errors.As(err, &pe):
			c.endedEarly(env, "OnStart panicked")
			return // an exception in on_start ends the user, as in Locust
		case err != nil && act == actWait:
			// A failed login request does not end the user (Locust's
			// on_start records the failure and goes on): it is in the
			// stats already; say so once in the log too.
			log.Warn("OnStart failed; the user goes on to its tasks (return user.ErrStopUser to end it instead)",
				zap.String("class", c.ClassName()), zap.Int("user", env.ID), zap.Error(err))
		}
	}
	if s, ok := any(u).(Stopper); ok {
		defer func() {
			// OnStop runs even when the stop has cancelled ctx (as
			// Locust's on_stop does): with a context of its own, bounded
			// by OnStopGrace, so that a logout is sent and recorded.
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), OnStopGrace)
			defer cancel()
			for _, b := range clients {
				b.start(stopCtx)
			}
			start := time.Now()
			err := call(env, log, "OnStop", s.OnStop, stopCtx)
			c.outcome(stopCtx, env, log, "OnStop", time.Since(start), err)
			if errors.Is(stopCtx.Err(), context.DeadlineExceeded) {
				log.Warn("OnStop ran out of its grace; its requests still in flight were cut off",
					zap.String("class", c.ClassName()), zap.Int("user", env.ID), zap.Duration("grace", OnStopGrace))
			}
		}()
	}
	c.loop(ctx, env, log, rnd, u)
}

// OnStopGrace bounds OnStop: it gets a context that the run's stop (end of
// the run, ramp-down, Stop, --stop-timeout) does not cancel, and that ends
// OnStopGrace after OnStop starts. Runners wait that long, plus their stop
// grace, for users still in OnStop. A second interrupt signal still ends
// the process at once.
const OnStopGrace = 5 * time.Second

// stopped tells whether the user must end: a graceful stop (stopping
// closed) or a hard one (ctx done).
//
// It is asked before every task, so it is two single-case selects, which
// compile to a non-blocking receive each, rather than one select of two
// cases, which goes through the runtime's general select.
func stopped(ctx context.Context, stopping <-chan struct{}) bool {
	select {
	case <-stopping:
		return true
	default:
	}
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

func (c Class[U]) loop(ctx context.Context, env *Env, log *zap.Logger, rnd *rand.Rand, u *U) {
	wait := c.Wait
	if wait == nil {
		wait = constant(0) // never waits, like taskset's default, and says it needs no times
	}
	picker := c.Tasks.NewPicker(rnd, wait)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	stopping := env.Stopping
	keepWait := env.Gate != nil && keepsClassWait(env.Gate) // one wait loop for closed users under a limit too
	var intended time.Time
	// A user reads the clock around its requests; the loop reads it only
	// when it needs times of its own (see timeless). last is the end of
	// the previous task when the loop has not waited since (zero: unknown).
	env.clockBase = time.Now()
	last := env.clockBase
	for {
		if stopped(ctx, stopping) {
			return
		}
		if env.Gate != nil {
			last = time.Time{} // Next may block
			it, ok := env.Gate.Next(ctx)
			if !ok {
				return
			}
			if !it.IsZero() || !keepWait {
				intended = it
			}
			if stopped(ctx, stopping) {
				return
			}
		}
		t := picker.Next()
		w := picker.Waiter()
		_, paced := w.(taskset.Pacer)
		_, untimed := w.(timeless)
		untimed = untimed && !paced && intended.IsZero()
		start := last
		if !untimed || start.IsZero() {
			start = time.Now()
		}
		switch {
		case !intended.IsZero():
			lag := max(0, start.Sub(intended))
			env.setLag(lag)
			if env.Stats != nil {
				env.Stats.RecordLag(lag) // the generator's own lateness
			}
		case paced && env.Gate == nil:
			env.setLag(0) // first task of a paced user: on time
		default:
			env.setLag(-1)
		}
		env.lastEnd.Store(0)
		err := runTask(env, log, t, u, ctx)
		end, ok := env.takeEnd()
		if !ok || !untimed || err != nil {
			end = time.Now()
		}
		last, intended = end, time.Time{}
		act := actWait
		if err != nil {
			act = c.outcome(ctx, env, log, t.Name, end.Sub(start), err)
		}
		env.setLag(-1)
		switch {
		case act == actStop:
			return
		case env.Gate != nil && !keepWait:
			if act == actInterrupt {
				picker.Interrupt()
			}
			continue
		}
		pause := w.Pause(start, end)
		if act == actInterrupt {
			picker.Interrupt()
			continue
		}
		if p, ok := w.(taskset.Pacer); ok {
			intended = p.Intended()
		}
		if act == actNow || pause <= 0 {
			continue
		}
		timer.Reset(pause)
		select {
		case <-timer.C:
			last = time.Time{}
		case <-stopping:
			return
		case <-ctx.Done():
			return
		}
	}
}

// cannotStart reports a user that cannot start (a client that cannot be
// bound) and stops the test.
func (c Class[U]) cannotStart(env *Env, log *zap.Logger, err error) {
	c.endedEarly(env, "cannot start: "+err.Error())
	err = fmt.Errorf("user class %q: %w", c.ClassName(), err)
	log.Error("cannot start user", zap.Error(err))
	if env.StopTest != nil {
		env.StopTest(err)
	}
}

// endedEarly counts a user that ends before the run stops it.
func (c Class[U]) endedEarly(env *Env, reason string) {
	if env.Stats != nil {
		env.Stats.RecordUserEnd(c.ClassName() + ": " + reason)
	}
}

// outcome records a task's (or hook's) error once and tells the loop what
// to do next.
func (c Class[U]) outcome(ctx context.Context, env *Env, log *zap.Logger, name string, d time.Duration, err error) action {
	var re *RequestError
	var pe *panicError
	switch {
	case err == nil:
		return actWait
	case errors.Is(err, taskset.ErrRescheduleNow):
		return actNow
	case errors.Is(err, taskset.ErrInterrupt):
		return actInterrupt
	case errors.Is(err, ErrStopUser):
		switch name {
		case "OnStop":
		case "OnStart":
			c.endedEarly(env, "OnStart returned user.ErrStopUser")
		default:
			c.endedEarly(env, "task "+name+" returned user.ErrStopUser")
		}
		return actStop
	case errors.Is(err, ErrStopTest):
		log.Info("a task stopped the test", zap.String("class", c.ClassName()), zap.String("task", name), zap.Error(err))
		if env.StopTest != nil {
			env.StopTest(err)
		}
		return actStop
	case errors.As(err, &pe):
		return actWait // recorded as an exception already
	case errors.As(err, &re):
		return actWait // recorded as a failed request already
	case ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return actStop // the hard stop, not a failure of the task
	}
	Record(env, TaskMethod, name, d, 0, err)
	return actWait
}
