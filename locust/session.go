package locust

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/internal/health"
	"github.com/golocust/golocust/metrics"
	"github.com/golocust/golocust/param"
	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/threshold"
	"github.com/golocust/golocust/user"
	"github.com/golocust/golocust/webui/audit"
)

// Result is what a finished run hands back: the final statistics and the
// exit code Main would use.
type Result struct {
	// Stats is the final cumulative snapshot (entries, Aggregated total,
	// failures and exceptions).
	Stats *stats.Snapshot
	// ExitCode is 0; 3 when a threshold was breached; otherwise
	// Config.ExitCodeOnError when a request failed or a task panicked.
	ExitCode int
	// Thresholds are the verdicts of Config.Thresholds on the final
	// statistics.
	Thresholds []threshold.Result
}

// Intervals of the periodic work of a run, as in Locust.
const (
	consoleInterval = 2 * time.Second
	csvInterval     = 1 * time.Second
	historyInterval = 2 * time.Second
)

// driver is the runner a session drives: the local runner, or the master
// of a cluster. Both speak in absolute user counts.
type driver interface {
	Start(users int, spawnRate float64) error
	Stop()
	Quit()
	State() runner.State
	UserCount() int
	ClassCounts() map[string]int
	StopTest() <-chan error
}

// driverFactory builds the driver for one test over the chosen classes
// and host.
type driverFactory func(classes []user.Spawner, host string) (driver, error)

// session is one process's life: the registry, the driver and the
// outputs around them. It is the one code path behind Main and
// RunHeadless, headless or with the web UI.
type session struct {
	cfg     *Config
	log     *zap.Logger
	logs    *logRing
	stdout  io.Writer
	stderr  io.Writer
	reg     *stats.Registry
	history *stats.History
	csv     *csvOutput
	classes []user.Spawner // selected and filtered
	factory driverFactory
	started time.Time
	// thresholds are the parsed Config.Thresholds.
	thresholds []threshold.Threshold
	// extra, when set, gives metrics beyond the stats (load models).
	extra func() map[string]float64
	// load is the load model (shape, arrival rate, iteration limit); nil
	// for plain closed users.
	load *loadModel
	// workerStates, when set, counts workers per state (master).
	workerStates func() map[string]int
	// master is the cluster's master in --master mode (cluster.go).
	master *runner.Master
	// ready, when set, answers the readiness probe (master: enough
	// workers); nil: ready.
	ready func() error
	// beforeStart, when set, runs before a headless or autostart run
	// starts, once the web UI and the probes serve (a master waiting for
	// its workers). context.Canceled from it ends the session quietly.
	beforeStart func(ctx context.Context) error

	mu      sync.Mutex
	drv     driver
	host    string
	runGen  uint64
	timeUp  chan uint64
	running []user.Spawner
	// snap is the latest snapshot and when it was taken: the console, the
	// CSV writer, the web UI and /metrics share it, since a snapshot of
	// many busy names costs milliseconds.
	snap     *stats.Snapshot
	snapTime time.Time
	snapMu   sync.Mutex
	// ctx is the session's context, handed to the test hooks.
	ctx context.Context
	// testOn is set between Config.OnTestStart and Config.OnTestStop.
	testOn bool
	// peakUsers is the highest user count asked for, for the report.
	peakUsers int
	// lastCounts are the users per class when the last test stopped.
	lastCounts map[string]int
	// edits are the class picker's per-class settings (classpicker.go).
	edits classEdits
	// ended is signalled each time a test's users have stopped, for
	// --autoquit.
	ended chan struct{}
	// allowed are the targets a run may load (--allow-hosts).
	allowed allowlist
	// audit records logins, run control and worker events (--audit-log;
	// in memory only without it).
	audit *audit.Log
	// testBegan and testEnded bound the last test (testEnded zero while it
	// runs), so that the report's duration leaves out the time before and
	// after it (waiting for workers, --autoquit, an idle web UI).
	testBegan, testEnded time.Time
	// params are the custom parameters of the current (or next) test:
	// Config.ParamValues, then what the web form set.
	params param.Values
}

