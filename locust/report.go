package locust

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/compare"
	"github.com/golocust/golocust/metrics"
	"github.com/golocust/golocust/report"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/threshold"
	"github.com/golocust/golocust/user"
)

// thresholdInterval is how often --threshold-abort checks the thresholds.
const thresholdInterval = 2 * time.Second

func reportFlags(c *Config) []flagDef {
	return []flagDef{
		{long: "html", group: "Output", usage: "write a self-contained HTML report to FILE at the end ({u}, {r}, {t} become users, rate, run time)", value: &stringValue{p: &c.HTML}},
		{long: "json-file", group: "Output", usage: "write the final statistics and thresholds as JSON to NAME.json", value: &stringValue{p: &c.JSONFile}},
		{long: "threshold", group: "Thresholds", usage: `pass/fail objective, repeatable: p95<300ms, avg<100ms, fail_ratio<0.01, rps>500, "GET /item:p99<500ms", p95<baseline*1.10 (with --baseline)`, value: &listValue{p: &c.Thresholds, sep: ";", check: checkThreshold}},
		{long: "threshold-abort", group: "Thresholds", usage: "stop the run early when a threshold is breached (checked every 2 s)", value: &boolValue{p: &c.ThresholdAbort}},
		{long: "threshold-delay", group: "Thresholds", usage: "with --threshold-abort, start checking only after this long", value: &spanValue{p: &c.ThresholdDelay}},
	}
}

// checkThreshold refuses a --threshold expression that does not parse. In
// the environment, LOCUST_THRESHOLD holds several expressions separated by
// semicolons (names may contain commas).
func checkThreshold(expr string) error {
	_, err := threshold.Parse(expr)
	return err
}

// htmlFileName applies Locust's {u}, {r} and {t} placeholders.
func htmlFileName(c *Config) string {
	r := strings.NewReplacer("{u}", fmt.Sprint(c.Users), "{r}", fmt.Sprint(c.SpawnRate), "{t}", fmt.Sprint(int(c.RunTime.Seconds())))
	return r.Replace(c.HTML)
}

// extraMetrics are the values thresholds can use beyond the stats, such as
// dropped_iterations from an arrival-rate model.
func (s *session) extraMetrics() map[string]float64 {
	if s.extra == nil {
		return nil
	}
	return s.extra()
}

// evaluateThresholds judges the thresholds on the current statistics.
func (s *session) evaluateThresholds(snap *stats.Snapshot) []threshold.Result {
	if len(s.thresholds) == 0 {
		return nil
	}
	return threshold.EvaluateAgainst(s.thresholds, snap, s.baseline, s.extraMetrics())
}

// checkAbort reports whether --threshold-abort should stop the run now.
func (s *session) checkAbort(now time.Time) bool {
	if !s.cfg.ThresholdAbort || len(s.thresholds) == 0 || now.Sub(s.started) < s.cfg.ThresholdDelay {
		return false
	}
	breaches := threshold.AbortBreaches(s.evaluateThresholds(s.snapshot()))
	for _, b := range breaches {
		s.log.Warn("threshold breached, stopping the run", zap.String("threshold", b.String()))
	}
	return len(breaches) > 0
}

// reportData gathers what the HTML report shows.
func (s *session) reportData(now time.Time, snap *stats.Snapshot, ths []threshold.Result) report.Data {
	counts := s.classCounts()
	if total(counts) == 0 {
		s.mu.Lock()
		counts = s.lastCounts
		s.mu.Unlock()
	}
	classes := make([]report.Class, 0, len(s.classes))
	for _, c := range s.classes {
		classes = append(classes, report.Class{Name: c.ClassName(), Users: counts[c.ClassName()], Tasks: reportShares(c.TaskRatio())})
	}
	s.mu.Lock()
	host, peak := s.host, s.peakUsers
	start, end := s.testBegan, now
	if !s.testEnded.IsZero() {
		end = s.testEnded
	}
	s.mu.Unlock()
	if start.IsZero() { // no test ran
		start = s.started
	}
	if host == "" {
		host = classHosts(s.classes)
	}
	return report.Data{
		Start: start, End: end, Host: host, Script: programName(), Users: peak,
		Classes: classes, Snapshot: snap, History: s.history.Points(), Thresholds: ths, Version: Version,
		Baseline: s.compareBaseline(snap),
	}
}

func reportShares(shares []user.TaskShare) []report.TaskShare {
	out := make([]report.TaskShare, 0, len(shares))
	for _, sh := range shares {
		out = append(out, report.TaskShare{Name: sh.Name, Share: sh.Share, Nested: reportShares(sh.Nested)})
	}
	return out
}

