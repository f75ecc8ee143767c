package webui

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/golocust/golocust/stats"
	"github.com/stretchr/testify/require"
)

// startServer serves opts on a 127.0.0.1 socket until the test ends.
func startServer(t *testing.T, o Options) (string, *Server) {
	t.Helper()
	s, err := New(o)
	require.NoError(t, err)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts.URL, s
}

func get(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	return do(t, http.MethodGet, u, nil, nil)
}

func do(t *testing.T, method, u string, form url.Values, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), string(b))
	return m
}

func TestNewRejectsBadOptions(t *testing.T) {
	_, err := New(Options{})
	require.Error(t, err)
	_, err = New(Options{Controller: newFake(), Auth: "nocolon"})
	require.ErrorContains(t, err, "user:password")
	_, err = New(Options{Controller: newFake(), TLSCert: "c.pem"})
	require.ErrorContains(t, err, "TLS")
}

func TestStatsRequestsJSON(t *testing.T) {
	f := newFake()
	f.record("GET", "/a", 10*time.Millisecond, 100, nil)
	f.record("GET", "/a", 30*time.Millisecond, 300, errors.New("HTTP 500"))
	f.record("POST", "/<html>", 20*time.Millisecond, 50, nil)
	base, _ := startServer(t, Options{Controller: f})

	resp, b := get(t, base+"/stats/requests")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	m := decode(t, b)
	for _, k := range []string{"stats", "errors", "total_rps", "total_fail_per_sec", "fail_ratio",
		"current_response_time_percentiles", "state", "user_count", "worker_count", "workers", "total_avg_response_time"} {
		assert.Contains(t, m, k)
	}
	assert.Equal(t, "ready", m["state"])
	rows := m["stats"].([]any)
	require.Len(t, rows, 3)
	first := rows[0].(map[string]any)
	for _, k := range []string{"method", "name", "num_requests", "num_failures", "median_response_time", "min_response_time",
		"max_response_time", "avg_response_time", "avg_content_length", "current_rps", "current_fail_per_sec",
		"total_rps", "total_fail_per_sec", "response_time_percentile_0.95", "response_time_percentile_0.99"} {
		assert.Contains(t, first, k)
	}
	// sorted by name, then method; the Aggregated row last
	assert.Equal(t, "/<html>", first["name"], "names are data, not escaped in JSON")
	assert.Equal(t, "/a", rows[1].(map[string]any)["name"])
	agg := rows[2].(map[string]any)
	assert.Equal(t, "Aggregated", agg["name"])
	assert.Equal(t, "", agg["method"])
	assert.EqualValues(t, 3, agg["num_requests"])
	assert.EqualValues(t, 1, agg["num_failures"])
	a := rows[1].(map[string]any)
	assert.EqualValues(t, 10, a["min_response_time"])
	assert.EqualValues(t, 30, a["max_response_time"])
	assert.EqualValues(t, 20, a["avg_response_time"])
	assert.EqualValues(t, 200, a["avg_content_length"])

	errs := m["errors"].([]any)
	require.Len(t, errs, 1)
	e := errs[0].(map[string]any)
	assert.Equal(t, "HTTP 500", e["error"])
	assert.EqualValues(t, 1, e["occurrences"])
	assert.Equal(t, "GET", e["method"])
	pct := m["current_response_time_percentiles"].(map[string]any)
	assert.Contains(t, pct, "response_time_percentile_0.5")
	assert.Contains(t, pct, "response_time_percentile_0.95")
	assert.Equal(t, []any{}, m["workers"])
}

