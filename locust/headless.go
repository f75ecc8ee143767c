package locust

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/golocust/golocust/compare"
	"github.com/golocust/golocust/threshold"
	"github.com/golocust/golocust/user"
)

// RunHeadless runs a bounded headless test inside go test, through the
// same code path as Main, and returns the final result for assertions:
//
//	res := locust.RunHeadless(t, locust.Config{Users: 10, RunTime: 5 * time.Second, Host: srv.URL}, class)
//	assert.Zero(t, res.Stats.Total.NumFailures)
//
// Zero fields take test-friendly defaults: one user, all users started at
// once. RunTime must be set so the test ends, unless the load model ends
// the run by itself (Stages, ArrivalStages, Iterations, or a custom Shape
// whose Tick returns false; such a shape that never ends runs until the
// test's deadline, as Main would run it). A configuration error fails
// the test at once with the same message Main would print. The tables and
// the log go to t.Log. Each breached Config.Thresholds entry is reported
// with t.Errorf, naming the measured value; with Config.Baseline.File, an
// endpoint that got significantly slower or failed more often than in the
// baseline fails the test with the per-endpoint comparison table.
func RunHeadless(t testing.TB, cfg Config, classes ...user.Spawner) *Result {
	t.Helper()
	if cfg.RunTime <= 0 && !cfg.Load.endsByItself() {
		t.Fatalf("locust.RunHeadless: Config.RunTime is %v: set it (for example 5*time.Second), or a load model that ends (Stages, ArrivalStages, Iterations, a Shape), so that the run ends", cfg.RunTime)
		return nil
	}
	cfg.Headless = true
	if cfg.Users == 0 {
		cfg.Users = 1
	}
	if cfg.SpawnRate == 0 {
		cfg.SpawnRate = float64(cfg.Users)
	}
	out := &testLogWriter{t: t}
	defer out.flush()
	if cfg.Stdout == nil {
		cfg.Stdout = out
	}
	if cfg.Stderr == nil {
		cfg.Stderr = out
	}
	res, err := execute(t.Context(), &cfg, classes)
	if err != nil {
		t.Fatalf("locust.RunHeadless: %v", err)
		return nil
	}
	for _, r := range threshold.Failed(res.Thresholds) {
		t.Errorf("locust.RunHeadless: threshold breached: %s", r)
	}
	if res.Baseline != nil && res.Baseline.Regressed() {
		var table strings.Builder
		_ = compare.WriteTable(&table, res.Baseline)
		t.Errorf("locust.RunHeadless: slower than the baseline, or failing more often:\n%s", table.String())
	}
	return res
}

// testLogWriter hands whole lines to t.Log, so that tables stay readable
// in go test -v output.
type testLogWriter struct {
	t   testing.TB
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		i := bytes.IndexByte(w.buf.Bytes(), '\n')
		if i < 0 {
			break
		}
		w.t.Log(string(w.buf.Next(i + 1)[:i]))
	}
	return len(p), nil
}

func (w *testLogWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() > 0 {
		w.t.Log(w.buf.String())
		w.buf.Reset()
	}
}

// endsByItself tells whether the load model can end the run without a
// run time: the last stage, the last rate stage, the iteration limit, or
// a custom shape (which ends the run when its Tick says so).
func (l *LoadConfig) endsByItself() bool {
	return len(l.Stages) > 0 || len(l.ArrivalStages) > 0 || l.Iterations > 0 || l.Shape != nil
}
