package locust

import (
	"context"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/compare"
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
	// Baseline compares the final statistics with Config.Baseline.File;
	// nil without a baseline.
	Baseline *compare.Report
}

// Intervals of the periodic work of a run, as in Locust.
const (
	consoleInterval = 2 * time.Second
	csvInterval     = 1 * time.Second
	historyInterval = 2 * time.Second
)

// driver is the runner a session drives: the local runner, or the master
// of a cluster (masterDriver), under the run's load model
// (runner.LoadModel.Drive). Both speak in absolute user counts.
type driver = runner.Driver

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
	// baseline is the run read from --baseline; nil without one.
	baseline *stats.Snapshot
	// extra, when set, gives metrics beyond the stats (load models).
	extra func() map[string]float64
	// load is the load model (shape, arrival rate, iteration limit); nil
	// for plain closed users.
	load *runner.LoadModel
	// pick is the web form's shape choice for the next run (shapes.go).
	pick shapePick
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
	// endedLog logs the users that ended early, per class and reason.
	endedLog endedLog
	// params are the custom parameters of the current (or next) test:
	// Config.ParamValues, then what the web form set.
	params param.Values
}

// execute validates cfg, builds the session and runs it.
func execute(ctx context.Context, cfg *Config, classes []user.Spawner) (*Result, error) {
	withDefaults := cfg.withDefaults() // a copy: the caller's Config stays as given
	cfg = &withDefaults
	if err := cfg.read(); err != nil {
		return nil, err
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
	picked = traceClasses(cfg, picked, log)
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
	if err := s.loadBaseline(); err != nil {
		return nil, err
	}
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
		Classes:     classes,
		Registry:    s.reg,
		Logger:      s.log,
		Host:        host,
		StopTimeout: s.cfg.StopTimeout,
		ResetStats:  s.cfg.ResetStats,
		Gate:        s.load.Gate(),
		OnRequest:   s.cfg.OnRequest,
		UserLimit:   s.cfg.userLimit(),
		Params:      s.params,
	})
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