func TestStatsRequestsCapsRows(t *testing.T) {
	f := newFake()
	for i := range 600 {
		f.record("GET", fmt.Sprintf("/n%04d", i), time.Millisecond, 1, fmt.Errorf("e%d", i))
	}
	base, _ := startServer(t, Options{Controller: f})
	_, b := get(t, base+"/stats/requests")
	m := decode(t, b)
	assert.Len(t, m["stats"], MaxRows+1)
	assert.Len(t, m["errors"], MaxRows)
	assert.Equal(t, true, m["truncated"])
	assert.EqualValues(t, 600, m["num_entries"])
	rows := m["stats"].([]any)
	assert.Equal(t, "Aggregated", rows[MaxRows].(map[string]any)["name"])
	assert.EqualValues(t, 600, rows[MaxRows].(map[string]any)["num_requests"])
}

func TestSwarmStartsAndEdits(t *testing.T) {
	f := newFake()
	base, _ := startServer(t, Options{Controller: f})
	resp, b := do(t, "POST", base+"/swarm", url.Values{
		"user_count": {"10"}, "spawn_rate": {"2.5"}, "host": {"http://127.0.0.1:9"}, "run_time": {"1h20m"},
		"user_classes": {"Shopper"},
	}, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	m := decode(t, b)
	assert.Equal(t, true, m["success"])
	assert.Equal(t, "Swarming started", m["message"])
	assert.Equal(t, "http://127.0.0.1:9", m["host"])
	assert.EqualValues(t, 4800, m["run_time"])
	assert.Equal(t, []any{"Shopper"}, m["user_classes"])
	req, n := f.lastStart()
	require.Equal(t, 1, n)
	assert.Equal(t, StartRequest{Users: 10, SpawnRate: 2.5, Host: "http://127.0.0.1:9", RunTime: 80 * time.Minute, Classes: []string{"Shopper"}}, req)

	// running: an edit reads only users and spawn rate
	resp, b = do(t, "POST", base+"/swarm", url.Values{"user_count": {"20"}, "spawn_rate": {"5"}, "host": {"not a url"}}, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	req, n = f.lastStart()
	require.Equal(t, 2, n)
	assert.Equal(t, StartRequest{Users: 20, SpawnRate: 5}, req)
	assert.Equal(t, 20, f.UserCount())
}

func TestSwarmBadInput(t *testing.T) {
	cases := []struct {
		name  string
		form  url.Values
		field string
	}{
		{"missing users", url.Values{"spawn_rate": {"1"}}, "user_count"},
		{"missing rate", url.Values{"user_count": {"1"}}, "spawn_rate"},
		{"non-numeric users", url.Values{"user_count": {"ten"}, "spawn_rate": {"1"}}, "user_count"},
		{"negative users", url.Values{"user_count": {"-1"}, "spawn_rate": {"1"}}, "user_count"},
		{"NaN users", url.Values{"user_count": {"NaN"}, "spawn_rate": {"1"}}, "user_count"},
		{"Inf users", url.Values{"user_count": {"Inf"}, "spawn_rate": {"1"}}, "user_count"},
		{"1e309 users", url.Values{"user_count": {"1e309"}, "spawn_rate": {"1"}}, "user_count"},
		{"absurd users", url.Values{"user_count": {"1e12"}, "spawn_rate": {"1"}}, "user_count"},
		{"fractional users", url.Values{"user_count": {"1.5"}, "spawn_rate": {"1"}}, "user_count"},
		{"non-numeric rate", url.Values{"user_count": {"1"}, "spawn_rate": {"fast"}}, "spawn_rate"},
		{"negative rate", url.Values{"user_count": {"1"}, "spawn_rate": {"-2"}}, "spawn_rate"},
		{"zero rate", url.Values{"user_count": {"1"}, "spawn_rate": {"0"}}, "spawn_rate"},
		{"NaN rate", url.Values{"user_count": {"1"}, "spawn_rate": {"nan"}}, "spawn_rate"},
		{"-Inf rate", url.Values{"user_count": {"1"}, "spawn_rate": {"-Infinity"}}, "spawn_rate"},
		{"absurd rate", url.Values{"user_count": {"1"}, "spawn_rate": {"1e300"}}, "spawn_rate"},
		{"tiny rate", url.Values{"user_count": {"1"}, "spawn_rate": {"1e-10"}}, "spawn_rate"},
		{"bad run time", url.Values{"user_count": {"1"}, "spawn_rate": {"1"}, "run_time": {"asdf1"}}, "run_time"},
		{"absurd run time", url.Values{"user_count": {"1"}, "spawn_rate": {"1"}, "run_time": {"99999h"}}, "run_time"},
		{"run time overflowing in hours", url.Values{"user_count": {"1"}, "spawn_rate": {"1"}, "run_time": {"2700000h"}}, "run_time"},
		{"run time overflowing in seconds", url.Values{"user_count": {"1"}, "spawn_rate": {"1"}, "run_time": {"9223372036s"}}, "run_time"},
		{"bad host", url.Values{"user_count": {"1"}, "spawn_rate": {"1"}, "host": {"<script>"}}, "host"},
		{"unknown class", url.Values{"user_count": {"1"}, "spawn_rate": {"1"}, "user_classes": {"Nope"}}, "user_classes"},
	}
	f := newFake()
	base, _ := startServer(t, Options{Controller: f})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, b := do(t, "POST", base+"/swarm", c.form, nil)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(b))
			m := decode(t, b)
			assert.Equal(t, false, m["success"])
			assert.Equal(t, c.field, m["field"])
			assert.Contains(t, m["message"], c.field)
			if c.name == "zero rate" || c.name == "absurd rate" || c.name == "tiny rate" {
				assert.Contains(t, m["message"], "from 0.0001 to 1000000 users per second", "the accepted range is named")
			}
			if c.field == "run_time" {
				assert.Contains(t, m["message"], "8760h (365 days)", "the largest accepted span is named")
			}
		})
	}
	_, n := f.lastStart()
	assert.Zero(t, n, "no bad request reaches the controller")
	assert.Equal(t, StateReady, f.State())
}

