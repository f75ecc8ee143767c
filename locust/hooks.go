package locust

import (
	"context"
	"fmt"

	"github.com/golocust/golocust/param"
	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/stats"
)

// Hooks are called at points of a process's life with the run's
// Environment (Locust's init, test_start and test_stop events). As
// Locust's events, each runs on the standalone process or the master and
// on every worker too: Init once per process (on a worker before it
// connects, so its WorkerIndex is still -1; an error ends the worker with
// exit 1), TestStart and TestStop per test (Environment.WorkerIndex tells
// which worker; a worker logs their errors). Each runs on one
// goroutine at a time. A hook must not block for long: the web UI's start
// and stop wait for it.
type Hooks struct {
	// Init runs once, after the process is set up and before the web UI
	// serves or the first test starts. An error ends the process (exit 1).
	Init func(env *Environment) error
	// TestStart runs before the users of a test start (not when the user
	// count of a running test changes); an error refuses the start (the
	// web form shows it; a headless run ends with it).
	TestStart func(ctx context.Context, env *Environment) error
	// TestStop runs once the users of a test are gone; its error is
	// logged.
	TestStop func(ctx context.Context, env *Environment) error
}

// Environment is what hooks see of the run, as Locust's Environment:
// the options, the test's host and custom parameters, the runner's state
// and counts, and the statistics. Its getters are safe to call from the
// hook and from goroutines it starts.
type Environment struct {
	cfg    Config
	host   string
	params param.Values
	drv    runView
	master *runner.Master
	reg    *stats.Registry
	index  int // the worker's index; -1 off a worker
	worker bool
}

// runView is what the Environment reads of a runner: the session's
// driver, or a worker.
type runView interface {
	State() runner.State
	UserCount() int
}

// Options are the parsed options of the process (flags, env, config files
// and Config), as Locust's parsed_options. Changing the copy changes
// nothing.
func (e *Environment) Options() Config { return e.cfg }

// Host is the test's target: -H or the web form's host; "" when the
// classes' own hosts apply.
func (e *Environment) Host() string { return e.host }

// Params are the test's custom parameters (Config.Params): read them with
// the declared param.Param's Get.
func (e *Environment) Params() param.Values { return e.params }

// State is the runner's state: ready before a test, then spawning,
// running, stopping, stopped (on a worker: its own state).
func (e *Environment) State() runner.State {
	if e.drv == nil {
		return runner.StateReady
	}
	return e.drv.State()
}

// UserCount is the number of running users (across the workers on a
// master).
func (e *Environment) UserCount() int {
	if e.drv == nil {
		return 0
	}
	return e.drv.UserCount()
}

// WorkerCount is the number of connected workers on a master, 0 on a
// standalone process or a worker.
func (e *Environment) WorkerCount() int {
	if e.master == nil {
		return 0
	}
	return e.master.WorkerCount()
}

// WorkerIndex is Locust's worker_index: the index the master gave this
// worker (0, 1, ...), -1 on a standalone process or the master.
func (e *Environment) WorkerIndex() int { return e.index }

// IsWorker tells whether the hook runs on a worker; its Stats are then
// the worker's own.
func (e *Environment) IsWorker() bool { return e.worker }

// IsMaster tells whether this process is the master of a cluster.
func (e *Environment) IsMaster() bool { return e.master != nil }

// Stats is a snapshot of the statistics so far (at TestStop: the test's
// final numbers; on a master: merged from every worker's reports).
func (e *Environment) Stats() *stats.Snapshot { return e.reg.Snapshot() }

// environment builds the hooks' view with drv as the runner; s.mu is held
// (or the session not yet shared).
func (s *session) environment(drv driver, host string) *Environment {
	cfg := *s.cfg
	cfg.Params = append([]param.Spec(nil), cfg.Params...)
	env := &Environment{cfg: cfg, host: host, params: s.params, master: s.master, reg: s.reg, index: -1}
	if drv != nil {
		env.drv = drv
	}
	return env
}

// hookTestStart runs Config.OnTestStart and Hooks.TestStart; s.mu is
// held.
func (s *session) hookTestStart(drv driver, host string) error {
	if s.cfg.OnTestStart != nil {
		if err := s.cfg.OnTestStart(s.ctx); err != nil {
			return fmt.Errorf("OnTestStart: %w", err)
		}
	}
	if s.cfg.Hooks.TestStart != nil {
		if err := s.cfg.Hooks.TestStart(s.ctx, s.environment(drv, host)); err != nil {
			return fmt.Errorf("Hooks.TestStart: %w", err)
		}
	}
	return nil
}

// hookTestStop runs Config.OnTestStop and Hooks.TestStop, returning their
// errors to log; s.mu is held.
func (s *session) hookTestStop() []error {
	var errs []error
	if s.cfg.OnTestStop != nil {
		if err := s.cfg.OnTestStop(s.ctx); err != nil {
			errs = append(errs, fmt.Errorf("OnTestStop: %w", err))
		}
	}
	if s.cfg.Hooks.TestStop != nil {
		if err := s.cfg.Hooks.TestStop(s.ctx, s.environment(s.drv, s.host)); err != nil {
			errs = append(errs, fmt.Errorf("Hooks.TestStop: %w", err))
		}
	}
	return errs
}

// hookInit runs Hooks.Init.
func (s *session) hookInit() error {
	if s.cfg.Hooks.Init == nil {
		return nil
	}
	s.mu.Lock()
	env := s.environment(nil, s.host)
	s.mu.Unlock()
	if err := s.cfg.Hooks.Init(env); err != nil {
		return fmt.Errorf("Hooks.Init: %w", err)
	}
	return nil
}

// workerInit runs Hooks.Init on a worker, before it connects: the
// Environment has the worker's own options and parameter values, and
// WorkerIndex -1 (the master gives the index at the handshake).
func workerInit(cfg *Config, w *runner.Worker) error {
	if cfg.Hooks.Init == nil {
		return nil
	}
	c := *cfg
	c.Params = append([]param.Spec(nil), cfg.Params...)
	env := &Environment{cfg: c, host: cfg.Host, params: param.NewValues(cfg.ParamValues), drv: w, reg: w.Registry(), index: -1, worker: true}
	if err := cfg.Hooks.Init(env); err != nil {
		return fmt.Errorf("Hooks.Init: %w", err)
	}
	return nil
}

// workerHooks runs Hooks.TestStart and Hooks.TestStop on a worker.
func workerHooks(ctx context.Context, cfg *Config, o *runner.WorkerOptions, w **runner.Worker, log func(msg string, err error)) {
	env := func(host string, params param.Values) *Environment {
		c := *cfg
		c.Params = append([]param.Spec(nil), cfg.Params...)
		return &Environment{cfg: c, host: host, params: params, drv: *w, reg: (*w).Registry(), index: (*w).Index(), worker: true}
	}
	if h := cfg.Hooks.TestStart; h != nil {
		o.OnTestStart = func(host string, params param.Values) {
			if err := h(ctx, env(host, params)); err != nil {
				log("Hooks.TestStart", err)
			}
		}
	}
	if h := cfg.Hooks.TestStop; h != nil {
		o.OnTestStop = func(host string, params param.Values) {
			if err := h(ctx, env(host, params)); err != nil {
				log("Hooks.TestStop", err)
			}
		}
	}
}
