package runner

import (
	"context"
	"fmt"
	"math"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/param"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/user"
)

// DefaultStopGrace is how long Stop waits, after cancelling the users'
// contexts, for users that do not return at once.
const DefaultStopGrace = time.Second

// Options configure a runner.
type Options struct {
	Classes  []user.Spawner
	Registry *stats.Registry // nil: a new registry
	Logger   *zap.Logger     // nil: no logging
	Host     string          // the run's host (-H); overrides each class's Host
	// StopTimeout is how long running tasks may go on after a stop (or a
	// ramp-down) before their context is cancelled; 0 cancels at once.
	// Waiting users leave at once either way.
	StopTimeout time.Duration
	// StopGrace bounds the wait, after the hard cancel and the users'
	// OnStop (user.OnStopGrace), for users that ignore their context (0:
	// DefaultStopGrace). Stop then returns and logs how many users did not
	// stop.
	StopGrace time.Duration
	// ResetStats resets the Registry each time spawning completes.
	ResetStats bool
	// Tags and ExcludeTags filter every class's tasks. A class with no task
	// left is dropped with a warning; NewLocal fails if no class is left.
	Tags, ExcludeTags []string
	// OnTestStart runs when a test starts (Start from ready or stopped,
	// not on a change of the user count); an error aborts the Start.
	// OnTestStop runs once the users of a test are gone; its error is
	// logged. A Worker runs WorkerOptions.OnTestStart and OnTestStop
	// through them; package locust runs its hooks itself, around the
	// driver, since a master runs them too.
	OnTestStart, OnTestStop func(ctx context.Context) error
	// Seed seeds every user's Env.Rand (user i gets a stream derived from
	// Seed and i); 0 picks a random seed.
	Seed uint64
	// Gate is handed to every user as Env.Gate (nil: the closed model).
	Gate user.IterationGate
	// OnRequest is called for every request a user records (Locust's
	// events.request); see user.RequestListener.
	OnRequest user.RequestListener
	// UserLimit is the most users Start accepts (0: DefaultUserLimit);
	// more is refused with ErrTooManyUsers.
	UserLimit int
	// Params are the run's custom parameters, handed to every user as
	// Env.Params.
	Params param.Values
}

// Local runs users in this process.
//
// Start begins a test or changes its user count; users are spawned (or
// stopped, newest first) at the spawn rate by a ramp goroutine that Start
// and Stop replace and wait for. Start, Stop and Quit are serialised; the
// getters may be called at any time from any goroutine.
type Local struct {
	o       Options
	log     *zap.Logger
	reg     *stats.Registry
	classes []user.Spawner
	weights []int
	fixed   []int
	isFixed []bool
	pool    *userPool
	ctx     context.Context // cancelled by Quit; passed to the hooks
	cancel  context.CancelFunc
	// forwardStopTest, when set before the first Start, gets the users'
	// stop-test requests instead of StopTest (a worker sends them to its
	// master).
	forwardStopTest func(error)

	// lifecycle is the test's state machine (lifecycle.go); its mu
	// guards only its own fields here.
	lifecycle
}