func TestSwarmControllerErrors(t *testing.T) {
	cases := []struct {
		err  error
		code int
	}{
		{&FieldError{Field: "user_classes", Message: "no tasks left after tag filtering"}, 400},
		{fmt.Errorf("wrapped: %w", ErrInvalid), 400},
		{fmt.Errorf("master: %w", ErrNoWorkers), 409},
		{ErrConflict, 409},
		{errors.New("boom"), 500},
	}
	for _, c := range cases {
		f := newFake()
		f.startErr = c.err
		base, _ := startServer(t, Options{Controller: f})
		resp, b := do(t, "POST", base+"/swarm", url.Values{"user_count": {"1"}, "spawn_rate": {"1"}}, nil)
		assert.Equal(t, c.code, resp.StatusCode, c.err.Error())
		m := decode(t, b)
		assert.Equal(t, false, m["success"])
		assert.Equal(t, c.err.Error(), m["message"])
	}
}

func TestSwarmMasterWithoutWorkers(t *testing.T) {
	f := newFake()
	f.master = true
	base, _ := startServer(t, Options{Controller: f})
	resp, b := do(t, "POST", base+"/swarm", url.Values{"user_count": {"1"}, "spawn_rate": {"1"}}, nil)
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	assert.Contains(t, decode(t, b)["message"], "no workers")

	f.workers = []WorkerInfo{{ID: "w1", State: "ready"}}
	resp, _ = do(t, "POST", base+"/swarm", url.Values{"user_count": {"1"}, "spawn_rate": {"1"}}, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, b = get(t, base+"/worker-count")
	assert.EqualValues(t, 1, decode(t, b)["worker_count"])
	_, b = get(t, base+"/stats/requests")
	m := decode(t, b)
	assert.EqualValues(t, 1, m["worker_count"])
	assert.Equal(t, "w1", m["workers"].([]any)[0].(map[string]any)["id"])
}

func TestStopAndReset(t *testing.T) {
	f := newFake()
	base, _ := startServer(t, Options{Controller: f})
	resp, b := do(t, "POST", base+"/stop", url.Values{}, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, map[string]any{"success": true, "message": "Test stopped"}, decode(t, b))
	assert.Equal(t, 1, f.stops)
	resp, b = do(t, "POST", base+"/stats/reset", url.Values{}, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok", string(b))
	assert.Equal(t, 1, f.resets)
}

func TestStateChangesArePostOnly(t *testing.T) {
	f := newFake()
	base, _ := startServer(t, Options{Controller: f})
	for _, p := range []string{"/swarm", "/stop", "/stats/reset"} {
		resp, _ := get(t, base+p+"?user_count=1&spawn_rate=1")
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, p)
		assert.Equal(t, "POST", resp.Header.Get("Allow"), p)
	}
	assert.Zero(t, f.stops)
	assert.Zero(t, f.resets)
	_, n := f.lastStart()
	assert.Zero(t, n)
}

func TestCrossOriginPostIsRefused(t *testing.T) {
	f := newFake()
	base, _ := startServer(t, Options{Controller: f})
	form := url.Values{"user_count": {"1"}, "spawn_rate": {"1"}}
	for _, hdr := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Origin": "http://evil.example"},
	} {
		for _, p := range []string{"/swarm", "/stop", "/stats/reset"} {
			resp, b := do(t, "POST", base+p, form, hdr)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode, "%s %v", p, hdr)
			assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
			assert.Contains(t, string(b), "cross-origin")
		}
	}
	assert.Zero(t, f.stops)
	assert.Zero(t, f.resets)
	_, n := f.lastStart()
	assert.Zero(t, n)

	// the page's own requests pass
	resp, _ := do(t, "POST", base+"/stop", form, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": base})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// routeTable lists every route of the server (method, path).
var routeTable = [][2]string{
	{"GET", "/"}, {"POST", "/swarm"}, {"POST", "/stop"}, {"POST", "/stats/reset"},
	{"GET", "/stats/requests"}, {"GET", "/stats/requests/csv"}, {"GET", "/stats/requests/json"},
	{"GET", "/stats/requests_full_history/csv"}, {"GET", "/stats/failures/csv"}, {"GET", "/stats/history"},
	{"GET", "/stats/report"}, {"GET", "/exceptions"}, {"GET", "/exceptions/csv"}, {"GET", "/tasks"},
	{"GET", "/logs"}, {"GET", "/worker-count"}, {"GET", "/ui/config"}, {"GET", "/metrics"},
	{"GET", "/no-such-page"},
}

func TestAuthOnEveryRouteButAssets(t *testing.T) {
	f := newFake()
	base, _ := startServer(t, Options{Controller: f, Auth: "admin:s3cret",
		Report: func(w io.Writer) error { _, err := io.WriteString(w, "<html></html>"); return err }})
	for _, r := range routeTable {
		resp, _ := do(t, r[0], base+r[1], url.Values{"user_count": {"1"}, "spawn_rate": {"1"}}, nil)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s %s without credentials", r[0], r[1])
		assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Basic")
		req, _ := http.NewRequest(r[0], base+r[1], nil)
		req.SetBasicAuth("admin", "wrong")
		resp2, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp2.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp2.StatusCode, "%s %s wrong password", r[0], r[1])
	}
	assert.Zero(t, f.stops)
	_, n := f.lastStart()
	assert.Zero(t, n)

	// right credentials
	req, _ := http.NewRequest("GET", base+"/stats/requests", nil)
	req.SetBasicAuth("admin", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// static assets need none
	for _, p := range []string{"/assets/css/main.css", "/assets/js/app.js", "/assets/vendor/uplot/uPlot.esm.js"} {
		resp, _ := get(t, base+p)
		assert.Equal(t, http.StatusOK, resp.StatusCode, p)
	}
}

func TestEveryRouteAnswers(t *testing.T) {
	f := newFake()
	f.record("GET", "/x", time.Millisecond, 1, errors.New("bad"))
	base, _ := startServer(t, Options{Controller: f})
	for _, r := range routeTable {
		resp, _ := do(t, r[0], base+r[1], url.Values{"user_count": {"1"}, "spawn_rate": {"1"}}, nil)
		want := http.StatusOK
		switch r[1] {
		case "/stats/requests_full_history/csv", "/stats/report", "/metrics", "/no-such-page":
			want = http.StatusNotFound
		}
		assert.Equal(t, want, resp.StatusCode, "%s %s", r[0], r[1])
		assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), r[1])
		assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

func TestIndexHeadersAndNoInlineCode(t *testing.T) {
	base, _ := startServer(t, Options{Controller: newFake()})
	resp, b := get(t, base+"/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	csp := resp.Header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'"} {
		assert.Contains(t, csp, d)
	}
	assert.NotContains(t, csp, "unsafe")
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	html := string(b)
	assert.NotRegexp(t, regexp.MustCompile(`<script(?:\s+type="module")?>`), html, "no inline script")
	assert.NotContains(t, html, "<style")
	assert.NotRegexp(t, regexp.MustCompile(`\sstyle=`), html)
	assert.NotRegexp(t, regexp.MustCompile(`\son[a-z]+=`), html, "no inline handlers")

	for _, p := range []string{"static/js/app.js", "static/js/dom.js", "static/js/charts.js"} {
		src, err := staticFS.ReadFile(p)
		require.NoError(t, err)
		assert.NotContains(t, string(src), "innerHTML", p)
		assert.NotContains(t, string(src), "insertAdjacentHTML", p)
		assert.NotContains(t, string(src), "eval(", p)
	}
	resp, _ = get(t, base+"/assets/js/")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "no directory listing")
	resp, _ = get(t, base+"/assets/js/app.js")
	assert.Contains(t, resp.Header.Get("Content-Type"), "javascript")
}