// execute validates cfg, builds the session and runs it.
func execute(ctx context.Context, cfg *Config, classes []user.Spawner) (*Result, error) {
	withDefaults := cfg.withDefaults() // a copy: the caller's Config stays as given
	cfg = &withDefaults
	if err := cfg.Validate(); err != nil {
		return nil, &UsageError{Msg: err.Error()}
	}
	stdout, stderr := cfg.Stdout, cfg.Stderr
	if stdout == nil {
		stdout = os.Stdout
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	logs := newLogRing(500)
	log, closeLog, err := newLogger(cfg, stderr, logs)
	if err != nil {
		return nil, &UsageError{Msg: err.Error()}
	}
	defer closeLog()
	defer func() { _ = log.Sync() }()
	picked, err := selectClasses(cfg, classes, log)
	if err != nil {
		return nil, err
	}
	if cfg.Cluster.Worker {
		return runWorker(ctx, cfg, picked, log, logs)
	}
	s := &session{
		cfg: cfg, log: log, logs: logs, stdout: stdout, stderr: stderr,
		classes: picked, host: cfg.Host, timeUp: make(chan uint64, 1),
		ended: make(chan struct{}, 1), params: param.NewValues(cfg.ParamValues),
	}
	s.allowed = newAllowlist(cfg.Web.AllowHosts, cfg.Host, picked)
	if cfg.Host != "" {
		if err := s.allowed.check(cfg.Host); err != nil {
			return nil, usageErrorf("-H/--host: %v", err)
		}
	} else {
		for _, c := range picked {
			if h := c.ClassHost(); h != "" {
				if err := s.allowed.check(h); err != nil {
					return nil, usageErrorf("user class %s: host %v", c.ClassName(), err)
				}
			}
		}
	}
	if cfg.Web.AuditLog != "" {
		if s.audit, err = audit.Open(cfg.Web.AuditLog); err != nil {
			return nil, &UsageError{Msg: err.Error()}
		}
		defer func() {
			if err := s.audit.Close(); err != nil {
				log.Error("writing the audit log", zap.String("file", cfg.Web.AuditLog), zap.Error(err))
			}
		}()
	} else {
		s.audit = audit.New(nil)
	}
	s.reg = stats.NewRegistry(stats.Options{Warn: func(msg string) { log.Warn(msg) }})
	s.thresholds, _ = threshold.ParseAll(cfg.Thresholds) // Validate has checked them
	s.history = stats.NewHistory(0)
	s.factory = s.localDriver
	if err := s.setupLoad(); err != nil {
		return nil, err
	}
	if cfg.CSVPrefix != "" {
		if s.csv, err = openCSV(cfg.CSVPrefix, cfg.CSVFullHistory); err != nil {
			return nil, err
		}
	}
	if s.csv != nil {
		s.csv.iterations = s.iterations
	}
	stopOTel, err := s.startOTel(ctx)
	if err != nil {
		return nil, err
	}
	defer stopOTel()
	if cfg.Cluster.Master {
		return s.runMaster(ctx)
	}
	return s.serve(ctx)
}

// localDriver runs the users in this process; s.mu is held.
func (s *session) localDriver(classes []user.Spawner, host string) (driver, error) {
	return runner.NewLocal(runner.Options{
		Classes:     s.load.classes(classes),
		Registry:    s.reg,
		Logger:      s.log,
		Host:        host,
		StopTimeout: s.cfg.StopTimeout,
		ResetStats:  s.cfg.ResetStats,
		Gate:        s.load.gate(),
		OnRequest:   s.cfg.OnRequest,
		UserLimit:   s.cfg.userLimit(),
		Params:      s.params,
	})
}

// serve runs the session until ctx ends, or, headless, until the run is
// over; then it stops the users and writes the final outputs.
func (s *session) serve(ctx context.Context) (*Result, error) {
	cfg := s.cfg
	s.started = time.Now()
	s.ctx = ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := s.hookInit(); err != nil {
		return nil, err
	}
	// The probes listen before the web UI, so that they answer as soon
	// as the UI does.
	healthDone, err := serveHealth(ctx, cfg, s.log, s.readiness,
		health.Route{Pattern: "GET /metrics", Handler: metrics.Handler(s.metricsHandler())})
	if err != nil {
		return nil, err
	}
	defer func() {
		cancel()
		if healthDone != nil {
			<-healthDone
		}
	}()
	webDone, err := s.startWeb(ctx)
	if err != nil {
		return nil, err
	}
	if s.beforeStart != nil && (cfg.Headless || cfg.Autostart) {
		// A master waits for its workers here, with the web UI and the
		// probes already up (readiness says how many have connected).
		if err := s.beforeStart(ctx); err != nil {
			cancel()
			if webDone != nil {
				<-webDone
			}
			if errors.Is(err, context.Canceled) {
				s.log.Info("shutting down before the run started")
				return s.finish(time.Now())
			}
			return nil, err
		}
	}
	if cfg.Headless || cfg.Autostart {
		s.log.Info("starting run", zap.Int("users", cfg.Users), zap.Float64("spawn_rate", cfg.SpawnRate),
			zap.Duration("run_time", cfg.RunTime), zap.String("host", cfg.Host))
		if err := s.startRun(cfg.Users, cfg.SpawnRate, cfg.Host, cfg.RunTime, nil); err != nil {
			cancel()
			if webDone != nil {
				<-webDone
			}
			return nil, err
		}
	}
	console := time.NewTicker(consoleInterval)
	defer console.Stop()
	csvTick := time.NewTicker(csvInterval)
	defer csvTick.Stop()
	historyTick := time.NewTicker(historyInterval)
	defer historyTick.Stop()
	thresholdTick := time.NewTicker(thresholdInterval)
	defer thresholdTick.Stop()
	watchTick := time.NewTicker(generatorWatchInterval)
	defer watchTick.Stop()
	var watch generatorWatch
	printTables := (cfg.Headless && !cfg.OnlySummary) || cfg.PrintStats
	// autoquit fires --autoquit after an autostarted run has ended.
	var autoquit <-chan time.Time
loop:
	for {
		select {
		case <-ctx.Done():
			s.log.Info("shutting down")
			break loop
		case <-s.ended:
			if cfg.Autostart && cfg.Autoquit && !cfg.Headless {
				s.log.Info("the run has ended; quitting after --autoquit", zap.Duration("autoquit", cfg.AutoquitAfter))
				autoquit = time.After(cfg.AutoquitAfter)
			}
		case <-autoquit:
			autoquit = nil
			if s.active() {
				// A run started from the web UI meanwhile: its end
				// re-arms the quit.
				continue
			}
			s.log.Info("--autoquit time reached, shutting down")
			break loop
		case err := <-webDone:
			if err != nil {
				s.log.Error("web UI stopped", zap.Error(err))
				s.stopRun()
				res, ferr := s.finish(time.Now())
				return res, errors.Join(err, ferr)
			}
			webDone = nil
		case gen := <-s.timeUp:
			if s.currentGen() != gen {
				continue
			}
			s.log.Info("run time limit reached, stopping")
			s.stopRun()
			if cfg.Headless {
				break loop
			}
		case <-s.loadFinished():
			s.log.Info("the load model has ended the run, stopping")
			s.stopRun()
			if cfg.Headless {
				break loop
			}
		case err := <-s.stopTestC():
			s.log.Info("a user stopped the test", zap.Error(err))
			s.stopRun()
			if cfg.Headless {
				break loop
			}
		case now := <-console.C:
			if printTables && s.active() {
				snap := s.snapshot()
				stats.WriteConsoleStats(s.stderr, snap, now, false)
				s.writeStatus(s.stderr, snap, now)
			}
		case now := <-thresholdTick.C:
			if s.active() && s.checkAbort(now) {
				s.stopRun()
				if cfg.Headless {
					break loop
				}
			}
		case <-watchTick.C:
			if s.active() {
				watch.check(s.log, s.snapshot())
			}
		case now := <-csvTick.C:
			if s.csv != nil && s.active() {
				if err := s.csv.write(s.snapshot(), s.UserCount(), now); err != nil {
					s.log.Error("writing CSV", zap.Error(err))
				}
			}
		case now := <-historyTick.C:
			if s.active() {
				s.appendHistory(now)
			}
		}
	}
	s.stopRun()
	s.quit()
	cancel()
	if webDone != nil {
		<-webDone
	}
	return s.finish(time.Now())
}

// startWeb serves the web UI unless the run is headless; the returned
// channel yields once the server has stopped.
func (s *session) startWeb(ctx context.Context) (<-chan error, error) {
	if s.cfg.Headless {
		return nil, nil
	}
	return serveWeb(ctx, s)
}

// startRun starts a test, or changes the user count of the running one.
// classes nil keeps the current choice.
func (s *session) startRun(users int, rate float64, host string, runTime time.Duration, classes []user.Spawner) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rate <= 0 {
		rate = 1
	}
	if s.drv != nil && isActive(s.drv.State()) && classes == nil && (host == "" || host == s.host) {
		// An edit of the running test: new count, same test.
		return s.drv.Start(users, rate)
	}
	if classes == nil {
		classes = s.classes
		if s.running != nil {
			classes = s.running
		}
	}
	if host == "" {
		host = s.host
	}
	if s.drv != nil {
		s.drv.Stop()
		s.drv.Quit()
		s.drv = nil
		s.testStopped()
	}
	drv, err := s.factory(classes, host)
	if err != nil {
		return err
	}
	drv = s.load.wrap(drv)
	if err := s.hookTestStart(drv, host); err != nil {
		drv.Quit()
		return err
	}
	s.testOn = true
	if s.history != nil {
		s.history.Reset()
	}
	defer s.dropSnapshot() // a new test starts with fresh statistics
	if err := drv.Start(users, rate); err != nil {
		drv.Quit()
		s.testStopped()
		return err
	}
	s.drv, s.host, s.running = drv, host, classes
	s.testBegan, s.testEnded = time.Now(), time.Time{}
	s.peakUsers = max(s.peakUsers, users)
	s.runGen++
	if runTime > 0 {
		gen := s.runGen
		time.AfterFunc(runTime, func() {
			select {
			case s.timeUp <- gen:
			default:
			}
		})
	}
	return nil
}