// writeHTML writes the HTML report file.
func (s *session) writeHTML(now time.Time, snap *stats.Snapshot, ths []threshold.Result) error {
	name := htmlFileName(s.cfg)
	if dir := filepath.Dir(name); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return &outputError{"--html", name, err}
		}
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, s.reportData(now, snap, ths)); err != nil {
		return fmt.Errorf("--html %s: %w", name, err)
	}
	if err := writeFileAtomic(name, func(w *bufio.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
		return &outputError{"--html", name, err}
	}
	s.log.Info("HTML report written", zap.String("file", name))
	return nil
}

// jsonDocument is the JSON output when there is more to say than Locust's
// bare list of per-name stats: thresholds, or load-model counters.
type jsonDocument struct {
	Stats      json.RawMessage    `json:"stats"`
	Thresholds []threshold.Result `json:"thresholds,omitempty"`
	Passed     *bool              `json:"thresholds_passed,omitempty"`
	Extra      map[string]float64 `json:"metrics,omitempty"`
	// EndedUsers counts the users that ended before the run stopped them,
	// by reason.
	EndedUsers map[string]int64 `json:"users_ended_early,omitempty"`
	// Baseline compares the run with --baseline.
	Baseline *compare.Report `json:"baseline,omitempty"`
}

// writeJSON writes the final statistics: Locust's bare list when there is
// nothing else, otherwise an object with the list under "stats".
func (s *session) writeJSON(w io.Writer, snap *stats.Snapshot, ths []threshold.Result) error {
	extra := s.extraMetrics()
	if p50, p99, _, ok := generatorLag(snap); ok {
		// The generator's lag beside the corrected latency, so that a
		// reader can tell the target's latency from the generator's.
		extra = maps.Clone(extra)
		if extra == nil {
			extra = map[string]float64{}
		}
		extra["generator_lag_p50_ms"] = float64(p50) / float64(time.Millisecond)
		extra["generator_lag_p99_ms"] = float64(p99) / float64(time.Millisecond)
		if t := snap.Total; t != nil && t.CorrectedHist != nil && t.CorrectedHist.TotalCount() > 0 {
			extra["corrected_p50_ms"] = float64(t.CorrectedPercentile(0.5)) / float64(time.Millisecond)
			extra["corrected_p99_ms"] = float64(t.CorrectedPercentile(0.99)) / float64(time.Millisecond)
		}
	}
	base := s.compareBaseline(snap)
	if len(ths) == 0 && len(extra) == 0 && len(snap.EndedUsers) == 0 && base == nil {
		return stats.WriteJSON(w, snap)
	}
	var list bytes.Buffer
	if err := stats.WriteJSON(&list, snap); err != nil {
		return err
	}
	doc := jsonDocument{Stats: bytes.TrimSpace(list.Bytes()), Thresholds: ths, Extra: extra, EndedUsers: snap.EndedUsers, Baseline: base}
	if len(ths) > 0 {
		passed := threshold.AllPassed(ths)
		doc.Passed = &passed
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func (s *session) writeJSONFile(snap *stats.Snapshot, ths []threshold.Result) error {
	name := s.cfg.JSONFile
	if !strings.HasSuffix(name, ".json") {
		name += ".json"
	}
	var buf bytes.Buffer
	if err := s.writeJSON(&buf, snap, ths); err != nil {
		return err
	}
	if err := writeFileAtomic(name, func(w *bufio.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
		return &outputError{"--json-file", name, err}
	}
	return nil
}

// metricsHandler serves /metrics for the web UI.
func (s *session) metricsHandler() *metrics.Funcs {
	return &metrics.Funcs{
		SnapshotFunc:   s.snapshot,
		UserCountsFunc: s.classCounts,
		WorkerStatesFunc: func() map[string]int {
			if s.workerStates == nil {
				return nil
			}
			return s.workerStates()
		},
		ThresholdsFunc: func() []threshold.Result { return s.evaluateThresholds(s.snapshot()) },
	}
}

// writeStatus prints the one-line progress status between the periodic
// tables of a headless run.
func (s *session) writeStatus(w io.Writer, snap *stats.Snapshot, now time.Time) {
	elapsed := now.Sub(s.started).Truncate(time.Second)
	remaining := ""
	if s.cfg.RunTime > 0 {
		left := (s.cfg.RunTime - elapsed).Truncate(time.Second)
		remaining = fmt.Sprintf(" / %s left", max(left, 0))
	}
	t := snap.Total
	fmt.Fprintf(w, "status: %s elapsed%s | users %d | %.1f req/s | %.2f%% failures\n",
		elapsed, remaining, s.UserCount(), t.CurrentRPS(now), 100*t.FailRatio())
}

func total(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// classHosts names the hosts the classes use when the run has no -H.
func classHosts(classes []user.Spawner) string {
	var hosts []string
	seen := map[string]bool{}
	for _, c := range classes {
		if h := c.ClassHost(); h != "" && !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	return strings.Join(hosts, ", ")
}