// NewLocal checks the options and returns a runner in state ready.
func NewLocal(o Options) (*Local, error) {
	if err := checkSpawners(o.Classes); err != nil {
		return nil, err
	}
	if o.StopTimeout < 0 {
		return nil, fmt.Errorf("runner: negative stop timeout %v", o.StopTimeout)
	}
	log, reg := orDefaults(o.Logger, o.Registry)
	o.StopGrace = orDefault(o.StopGrace, DefaultStopGrace)
	o.Seed = orSeed(o.Seed)
	l := &Local{o: o, log: log, reg: reg, lifecycle: newLifecycle()}
	classes, err := filterClasses(o.Classes, o.Tags, o.ExcludeTags, log)
	if err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	for _, c := range classes {
		if c.ClassFixedCount() < 0 || c.ClassWeight() < 0 {
			return nil, fmt.Errorf("runner: user class %q has a negative weight or fixed count", c.ClassName())
		}
		l.classes = append(l.classes, c)
		l.weights = append(l.weights, c.ClassWeight())
		l.fixed = append(l.fixed, c.ClassFixedCount())
		l.isFixed = append(l.isFixed, c.ClassFixedCount() > 0)
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.pool = newUserPool(poolConfig{
		classes:     l.classes,
		host:        o.Host,
		stats:       reg,
		log:         log,
		gate:        o.Gate,
		stopTest:    l.signalStopTest,
		seed:        o.Seed,
		stopTimeout: o.StopTimeout,
		onRequest:   o.OnRequest,
		params:      o.Params,
	})
	return l, nil
}

func (l *Local) signalStopTest(reason error) {
	if reason == nil {
		reason = user.ErrStopTest
	}
	if l.forwardStopTest != nil {
		l.forwardStopTest(reason)
		return
	}
	if l.offerStopTest(reason) {
		l.log.Info("a user asked to stop the test", zap.Error(reason))
	}
}

// Start starts a test with users users spawned at spawnRate users per
// second, or, while a test runs, changes its user count: up by spawning,
// down by stopping the newest users first, at spawnRate either way. The
// ramp runs in the background; State is spawning until it completes, then
// running. A fresh test (from ready or stopped) clears the stats and runs
// OnTestStart first.
func (l *Local) Start(users int, spawnRate float64) error {
	if err := l.lockStart(users, spawnRate, l.o.UserLimit); err != nil {
		return err
	}
	defer l.ctl.Unlock()
	if spawnRate > 100 {
		l.log.Warn("the spawn rate is very high (>100 users/s), which can overload this process while ramping; do you need to ramp up that fast?",
			zap.Float64("spawn_rate", spawnRate))
	}
	targets := Targets(l.weights, l.fixed, users)
	if got := sum(targets); got < users {
		l.log.Warn("only fixed-count user classes: running fewer users than asked", zap.Int("asked", users), zap.Int("users", got))
	}
	return l.startLocked(targets, spawnRate)
}

// applyTargets moves the users to per-class targets at once, as a Start
// whose ramp has a single step and returns when it is done (a worker
// applying its master's spawn message). It returns the live counts.
func (l *Local) applyTargets(targets []int) ([]int, error) {
	l.ctl.Lock()
	defer l.ctl.Unlock()
	if l.quit {
		return l.pool.counts(), ErrQuit
	}
	err := l.startLocked(targets, 0)
	return l.pool.counts(), err
}

// startLocked begins a test (or changes its user count) towards per-class
// targets at spawnRate; spawnRate 0 ramps at once, before it returns. ctl
// is held.
func (l *Local) startLocked(targets []int, spawnRate float64) error {
	l.mu.Lock()
	fresh := l.freshLocked()
	l.mu.Unlock()
	if fresh {
		l.forgetStopTest()
		l.reg.Reset()
		if l.o.OnTestStart != nil {
			if err := l.o.OnTestStart(l.ctx); err != nil {
				return fmt.Errorf("runner: test start hook: %w", err)
			}
		}
	}
	l.waitRamp() // the transition starts from where the old ramp left the pool
	tr := newTransition(l.pool.counts(), targets, l.weights, l.isFixed)
	ctx, gen, done := l.beginRamp(l.ctx, nil)
	if spawnRate == 0 {
		l.ramp(ctx, tr, math.Inf(1), gen, done)
		return nil
	}
	l.log.Info("ramping", zap.Int("users", sum(targets)), zap.Float64("spawn_rate", spawnRate))
	go l.ramp(ctx, tr, spawnRate, gen, done)
	return nil
}

// ramp applies tr in steps of max(1, floor(rate)) changes, a step every
// step/rate seconds from the first (so the time the changes take is not
// added), with no sleep after the last step.
func (l *Local) ramp(ctx context.Context, tr *transition, rate float64, gen uint64, done chan struct{}) {
	defer close(done)
	complete := paceSteps(ctx, rate, func(perStep int) bool {
		for k := 0; k < perStep; k++ {
			if !tr.step(l.pool) {
				break
			}
		}
		return tr.done()
	})
	if !complete || !l.rampComplete(gen) || math.IsInf(rate, 1) {
		return
	}
	l.log.Info("all users spawned", zap.Any("classes", l.ClassCounts()), zap.Int("users", l.UserCount()))
	resetAfterSpawn(l.o.ResetStats, l.log, l.reg)
}

// Stop stops the test: the ramp ends, every user's Env.Stopping closes,
// running tasks get StopTimeout to finish, then the users' contexts are
// cancelled and Stop waits at most user.OnStopGrace + StopGrace more (logging how many users
// ignored it). OnTestStop runs, and the state becomes stopped. Stop
// returns at once when no test runs.
func (l *Local) Stop() { l.serialised(l.stopLocked) }

func (l *Local) stopLocked() { l.stopWithinLocked(l.o.StopTimeout) }

// stopWithin stops the test as Stop does, giving running tasks up to
// timeout (a worker's stop timeout comes with each spawn).
func (l *Local) stopWithin(timeout time.Duration) {
	l.serialised(func() { l.stopWithinLocked(timeout) })
}

func (l *Local) stopWithinLocked(timeout time.Duration) {
	if !l.beginStop() {
		return
	}
	if n := l.pool.stopAll(timeout, l.o.StopGrace); n > 0 {
		l.log.Warn("users did not stop after their context was cancelled; they are left running", zap.Int("users", n))
	}
	if l.o.OnTestStop != nil {
		if err := l.o.OnTestStop(l.ctx); err != nil {
			l.log.Error("test stop hook failed", zap.Error(err))
		}
	}
	l.endStop(nil)
	l.log.Info("test stopped")
}

// Quit stops the test (as Stop) and ends the runner for good: Done closes,
// and Start fails with ErrQuit.
func (l *Local) Quit() { l.quitOnce(l.stopLocked, l.cancel) }

// UserCount returns the number of live users (users told to stop, or that
// ended by themselves, are not counted).
func (l *Local) UserCount() int { return l.pool.total() }

// ClassCounts returns the live users per class name (every class, zeros
// included).
func (l *Local) ClassCounts() map[string]int {
	counts := l.pool.counts()
	out := make(map[string]int, len(counts))
	for i, c := range l.classes {
		out[c.ClassName()] = counts[i]
	}
	return out
}

// Classes returns the user classes that run (after tag filtering), in order.
func (l *Local) Classes() []user.Spawner { return append([]user.Spawner(nil), l.classes...) }

// Registry returns the stats registry the users record into.
func (l *Local) Registry() *stats.Registry { return l.reg }