func TestDownloads(t *testing.T) {
	f := newFake()
	f.record("GET", "/x", time.Millisecond, 1, errors.New("bad"))
	now := time.Date(2026, 11, 27, 9, 5, 0, 0, time.UTC)
	dir := t.TempDir()
	hist := filepath.Join(dir, "h_stats_history.csv")
	require.NoError(t, os.WriteFile(hist, []byte("Timestamp,User Count\n1,2\n"), 0o600))
	base, _ := startServer(t, Options{Controller: f, Name: "shop", Now: func() time.Time { return now }, FullHistoryCSV: hist,
		Report: func(w io.Writer) error { _, err := io.WriteString(w, "<html>report</html>"); return err }})
	for p, kind := range map[string]string{
		"/stats/requests/csv": "requests.csv", "/stats/failures/csv": "failures.csv", "/exceptions/csv": "exceptions.csv",
		"/stats/requests_full_history/csv": "requests_full_history.csv", "/stats/requests/json": "requests.json",
	} {
		resp, _ := get(t, base+p)
		require.Equal(t, http.StatusOK, resp.StatusCode, p)
		assert.Equal(t, `attachment; filename="Locust_2026-11-27-09h05_shop_127.0.0.1_1_`+kind+`"`, resp.Header.Get("Content-Disposition"), p)
	}
	_, b := get(t, base+"/stats/requests_full_history/csv")
	assert.Equal(t, "Timestamp,User Count\n1,2\n", string(b))
	_, b = get(t, base+"/stats/requests/csv")
	assert.True(t, strings.HasPrefix(string(b), "Type,Name,Request Count,Failure Count,Median Response Time,"), string(b))
	assert.Contains(t, string(b), "GET,/x,1,1,")
	_, b = get(t, base+"/stats/failures/csv")
	assert.True(t, strings.HasPrefix(string(b), "Method,Name,Error,Occurrences,First Seen,Last Seen"), string(b))
	assert.Contains(t, string(b), "GET,/x,bad,1,")
	_, b = get(t, base+"/stats/requests/json")
	var js any
	require.NoError(t, json.Unmarshal(b, &js), string(b))
	assert.Contains(t, string(b), `"/x"`)
	_, b = get(t, base+"/exceptions/csv")
	assert.True(t, strings.HasPrefix(string(b), "Count,Message,Traceback,Nodes"), string(b))
	resp, b := get(t, base+"/stats/report")
	assert.Equal(t, "<html>report</html>", string(b))
	assert.Empty(t, resp.Header.Get("Content-Disposition"))
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'")
	resp, _ = get(t, base+"/stats/report?download=1")
	assert.Contains(t, resp.Header.Get("Content-Disposition"), "attachment")
	_, b = get(t, base+"/ui/config")
	m := decode(t, b)
	assert.Equal(t, true, m["report"])
	assert.Equal(t, true, m["full_history"])

	// without the option: Locust's 404 text
	base2, _ := startServer(t, Options{Controller: f})
	resp, b = get(t, base2+"/stats/requests_full_history/csv")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Contains(t, string(b), "Server was not started with option to generate full history.")
}

