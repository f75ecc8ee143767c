package locust

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/internal/demotarget"
)

// recordRun runs the shopper against a target whose every answer takes
// min..min+1ms, writes NAME.json, and returns the exit code and stderr.
func recordRun(t *testing.T, dir, name string, latency time.Duration, extra ...string) (int, string) {
	t.Helper()
	srv := startTarget(t, demotarget.Options{MinLatency: latency, MaxLatency: latency + time.Millisecond})
	var stdout, stderr bytes.Buffer
	args := append([]string{"--headless", "-u", "4", "-r", "100", "-t", "1s", "--stop-timeout", "10s", "-H", srv.URL, "--only-summary",
		"--exit-code-on-error", "0", "--json-file", filepath.Join(dir, name)}, extra...)
	code := Run(t.Context(), args, nil, &stdout, &stderr, shopperClass(""))
	return code, stderr.String()
}

func TestBaselineFlagsARunThatGotSlowerAndCompareAgreesWithoutLoad(t *testing.T) {
	dir := t.TempDir()
	code, _ := recordRun(t, dir, "main", 5*time.Millisecond)
	require.Equal(t, 0, code)
	b, err := os.ReadFile(filepath.Join(dir, "main.json"))
	require.NoError(t, err)
	var list []map[string]any
	require.NoError(t, json.Unmarshal(b, &list), "without thresholds the file stays Locust's bare list")
	require.NotEmpty(t, list)
	for _, e := range list {
		assert.NotEmpty(t, e["hdr"], "every entry carries its histogram")
		assert.Contains(t, e, "response_times", "Locust's keys stay")
	}

	// Twice as slow: 10 ms instead of 5 ms on every endpoint.
	code, out := recordRun(t, dir, "branch", 10*time.Millisecond, "--baseline", filepath.Join(dir, "main.json"), "--html", filepath.Join(dir, "branch.html"))
	assert.Equal(t, 3, code, out)
	page, err := os.ReadFile(filepath.Join(dir, "branch.html"))
	require.NoError(t, err)
	assert.Contains(t, string(page), `<table id="baseline">`, "the HTML report shows the comparison")
	assert.Contains(t, string(page), "2 endpoint(s) regressed")
	assert.Contains(t, out, "Comparison with the baseline "+filepath.Join(dir, "main.json"))
	assert.Contains(t, out, "GET /items")
	assert.Contains(t, out, "regressed: ")
	b, err = os.ReadFile(filepath.Join(dir, "branch.json"))
	require.NoError(t, err)
	var doc struct {
		Stats    []map[string]any `json:"stats"`
		Baseline struct {
			Regressed bool `json:"regressed"`
			Rows      []struct {
				Name    string `json:"name"`
				Verdict string `json:"verdict"`
			} `json:"rows"`
		} `json:"baseline"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	assert.NotEmpty(t, doc.Stats)
	assert.True(t, doc.Baseline.Regressed)
	require.Len(t, doc.Baseline.Rows, 3, "two endpoints and Aggregated")
	for _, r := range doc.Baseline.Rows {
		assert.Equal(t, "slower", r.Verdict, r.Name)
	}

	// The same two files, without load and without a target.
	var stdout, stderr bytes.Buffer
	code = Run(t.Context(), []string{"--compare", filepath.Join(dir, "main.json"), filepath.Join(dir, "branch.json")}, nil, &stdout, &stderr)
	assert.Equal(t, 3, code, stderr.String())
	assert.Contains(t, stdout.String(), "2 endpoint(s) regressed")
	assert.Empty(t, stderr.String())

	stdout.Reset()
	code = Run(t.Context(), []string{"--compare", filepath.Join(dir, "branch.json"), filepath.Join(dir, "main.json")}, nil, &stdout, &stderr)
	assert.Equal(t, 0, code, "faster is not a regression")
	assert.Contains(t, stdout.String(), "faster")
	assert.Contains(t, stdout.String(), "No endpoint got significantly slower")
}

func TestCompareRefusesBadInputWithAClearError(t *testing.T) {
	dir := t.TempDir()
	locustFile := filepath.Join(dir, "locust.json")
	require.NoError(t, os.WriteFile(locustFile, []byte(`[{"name": "/a", "method": "GET", "num_requests": 3, "response_times": {"5": 3}}]`), 0o644))
	notJSON := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(notJSON, []byte("hello"), 0o644))
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--compare", filepath.Join(dir, "missing.json"), locustFile}, "missing.json: open"},
		{[]string{"--compare", locustFile}, "--compare takes two files: --compare OLD.json NEW.json"},
		{[]string{"--compare", locustFile, locustFile}, "re-record the baseline with this version's --json-file"},
		{[]string{"--compare", notJSON, locustFile}, "not a golocust JSON statistics file"},
		{[]string{"--compare", locustFile, locustFile, "--baseline-confidence", "100%"}, "--baseline-confidence is 1"},
		{[]string{"--headless", "-t", "1s", "--baseline", filepath.Join(dir, "missing.json")}, "--baseline: " + filepath.Join(dir, "missing.json")},
		{[]string{"--headless", "--baseline-min-change", "fast"}, "want a percentage or a fraction, e.g. --baseline-min-change 5%"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run(t.Context(), tc.args, nil, &stdout, &stderr, shopperClass("http://127.0.0.1:1"))
			assert.Equal(t, ExitUsage, code)
			assert.Contains(t, stderr.String(), tc.says)
			assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), stderr.String())
		})
	}
}

func TestRunHeadlessFailsTheTestWithATableWhenSlowerThanTheBaseline(t *testing.T) {
	dir := t.TempDir()
	fast := startTarget(t, demotarget.Options{MinLatency: 5 * time.Millisecond, MaxLatency: 6 * time.Millisecond})
	main := filepath.Join(dir, "main.json")
	ft := &errorfTB{TB: t}
	res := RunHeadless(ft, Config{Users: 4, RunTime: time.Second, StopTimeout: 10 * time.Second, Host: fast.URL, JSONFile: main}, shopperClass(""))
	require.NotNil(t, res)
	require.Empty(t, ft.errors)
	assert.Nil(t, res.Baseline)
	// The branch's target is slower than nearly all the baseline measured,
	// however busy the machine made that run: three times its p99 (not its
	// maximum, which one stall can make long enough to leave the branch's
	// run too few requests).
	slowest := 3 * res.Stats.Total.Percentile(0.99)
	slow := startTarget(t, demotarget.Options{MinLatency: slowest, MaxLatency: slowest + time.Millisecond})

	ft = &errorfTB{TB: t}
	res = RunHeadless(ft, Config{Users: 4, RunTime: 2 * time.Second, StopTimeout: 10 * time.Second, Host: slow.URL,
		Baseline:   BaselineConfig{File: main},
		Thresholds: []string{"/items:p95<baseline*1.10", "rps>baseline*0.01"}}, shopperClass(""))
	require.NotNil(t, res)
	require.NotNil(t, res.Baseline)
	assert.True(t, res.Baseline.Regressed())
	assert.Equal(t, 3, res.ExitCode)
	require.Len(t, ft.errors, 2, "%q", ft.errors)
	assert.Contains(t, ft.errors[0], "threshold breached: /items:p95<baseline*1.10")
	assert.Contains(t, ft.errors[1], "slower than the baseline")
	assert.Contains(t, ft.errors[1], "GET /items")
	assert.Contains(t, ft.errors[1], "GET /item?id=[id]")
	assert.Contains(t, ft.errors[1], "2 endpoint(s) regressed")
	var passed []string
	for _, r := range res.Thresholds {
		if r.Passed {
			passed = append(passed, r.Expr)
		}
	}
	assert.Equal(t, []string{"rps>baseline*0.01"}, passed)
}

func TestABaselineThresholdNeedsABaseline(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), []string{"--headless", "-t", "1s", "--threshold", "p95<baseline*1.1"}, nil, &stdout, &stderr, shopperClass("http://127.0.0.1:1"))
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, stderr.String(), `--threshold "p95<baseline*1.1" compares with the baseline: pass --baseline FILE`)
}

func TestTheWebUIServesTheBaselineComparison(t *testing.T) {
	dir := t.TempDir()
	code, _ := recordRun(t, dir, "main", 5*time.Millisecond)
	require.Equal(t, 0, code)
	cfg := DefaultConfig()
	cfg.Baseline.File = filepath.Join(dir, "main.json")
	base, end := startWebSession(t, cfg)
	defer http.DefaultClient.CloseIdleConnections()
	resp, err := http.Get(base + "/stats/baseline")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var table struct {
		File string `json:"file"`
		Rows []struct {
			Cells []string `json:"cells"`
		} `json:"rows"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&table))
	assert.Equal(t, cfg.Baseline.File, table.File)
	require.Len(t, table.Rows, 3, "two endpoints and Aggregated")
	assert.Equal(t, "only in baseline", table.Rows[0].Cells[len(table.Rows[0].Cells)-1], "no request yet in this run")
	end()
}
