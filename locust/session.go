package locust

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/user"
)

// Result is what a finished run hands back: the final statistics and the
// exit code Main would use.
type Result struct {
	// Stats is the final cumulative snapshot (entries, Aggregated total,
	// failures and exceptions).
	Stats *stats.Snapshot
	// ExitCode is 0, or Config.ExitCodeOnError when a request failed or a
	// task panicked.
	ExitCode int
}

// Intervals of the periodic work of a run, as in Locust.
const (
	consoleInterval = 2 * time.Second
	csvInterval     = 1 * time.Second
	historyInterval = 2 * time.Second
)

// session is one run: the registry, the runner and the outputs around
// them. It is the one code path behind Main and RunHeadless.
type session struct {
	cfg     *Config
	log     *zap.Logger
	stdout  io.Writer
	stderr  io.Writer
	reg     *stats.Registry
	history *stats.History
	local   *runner.Local
	csv     *csvOutput
}

// execute validates cfg, builds the session and runs it.
func execute(ctx context.Context, cfg *Config, classes []user.Spawner) (*Result, error) {
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
	log, closeLog, err := newLogger(cfg, stderr)
	if err != nil {
		return nil, &UsageError{Msg: err.Error()}
	}
	defer closeLog()
	picked, err := selectClasses(cfg, classes)
	if err != nil {
		return nil, err
	}
	if !cfg.Headless {
		return nil, &UsageError{Msg: "the web UI is not part of this build yet: run with --headless"}
	}
	s := &session{cfg: cfg, log: log, stdout: stdout, stderr: stderr}
	s.reg = stats.NewRegistry(stats.Options{Warn: func(msg string) { log.Warn(msg) }})
	s.history = stats.NewHistory(0)
	s.local, err = runner.NewLocal(runner.Options{
		Classes:     picked,
		Registry:    s.reg,
		Logger:      log,
		Host:        cfg.Host,
		StopTimeout: cfg.StopTimeout,
		ResetStats:  cfg.ResetStats,
	})
	if err != nil {
		return nil, &UsageError{Msg: err.Error()}
	}
	if cfg.CSVPrefix != "" {
		if s.csv, err = openCSV(cfg.CSVPrefix, cfg.CSVFullHistory); err != nil {
			return nil, err
		}
	}
	return s.runHeadless(ctx)
}

// runHeadless starts the users at once and runs until the run time is up,
// a user stops the test, or ctx ends; then it stops the users and writes
// the final outputs.
func (s *session) runHeadless(ctx context.Context) (*Result, error) {
	cfg := s.cfg
	s.log.Info("starting run", zap.Int("users", cfg.Users), zap.Float64("spawn_rate", cfg.SpawnRate),
		zap.Duration("run_time", cfg.RunTime), zap.String("host", cfg.Host))
	if err := s.local.Start(cfg.Users, cfg.SpawnRate); err != nil {
		return nil, err
	}
	var deadline <-chan time.Time
	if cfg.RunTime > 0 {
		timer := time.NewTimer(cfg.RunTime)
		defer timer.Stop()
		deadline = timer.C
	}
	console := time.NewTicker(consoleInterval)
	defer console.Stop()
	csvTick := time.NewTicker(csvInterval)
	defer csvTick.Stop()
	historyTick := time.NewTicker(historyInterval)
	defer historyTick.Stop()
	printTables := !cfg.OnlySummary
loop:
	for {
		select {
		case <-ctx.Done():
			s.log.Info("stopping: interrupted")
			break loop
		case <-deadline:
			s.log.Info("run time limit reached, stopping", zap.Duration("run_time", cfg.RunTime))
			break loop
		case err := <-s.local.StopTest():
			s.log.Info("a user stopped the test", zap.Error(err))
			break loop
		case now := <-console.C:
			if printTables {
				stats.WriteConsoleStats(s.stderr, s.reg.Snapshot(), now, false)
			}
		case now := <-csvTick.C:
			if s.csv != nil {
				if err := s.csv.write(s.reg.Snapshot(), s.local.UserCount(), now); err != nil {
					s.log.Error("writing CSV", zap.Error(err))
				}
			}
		case now := <-historyTick.C:
			s.appendHistory(now)
		}
	}
	s.local.Stop()
	return s.finish(time.Now())
}

func (s *session) appendHistory(now time.Time) {
	snap := s.reg.Snapshot()
	t := snap.Total
	s.history.Append(stats.HistoryPoint{
		Time:        now,
		UserCount:   s.local.UserCount(),
		RPS:         t.CurrentRPS(now),
		FailPerSec:  t.CurrentFailPerSec(now),
		P50:         t.CurrentPercentile(0.5),
		P95:         t.CurrentPercentile(0.95),
		AvgResponse: t.Avg(),
	})
}

// finish writes the final tables and files and decides the exit code.
func (s *session) finish(now time.Time) (*Result, error) {
	snap := s.reg.Snapshot()
	res := &Result{Stats: snap}
	stats.WriteConsoleStats(s.stderr, snap, now, true)
	fmt.Fprintln(s.stderr)
	stats.WritePercentileTable(s.stderr, snap)
	if len(snap.Errors) > 0 {
		fmt.Fprintln(s.stderr)
		stats.WriteErrorReport(s.stderr, snap)
	}
	var firstErr error
	if s.csv != nil {
		if err := s.csv.final(snap, s.local.UserCount(), now); err != nil {
			firstErr = err
		}
	}
	if s.cfg.JSON {
		if err := stats.WriteJSON(s.stdout, snap); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if snap.Total.NumFailures > 0 || len(snap.Exceptions) > 0 {
		res.ExitCode = s.cfg.ExitCodeOnError
	}
	return res, firstErr
}