func TestJSONViews(t *testing.T) {
	f := newFake()
	f.exceptions = append(f.exceptions, nil)[:0]
	base, _ := startServer(t, Options{Controller: f, Version: "0.1.0",
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "golocust_users 0\n") })})
	_, b := get(t, base+"/tasks")
	m := decode(t, b)
	assert.InDelta(t, 0.75, m["per_class"].(map[string]any)["Shopper"].(map[string]any)["ratio"], 1e-9)
	assert.Contains(t, m["total"], "Browser")
	_, b = get(t, base+"/logs")
	m = decode(t, b)
	assert.Equal(t, []any{"[info] web UI ready", "<b>not bold</b>"}, m["master"])
	assert.Equal(t, map[string]any{}, m["workers"])
	_, b = get(t, base+"/exceptions")
	assert.Equal(t, map[string]any{"exceptions": []any{}}, decode(t, b))
	_, b = get(t, base+"/stats/history")
	assert.Equal(t, map[string]any{"history": []any{}}, decode(t, b))
	_, b = get(t, base+"/ui/config")
	m = decode(t, b)
	assert.Equal(t, []any{"Shopper", "Browser"}, m["user_classes"])
	assert.Equal(t, "0.1.0", m["version"])
	assert.Equal(t, false, m["is_distributed"])
	resp, b := get(t, base+"/metrics")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "golocust_users 0\n", string(b))
}