// stopRun stops the users of the current test, if any, within the stop
// timeout.
func (s *session) stopRun() {
	s.mu.Lock()
	drv := s.drv
	s.runGen++ // a pending run-time timer no longer applies
	if drv != nil && isActive(drv.State()) {
		// Keep the mix that ran, for the report's final ratio.
		s.lastCounts = drv.ClassCounts()
	}
	s.mu.Unlock()
	if drv != nil {
		drv.Stop()
	}
	s.mu.Lock()
	s.testStopped()
	s.mu.Unlock()
}

// testStopped runs Config.OnTestStop and Hooks.TestStop once per test
// that started; s.mu is held.
func (s *session) testStopped() {
	if !s.testOn {
		return
	}
	s.testOn = false
	s.testEnded = time.Now()
	select {
	case s.ended <- struct{}{}:
	default:
	}
	for _, err := range s.hookTestStop() {
		s.log.Error("test stop hook", zap.Error(err))
	}
}

func (s *session) quit() {
	s.mu.Lock()
	drv := s.drv
	s.mu.Unlock()
	if drv != nil {
		drv.Quit()
	}
}

func (s *session) currentGen() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runGen
}

// stopTestC is the current driver's stop-test channel (nil, which blocks,
// before the first run).
func (s *session) stopTestC() <-chan error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.drv == nil {
		return nil
	}
	return s.drv.StopTest()
}

