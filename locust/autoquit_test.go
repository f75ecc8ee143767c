package locust

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/internal/demotarget"
	"github.com/golocust/golocust/user"
)

func TestAutostartWithAutoquitEndsTheProcessAfterTheRunTime(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code := Run(ctx, []string{"--autostart", "--autoquit", "0", "-t", "1s", "-u", "3", "-r", "100", "-P", "0", "-H", srv.URL, "--json"},
		nil, &stdout, &stderr, shopperClass(""))
	require.NoError(t, ctx.Err(), "Run must return by itself, not by the test's deadline: %s", stderr.String())
	assert.Equal(t, ExitOK, code, stderr.String())
	assert.Contains(t, stderr.String(), "--autoquit time reached")
	sum := jsonRequestTotal(t, stdout.Bytes())
	assert.Positive(t, sum)
	assert.Equal(t, srv.Total(), sum, "the JSON output counts every request the target saw")
}

// jsonRequestTotal sums num_requests over the rows of --json output.
func jsonRequestTotal(t *testing.T, out []byte) int64 {
	t.Helper()
	var rows []struct {
		NumRequests int64 `json:"num_requests"`
	}
	require.NoError(t, json.Unmarshal(out, &rows), string(out))
	var sum int64
	for _, r := range rows {
		sum += r.NumRequests
	}
	return sum
}

func TestAutoquitKeepsTheWebUIUpForItsDelayAfterTheRun(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	cfg := DefaultConfig()
	cfg.Autostart, cfg.Autoquit, cfg.AutoquitAfter = true, true, 3*time.Second
	cfg.RunTime, cfg.Users, cfg.SpawnRate, cfg.Host = 500*time.Millisecond, 2, 100, srv.URL
	urls := make(chan string, 1)
	cfg.Web.Port = 0
	cfg.Web.listening = func(u string) { urls <- u }
	out := &testLogWriter{t: t}
	cfg.Stdout, cfg.Stderr = out, out
	defer out.flush()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan *Result, 1)
	start := time.Now()
	go func() {
		res, err := execute(ctx, &cfg, []user.Spawner{shopperClass("")})
		assert.NoError(t, err)
		done <- res
	}()
	base := <-urls
	defer http.DefaultClient.CloseIdleConnections()
	var st struct {
		State string `json:"state"`
	}
	// The run stops after its run time and the UI still answers, saying
	// so, before the autoquit delay ends the process.
	require.Eventually(t, func() bool {
		getJSON(t, base+"/stats/requests", &st)
		return st.State == "stopped"
	}, 30*time.Second, 20*time.Millisecond)
	res := <-done
	require.NotNil(t, res)
	// The run ends 500 ms after it starts at the earliest, the quit 3 s
	// after that.
	assert.GreaterOrEqual(t, time.Since(start), 3500*time.Millisecond, "quit no earlier than run time + autoquit")
	assert.Equal(t, srv.Total(), res.Stats.Total.NumRequests)
	require.NoError(t, ctx.Err())
}

func TestAutoquitWithoutAutostartIsAUsageError(t *testing.T) {
	var stderr bytes.Buffer
	code := Run(t.Context(), []string{"--headless", "--autoquit", "5"}, nil, &bytes.Buffer{}, &stderr, shopperClass(""))
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, stderr.String(), "--autoquit needs --autostart")
}

// The report's duration is the test's: the --autoquit wait after it (and
// any idle time before) is left out.
func TestReportDurationLeavesOutTheAutoquitWait(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	html := filepath.Join(t.TempDir(), "report.html")
	var stderr bytes.Buffer
	code := Run(t.Context(), []string{"--autostart", "--autoquit", "2", "-t", "1s", "-u", "2", "-r", "100", "-P", "0", "-H", srv.URL, "--html", html},
		nil, &bytes.Buffer{}, &stderr, shopperClass(""))
	require.Equal(t, ExitOK, code, stderr.String())
	b, err := os.ReadFile(html)
	require.NoError(t, err)
	m := regexp.MustCompile(`"duration_seconds":\s*([0-9.]+)`).FindSubmatch(b)
	require.NotNil(t, m, "the report's data block has the duration")
	d, err := strconv.ParseFloat(string(m[1]), 64)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, d, 1.0, "at least the run time")
	assert.Less(t, d, 3.0, "the run time plus the 2 s autoquit would be 3 s or more")
}

// A run started from the web UI: the report's duration is that test's,
// not the web UI's idle time before it and after it.
func TestReportDurationLeavesOutTheIdleWebUI(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	html := filepath.Join(t.TempDir(), "report.html")
	cfg := DefaultConfig()
	cfg.Host, cfg.HTML, cfg.StopTimeout = srv.URL, html, 5*time.Second
	base, end := startWebSession(t, cfg)
	defer http.DefaultClient.CloseIdleConnections()
	time.Sleep(500 * time.Millisecond) // idle before the test: part of the scenario, not a wait for a condition
	began := time.Now()
	code, body := postForm(t, base+"/swarm", url.Values{"user_count": {"2"}, "spawn_rate": {"100"}})
	require.Equal(t, http.StatusOK, code, body)
	require.Eventually(t, func() bool { return srv.Total() > 20 }, 20*time.Second, 20*time.Millisecond)
	code, body = postForm(t, base+"/stop", nil)
	require.Equal(t, http.StatusOK, code, body)
	var st struct {
		State string `json:"state"`
	}
	require.Eventually(t, func() bool { getJSON(t, base+"/stats/requests", &st); return st.State == "stopped" }, 20*time.Second, 20*time.Millisecond)
	stopped := time.Since(began)
	time.Sleep(500 * time.Millisecond) // idle after the test
	res := end()
	require.NotNil(t, res)
	b, err := os.ReadFile(html)
	require.NoError(t, err)
	m := regexp.MustCompile(`"duration_seconds":\s*([0-9.]+)`).FindSubmatch(b)
	require.NotNil(t, m, "the report's data block has the duration")
	d, err := strconv.ParseFloat(string(m[1]), 64)
	require.NoError(t, err)
	assert.Positive(t, d)
	assert.LessOrEqual(t, d, stopped.Seconds(), "no longer than from the start request to the stopped state")
}
