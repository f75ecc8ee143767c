package runner

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/golocust/golocust/internal/bounds"
	"github.com/golocust/golocust/internal/selection"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/user"
	"go.uber.org/zap"
)

// State is a runner's (or a worker node's) run state, with Locust's
// strings.
type State string

// Run states. Workers also use StateCleanup and StateMissing.
const (
	StateReady    State = "ready"
	StateSpawning State = "spawning"
	StateRunning  State = "running"
	StateCleanup  State = "cleanup"
	StateStopping State = "stopping"
	StateStopped  State = "stopped"
	StateMissing  State = "missing"
)

// ErrQuit is returned by Start after Quit.
var ErrQuit = errors.New("runner: the runner has quit")

// runState is a run state that can be waited for: Local, Master and
// Worker embed it. Its mu also guards the fields of the type that embeds
// it (each says which).
type runState struct {
	mu    sync.Mutex
	state State
	wake  notifier      // notified on every state change (and by the owner on its counts)
	done  chan struct{} // closed once the runner has quit; nil: never
}

// State returns the run state.
func (r *runState) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// setStateLocked changes the state and wakes WaitState. r.mu is held.
func (r *runState) setStateLocked(s State) {
	r.state = s
	r.wake.notify()
}

// testOnLocked tells whether a test spawns or runs. r.mu is held.
func (r *runState) testOnLocked() bool {
	return r.state == StateSpawning || r.state == StateRunning
}

// WaitState waits until the runner is in one of states, without polling:
// after Start, WaitState(ctx, StateRunning) returns once the ramp is
// complete (on a master: once its every step is dispatched). It returns an
// error when ctx ends first, or wrapping ErrQuit when the runner quits in
// another state.
func (r *runState) WaitState(ctx context.Context, states ...State) error {
	return waitUntil(ctx, &r.wake, r.done, func() bool { return stateIn(r.State(), states) }, statesText(states), r.State)
}

// lifecycle is the one state machine of a test, shared by Local and
// Master: Start validates and serialises, a fresh test (from ready or
// stopped) is told apart from a change of the user count, a ramp runs in
// the background and is replaced by the next Start or ended by Stop,
// Stop goes through stopping to stopped, and Quit ends it all once. What
// a ramp step does, and what stopping means, is the owner's.
type lifecycle struct {
	runState
	ctl      sync.Mutex // serialises Start, Stop and Quit (and a master's Configure); taken before mu
	quit     bool       // guarded by ctl
	stopTest chan error // the first stop-test reason of a test

	// Guarded by mu.
	gen        uint64 // ramp generation
	rampCancel context.CancelFunc
	rampDone   chan struct{}
}

func newLifecycle() lifecycle {
	return lifecycle{runState: runState{state: StateReady, done: make(chan struct{})}, stopTest: make(chan error, 1)}
}

// lockStart checks a Start's arguments and takes ctl; the caller unlocks
// it. It fails with ErrQuit after Quit.
func (lc *lifecycle) lockStart(users int, spawnRate float64, userLimit int) error {
	if users < 0 {
		return fmt.Errorf("runner: negative user count %d", users)
	}
	if err := checkUserLimit(users, userLimit); err != nil {
		return err
	}
	if err := bounds.SpawnRate(spawnRate); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	lc.ctl.Lock()
	if lc.quit {
		lc.ctl.Unlock()
		return ErrQuit
	}
	return nil
}

// freshLocked tells whether a Start begins a new test (from ready or
// stopped) rather than changing the user count. mu is held.
func (lc *lifecycle) freshLocked() bool {
	return lc.state == StateReady || lc.state == StateStopped
}

// forgetStopTest drops a stop request of an earlier test.
func (lc *lifecycle) forgetStopTest() {
	select {
	case <-lc.stopTest:
	default:
	}
}

// offerStopTest delivers reason on StopTest unless one waits already;
// it reports whether it did.
func (lc *lifecycle) offerStopTest(reason error) bool {
	select {
	case lc.stopTest <- reason:
		return true
	default:
		return false
	}
}

// beginRamp ends the running ramp, if any, then enters spawning with a
// new ramp generation whose context derives from parent. locked, when
// set, runs under mu first (a master resets its test there). The caller
// starts the ramp goroutine, which closes done and reports its end with
// rampComplete(gen).
func (lc *lifecycle) beginRamp(parent context.Context, locked func()) (ctx context.Context, gen uint64, done chan struct{}) {
	lc.waitRamp()
	ctx, cancel := context.WithCancel(parent)
	done = make(chan struct{})
	lc.mu.Lock()
	if locked != nil {
		locked()
	}
	lc.setStateLocked(StateSpawning)
	lc.gen++
	gen = lc.gen
	lc.rampCancel, lc.rampDone = cancel, done
	lc.mu.Unlock()
	return ctx, gen, done
}