func isActive(st runner.State) bool {
	return st == runner.StateSpawning || st == runner.StateRunning
}

// active tells whether a test is spawning or running.
func (s *session) active() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.drv != nil && isActive(s.drv.State())
}

// UserCount is the number of running users.
func (s *session) UserCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.drv == nil {
		return 0
	}
	return s.drv.UserCount()
}

func (s *session) appendHistory(now time.Time) {
	snap := s.snapshot()
	t := snap.Total
	s.history.Append(stats.HistoryPoint{
		Time:        now,
		UserCount:   s.UserCount(),
		RPS:         t.CurrentRPS(now),
		FailPerSec:  t.CurrentFailPerSec(now),
		P50:         t.CurrentPercentile(0.5),
		P95:         t.CurrentPercentile(0.95),
		AvgResponse: t.Avg(),
	})
}

// classCounts is the number of running users per class.
func (s *session) classCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.drv == nil {
		return map[string]int{}
	}
	return s.drv.ClassCounts()
}

// finish writes the final tables and files and decides the exit code.
func (s *session) finish(now time.Time) (*Result, error) {
	snap := s.reg.Snapshot()
	res := &Result{Stats: snap}
	stats.WriteConsoleStats(s.stderr, snap, now, true)
	fmt.Fprintln(s.stderr)
	stats.WritePercentileTable(s.stderr, snap)
	s.writeLoadSummary(s.stderr, snap)
	if len(snap.Errors) > 0 {
		fmt.Fprintln(s.stderr)
		stats.WriteErrorReport(s.stderr, snap)
	}
	var errs []error
	if s.csv != nil {
		errs = append(errs, s.csv.final(snap, s.UserCount(), now))
	}
	res.Thresholds = s.evaluateThresholds(snap)
	if len(res.Thresholds) > 0 {
		fmt.Fprintln(s.stderr)
		errs = append(errs, threshold.WriteSummary(s.stderr, res.Thresholds))
	}
	if s.cfg.JSON {
		errs = append(errs, s.writeJSON(s.stdout, snap, res.Thresholds))
	}
	if s.cfg.JSONFile != "" {
		errs = append(errs, s.writeJSONFile(snap, res.Thresholds))
	}
	if s.cfg.HTML != "" {
		errs = append(errs, s.writeHTML(now, snap, res.Thresholds))
	}
	switch {
	case !threshold.AllPassed(res.Thresholds):
		res.ExitCode = threshold.ExitCode
	case snap.Total.NumFailures > 0 || len(snap.Exceptions) > 0:
		res.ExitCode = s.cfg.errorExitCode()
	}
	return res, errors.Join(errs...)
}

// classNames lists the selectable classes, sorted.
func (s *session) classNames() []string {
	names := make([]string, 0, len(s.classes))
	for _, c := range s.classes {
		names = append(names, c.ClassName())
	}
	sort.Strings(names)
	return names
}

// readiness answers the readiness probe.
func (s *session) readiness() error {
	if s.ready == nil {
		return nil
	}
	return s.ready()
}

// snapshotMaxAge is how old a shared snapshot may be. Locust's UI polls
// every 2 s and its CSV ticks every 1 s; sharing one snapshot among them
// keeps a run with 1,000 busy names cheap on the master.
const snapshotMaxAge = 500 * time.Millisecond

// snapshot returns a snapshot at most snapshotMaxAge old.
func (s *session) snapshot() *stats.Snapshot {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	now := time.Now()
	if s.snap == nil || now.Sub(s.snapTime) > snapshotMaxAge {
		s.snap, s.snapTime = s.reg.Snapshot(), now
	}
	return s.snap
}

// dropSnapshot makes the next snapshot fresh (after a reset or a new run).
func (s *session) dropSnapshot() {
	s.snapMu.Lock()
	s.snap = nil
	s.snapMu.Unlock()
}