func TestExceptionsAndHistory(t *testing.T) {
	f := newFake("/a")
	t.Cleanup(f.close)
	base, _ := startServer(t, Options{Controller: f})
	resp, _ := do(t, "POST", base+"/swarm", url.Values{"user_count": {"1"}, "spawn_rate": {"1"}}, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Eventually(t, func() bool { return len(f.History()) >= 2 }, 10*time.Second, 10*time.Millisecond)
	_, b := get(t, base+"/exceptions")
	x := decode(t, b)["exceptions"].([]any)
	require.Len(t, x, 1)
	e := x[0].(map[string]any)
	assert.EqualValues(t, 1, e["count"])
	assert.Equal(t, "panic: <img src=x onerror=alert(2)>", e["msg"])
	assert.Contains(t, e["traceback"], "shop.go:42")
	assert.Equal(t, "local", e["nodes"])
	_, b = get(t, base+"/stats/history")
	h := decode(t, b)["history"].([]any)
	require.GreaterOrEqual(t, len(h), 2)
	p := h[0].(map[string]any)
	assert.EqualValues(t, 90, p["response_time_percentile_0.95"])
	assert.EqualValues(t, 1, p["user_count"])
	assert.Greater(t, p["time"], float64(1e9))
}

func TestInsecureBindWarning(t *testing.T) {
	assert.Empty(t, InsecureBindWarning("127.0.0.1", false))
	assert.Empty(t, InsecureBindWarning("::1", false))
	assert.Empty(t, InsecureBindWarning("localhost", false))
	assert.Empty(t, InsecureBindWarning("0.0.0.0", true))
	assert.Contains(t, InsecureBindWarning("0.0.0.0", false), "without --web-auth")
	assert.Contains(t, InsecureBindWarning("", false), "without --web-auth")
}

func TestServeStopsWithContext(t *testing.T) {
	s, err := New(Options{Controller: newFake()})
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	resp, _ := get(t, "http://"+l.Addr().String()+"/stats/requests")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the context ended")
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestListenAndServeDefaultsToLoopback(t *testing.T) {
	s, err := New(Options{Controller: newFake()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // serve and stop at once: the listen must still succeed on 127.0.0.1
	require.NoError(t, s.ListenAndServe(ctx, "", 0))
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeSelfSigned(t, dir)
	s, err := New(Options{Controller: newFake(), TLSCert: certFile, TLSKey: keyFile})
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	defer func() { cancel(); require.NoError(t, <-done) }()

	pem, err := os.ReadFile(certFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	assert.Equal(t, "https://"+l.Addr().String(), s.URL(l))
	resp, err := client.Get("https://" + l.Addr().String() + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.NotNil(t, resp.TLS)
	// plain HTTP to the TLS port fails
	resp, err = http.Get("http://" + l.Addr().String() + "/")
	if err == nil {
		resp.Body.Close()
		assert.NotEqual(t, http.StatusOK, resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestServeBadTLSFiles(t *testing.T) {
	s, err := New(Options{Controller: newFake(), TLSCert: "/nonexistent/c.pem", TLSKey: "/nonexistent/k.pem"})
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	err = s.Serve(context.Background(), l)
	require.ErrorContains(t, err, "TLS certificate")
}

func writeSelfSigned(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kb, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	return certFile, keyFile
}

// TestRunTimeTakesTheOneTimespanGrammar: the form's run_time reads spans
// as the command line does (internal/timespan), and a span too long for
// any run is refused with the largest accepted one named.
func TestRunTimeTakesTheOneTimespanGrammar(t *testing.T) {
	good := map[string]time.Duration{"20": 20 * time.Second, "20s": 20 * time.Second, "3m": 3 * time.Minute, "2h": 2 * time.Hour,
		"1h20m": 80 * time.Minute, "3h30m10s": 3*time.Hour + 30*time.Minute + 10*time.Second, "0": 0, "": 0,
		"1.5s": 1500 * time.Millisecond, "1.5h": 90 * time.Minute, "8760h": MaxRunTime}
	for in, want := range good {
		got, ferr := parseRunTime(in)
		require.Nil(t, ferr, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"asdf1", "1d", "-5", "h", "20 s", "1m1h", "99999999999999999999", "2700000h", "9223372036s", "9223372036"} {
		_, ferr := parseRunTime(in)
		require.NotNil(t, ferr, in)
		assert.Equal(t, "run_time", ferr.Field)
		assert.Contains(t, ferr.Message, "8760h (365 days)", in)
	}
	_, ferr := parseRunTime("2700000h")
	assert.Equal(t, `"2700000h" is longer than the largest accepted span, 8760h (365 days)`, ferr.Message)
}

// rowPercentiles must give what stats.Entry.Percentile gives.
func TestRowPercentilesMatchStats(t *testing.T) {
	f := newFake()
	for i := range 2000 {
		f.record("GET", "/a", time.Duration(1+(i*7919)%50000)*time.Microsecond*17, 0, nil)
	}
	f.record("GET", "/one", 1234*time.Microsecond, 0, nil)
	for i := range 4 {
		f.record("GET", "/even", time.Duration(i+1)*time.Second, 0, nil)
	}
	snap := f.Snapshot()
	for _, e := range append(snap.Entries, snap.Total, &stats.Entry{}) {
		p50, p95, p99 := rowPercentiles(e)
		assert.Equal(t, e.Median(), p50, e.Name)
		assert.Equal(t, e.Percentile(0.95), p95, e.Name)
		assert.Equal(t, e.Percentile(0.99), p99, e.Name)
	}
}