// waitRamp cancels the running ramp, if any, and waits for it to return.
func (lc *lifecycle) waitRamp() {
	lc.mu.Lock()
	cancel, done := lc.rampCancel, lc.rampDone
	lc.rampCancel, lc.rampDone = nil, nil
	lc.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// rampComplete moves spawning to running if ramp gen is still the
// current one (no Start or Stop came since); it reports whether it did.
func (lc *lifecycle) rampComplete(gen uint64) bool {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.gen != gen || lc.state != StateSpawning {
		return false
	}
	lc.setStateLocked(StateRunning)
	return true
}

// beginStop moves a spawning or running test to stopping and ends its
// ramp; false when no test runs. ctl is held. The caller stops its users,
// then calls endStop.
func (lc *lifecycle) beginStop() bool {
	lc.mu.Lock()
	if !lc.testOnLocked() {
		lc.mu.Unlock()
		return false
	}
	lc.setStateLocked(StateStopping)
	lc.mu.Unlock()
	lc.waitRamp()
	return true
}

// endStop enters stopped; locked, when set, runs under mu first.
func (lc *lifecycle) endStop(locked func()) {
	lc.mu.Lock()
	if locked != nil {
		locked()
	}
	lc.setStateLocked(StateStopped)
	lc.mu.Unlock()
}

// quitOnce runs stop (the test's Stop, ctl held), then end, then closes
// Done; later calls return at once.
func (lc *lifecycle) quitOnce(stop, end func()) {
	lc.ctl.Lock()
	defer lc.ctl.Unlock()
	if lc.quit {
		return
	}
	stop()
	lc.quit = true
	end()
	close(lc.done)
}

// StopTest delivers why the test should stop on its own (a user returned
// user.ErrStopTest; on a master also: the last worker went away). The
// runner does not stop by itself: the owner decides (headless: Quit; web
// UI: Stop).
func (lc *lifecycle) StopTest() <-chan error { return lc.stopTest }

// Done is closed when Quit has finished.
func (lc *lifecycle) Done() <-chan struct{} { return lc.done }

// serialised runs fn with ctl held (a Stop).
func (lc *lifecycle) serialised(fn func()) {
	lc.ctl.Lock()
	defer lc.ctl.Unlock()
	fn()
}

// resetAfterSpawn resets reg once a ramp is complete when on
// (--reset-stats).
func resetAfterSpawn(on bool, log *zap.Logger, reg *stats.Registry) {
	if on {
		log.Info("resetting stats")
		reg.Reset()
	}
}

// orDefaults returns log and reg, or for nil a logger that drops
// everything and a new registry.
func orDefaults(log *zap.Logger, reg *stats.Registry) (*zap.Logger, *stats.Registry) {
	if log == nil {
		log = zap.NewNop()
	}
	if reg == nil {
		reg = stats.NewRegistry(stats.Options{})
	}
	return log, reg
}

// orDefault returns v, or d when v is not positive (an option left 0).
func orDefault[T int | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

// orSeed returns seed, or a random odd seed for 0.
func orSeed(seed uint64) uint64 {
	if seed == 0 {
		return rand.Uint64() | 1
	}
	return seed
}

// checkSpawners refuses no class, a nil class and two classes of one name.
func checkSpawners(classes []user.Spawner) error {
	if len(classes) == 0 {
		return errors.New("runner: no user classes given")
	}
	seen := map[string]bool{}
	for _, c := range classes {
		if c == nil {
			return errors.New("runner: nil user class")
		}
		if seen[c.ClassName()] {
			return fmt.Errorf("runner: two user classes are named %q; give each a distinct Name", c.ClassName())
		}
		seen[c.ClassName()] = true
	}
	return nil
}

// filterClasses keeps the classes with a task left after filtering by
// tags (Tags, ExcludeTags), each filtered; a class with none is dropped
// with a warning. It fails when no class is left.
func filterClasses(classes []user.Spawner, tags, exclude []string, log *zap.Logger) ([]user.Spawner, error) {
	kept, dropped, err := selection.Tags(classes, tags, exclude)
	if len(dropped) > 0 && err == nil {
		log.Warn("user classes dropped: no task left after tag filtering", zap.Strings("classes", dropped))
	}
	return kept, err
}
