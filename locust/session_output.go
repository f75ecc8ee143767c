package locust

import (
	"errors"
	"fmt"
	"time"

	"github.com/golocust/golocust/compare"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/threshold"
)

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
	if res.Baseline = s.compareBaseline(snap); res.Baseline != nil {
		fmt.Fprintln(s.stderr)
		errs = append(errs, compare.WriteTable(s.stderr, res.Baseline))
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
	case res.Baseline != nil && res.Baseline.Regressed():
		res.ExitCode = compareExitCode
	case snap.Total.NumFailures > 0 || len(snap.Exceptions) > 0:
		res.ExitCode = s.cfg.errorExitCode()
	}
	return res, errors.Join(errs...)
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
