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

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/internal/demotarget"
	"github.com/golocust/golocust/report"
)

func TestThresholdsDecideTheExitCode(t *testing.T) {
	// Every answer takes at least 20 ms, so p95 is far above 5 ms.
	srv := startTarget(t, demotarget.Options{MinLatency: 20 * time.Millisecond, MaxLatency: 25 * time.Millisecond})
	dir := t.TempDir()
	run := func(th string) (int, string, map[string]any) {
		var stdout, stderr bytes.Buffer
		jsonFile := filepath.Join(dir, "out")
		// --stop-timeout lets the requests in flight at the end finish: on a
		// busy machine one cut off by the stop is a failure, and one failure
		// in a hundred requests breaches fail_ratio<0.01.
		code := Run(t.Context(), []string{"--headless", "-u", "2", "-r", "100", "-t", "1s", "--stop-timeout", "10s", "-H", srv.URL, "--only-summary",
			"--threshold", th, "--threshold", "fail_ratio<0.01", "--json-file", jsonFile, "--html", filepath.Join(dir, "report.html")},
			nil, &stdout, &stderr, shopperClass(""))
		b, err := os.ReadFile(jsonFile + ".json")
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, json.Unmarshal(b, &doc))
		return code, stderr.String(), doc
	}

	code, out, doc := run("p95<5ms")
	assert.Equal(t, 3, code, "a breached threshold exits 3")
	assert.Contains(t, out, "p95<5ms")
	assert.Contains(t, out, "FAIL")
	assert.Equal(t, false, doc["thresholds_passed"])
	require.Len(t, doc["thresholds"], 2)
	require.NotEmpty(t, doc["stats"])
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	require.NoError(t, err)
	assert.Contains(t, string(html), "p95&lt;5ms", "the report lists the thresholds, escaped")

	code, out, doc = run("p95<5s")
	assert.Equal(t, 0, code, "a loose bound passes")
	assert.Contains(t, out, "p95<5s")
	assert.Equal(t, true, doc["thresholds_passed"])
}

func TestThresholdAbortStopsEarly(t *testing.T) {
	srv := startTarget(t, demotarget.Options{MinLatency: 10 * time.Millisecond, MaxLatency: 12 * time.Millisecond})
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := Run(t.Context(), []string{"--headless", "-u", "2", "-r", "100", "-t", "2m", "-H", srv.URL, "--only-summary",
		"--threshold", "max<1ms", "--threshold-abort"}, nil, &stdout, &stderr, shopperClass(""))
	assert.Equal(t, 3, code)
	assert.Less(t, time.Since(start), time.Minute, "the run stopped long before its run time")
	assert.Contains(t, stderr.String(), "threshold breached, stopping the run")
}

func TestBadThresholdIsAUsageError(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), []string{"--headless", "--threshold", "p95<<fast"}, nil, &stdout, &stderr, shopperClass(""))
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, stderr.String(), "p95<<fast")
	assert.Equal(t, 1, strings.Count(stderr.String(), "\n"))
}

func TestRunHeadlessReportsBreachedThresholds(t *testing.T) {
	srv := startTarget(t, demotarget.Options{MinLatency: 5 * time.Millisecond, MaxLatency: 6 * time.Millisecond})
	ft := &errorfTB{TB: t}
	res := RunHeadless(ft, Config{Users: 1, RunTime: 500 * time.Millisecond, Host: srv.URL, Thresholds: []string{"avg<1ms", "fail_ratio<0.5"}}, shopperClass(""))
	require.NotNil(t, res)
	require.Len(t, ft.errors, 1, "only the breached threshold is reported")
	assert.Contains(t, ft.errors[0], "avg<1ms")
	assert.Equal(t, 3, res.ExitCode)
}

type errorfTB struct {
	testing.TB
	errors []string
}

func (e *errorfTB) Errorf(format string, args ...any) {
	e.errors = append(e.errors, sprintf(format, args...))
}

func TestWebServesReportAndMetrics(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	cfg := DefaultConfig()
	cfg.StopTimeout = 5 * time.Second
	base, end := startWebSession(t, cfg)
	defer http.DefaultClient.CloseIdleConnections()
	code, body := postForm(t, base+"/swarm", map[string][]string{"user_count": {"2"}, "spawn_rate": {"100"}, "host": {srv.URL}})
	require.Equal(t, http.StatusOK, code, body)
	require.Eventually(t, func() bool { return srv.Total() > 20 }, 10*time.Second, 20*time.Millisecond)
	code, _ = postForm(t, base+"/stop", nil)
	require.Equal(t, http.StatusOK, code)

	resp, err := http.Get(base + "/stats/report")
	require.NoError(t, err)
	html := new(bytes.Buffer)
	_, _ = html.ReadFrom(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, report.ContentSecurityPolicy, resp.Header.Get("Content-Security-Policy"))
	assert.Contains(t, html.String(), "/items")

	resp, err = http.Get(base + "/metrics")
	require.NoError(t, err)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	reqs := families["locust_requests_total"]
	require.NotNil(t, reqs)
	var sum float64
	for _, m := range reqs.GetMetric() {
		sum += m.GetCounter().GetValue()
	}
	res := end()
	assert.Equal(t, float64(res.Stats.Total.NumRequests), sum, "/metrics counts what the stats count")
}
