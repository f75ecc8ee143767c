package locust

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/golocust/golocust/internal/demotarget"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// shopper reads /items and /item?id=N (grouped) in a closed loop.
type shopper struct {
	user.HTTP
	n int
}

func (s *shopper) Items(ctx context.Context) error { return s.Get(ctx, "/items").Err() }

func (s *shopper) Item(ctx context.Context) error {
	s.n++
	return s.Get(ctx, "/item?id="+string(rune('0'+s.n%10)), user.Name("/item?id=[id]")).Err()
}

func shopperClass(host string) user.Class[shopper] {
	return user.Class[shopper]{
		Name: "Shopper",
		Host: host,
		Wait: user.Constant(2 * time.Millisecond),
		Tasks: taskset.Weighted(
			taskset.Task[shopper]{Weight: 1, Run: (*shopper).Items, Tags: []string{"list"}},
			taskset.Task[shopper]{Weight: 3, Run: (*shopper).Item, Tags: []string{"item"}},
		),
	}
}

func startTarget(t *testing.T, opts demotarget.Options) *demotarget.Server {
	t.Helper()
	srv, err := demotarget.Start(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func TestRunHeadlessCountsEveryRequestTheTargetSaw(t *testing.T) {
	srv := startTarget(t, demotarget.Options{ErrorRate: 0.2, Seed: 7})
	res := RunHeadless(t, Config{Users: 5, RunTime: 1500 * time.Millisecond, Host: srv.URL}, shopperClass(""))
	require.NotNil(t, res)
	total := res.Stats.Total
	require.Positive(t, total.NumRequests)
	assert.Equal(t, srv.Total(), total.NumRequests, "the target and the stats must agree on the request count")
	assert.Equal(t, srv.Count("/items"), entryCount(res, "GET", "/items"))
	assert.Equal(t, srv.Count("/item"), entryCount(res, "GET", "/item?id=[id]"))
	assert.Positive(t, total.NumFailures, "about 20 %% of requests fail at this target")
	assert.Less(t, total.NumFailures, total.NumRequests)
	assert.Equal(t, 1, res.ExitCode, "a zero Config.ExitCodeOnError means the default, 1")
}

func entryCount(res *Result, method, name string) int64 {
	for _, e := range res.Stats.Entries {
		if e.Method == method && e.Name == name {
			return e.NumRequests
		}
	}
	return -1
}

func TestRunWritesLocustCSVAndJSONAndExitsOnError(t *testing.T) {
	srv := startTarget(t, demotarget.Options{ErrorRate: 0.3, Seed: 3})
	prefix := filepath.Join(t.TempDir(), "out", "run")
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), []string{"--headless", "-u", "3", "-r", "100", "-t", "2s", "-H", srv.URL,
		"--csv", prefix, "--json", "--only-summary"}, nil, &stdout, &stderr, shopperClass(""))
	assert.Equal(t, 1, code, "failures give --exit-code-on-error's default, 1")

	rows := readCSV(t, prefix+"_stats.csv")
	assert.Equal(t, "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%",
		strings.Join(rows[0], ","))
	last := rows[len(rows)-1]
	assert.Equal(t, []string{"", "Aggregated"}, last[:2])
	assert.Equal(t, "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size",
		strings.Join(readCSV(t, prefix+"_stats_history.csv")[0], ","))
	failures := readCSV(t, prefix+"_failures.csv")
	assert.Equal(t, "Method,Name,Error,Occurrences,First Seen,Last Seen", strings.Join(failures[0], ","))
	assert.Greater(t, len(failures), 1)
	assert.Equal(t, "Count,Message,Traceback,Nodes", strings.Join(readCSV(t, prefix+"_exceptions.csv")[0], ","))

	var entries []map[string]any
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &entries), stdout.String())
	var sum float64
	for _, e := range entries {
		sum += e["num_requests"].(float64)
	}
	assert.Equal(t, float64(srv.Total()), sum, "JSON requests equal the target's count")
	assert.Equal(t, last[2], jsonInt(sum))
	assert.Contains(t, stderr.String(), "Response time percentiles")
	assert.Contains(t, stderr.String(), "Error report")
}

func jsonInt(f float64) string {
	return strings.TrimSuffix(strings.TrimSuffix(jsonString(f), ".0"), ".00")
}

func jsonString(f float64) string { b, _ := json.Marshal(f); return string(b) }

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, rows)
	return rows
}

func TestUnknownClassIsAUsageError(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), []string{"--headless", "Nobody"}, nil, &stdout, &stderr, shopperClass("http://127.0.0.1:1"))
	assert.Equal(t, ExitUsage, code)
	assert.Equal(t, "error: unknown user class \"Nobody\": choose from Shopper (-l lists them)\n", stderr.String())
}

func TestListPrintsClasses(t *testing.T) {
	var stdout bytes.Buffer
	code := Run(t.Context(), []string{"-l"}, nil, &stdout, &stdout, shopperClass(""), user.Class[shopper]{Name: "Admin", Tasks: shopperClass("").Tasks})
	assert.Equal(t, ExitOK, code)
	assert.Equal(t, "Available Users:\n    Admin\n    Shopper\n", stdout.String())
}

func TestTagsThatLeaveNothingAreAUsageError(t *testing.T) {
	var stderr bytes.Buffer
	code := Run(t.Context(), []string{"--headless", "-T", "nope"}, nil, &stderr, &stderr, shopperClass("http://127.0.0.1:1"))
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, stderr.String(), "no tasks left after filtering")
}

func TestTagsSelectTasks(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	res := RunHeadless(t, Config{Users: 2, RunTime: 700 * time.Millisecond, Host: srv.URL, Tags: []string{"list"}}, shopperClass(""))
	assert.Positive(t, srv.Count("/items"))
	assert.Zero(t, srv.Count("/item"), "tasks without the tag never run")
	assert.Equal(t, srv.Total(), res.Stats.Total.NumRequests)
}

func TestUnreachableHostGivesFailuresNotACrash(t *testing.T) {
	var stdout, stderr bytes.Buffer
	// Port 1 on loopback refuses connections.
	code := Run(t.Context(), []string{"--headless", "-u", "2", "-r", "10", "-t", "1s", "-H", "http://127.0.0.1:1", "--json", "--only-summary"},
		nil, &stdout, &stderr, shopperClass(""))
	assert.Equal(t, 1, code)
	var entries []map[string]any
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &entries))
	require.NotEmpty(t, entries)
	for _, e := range entries {
		assert.Equal(t, e["num_requests"], e["num_failures"], "every request to a refused port fails")
	}
	assert.Contains(t, stderr.String(), "connection refused")
}

// stopper stops the whole test from a task after a few iterations.
type stopper struct {
	user.Base
	n int
}

func (s *stopper) Work(ctx context.Context) error {
	s.n++
	user.Record(s.Env(), "custom", "work", time.Millisecond, 1, nil)
	if s.n == 3 {
		return user.ErrStopTest
	}
	return nil
}

func TestStopTestEndsTheRunEarly(t *testing.T) {
	start := time.Now()
	res := RunHeadless(t, Config{Users: 1, RunTime: time.Minute}, user.Class[stopper]{
		Tasks: taskset.Weighted(taskset.Task[stopper]{Run: (*stopper).Work}),
	})
	assert.Less(t, time.Since(start), 30*time.Second)
	assert.Equal(t, int64(3), res.Stats.Total.NumRequests)
}

// panicker panics on every other iteration.
type panicker struct {
	user.Base
	n atomic.Int64
}

func (p *panicker) Work(ctx context.Context) error {
	if p.n.Add(1)%2 == 0 {
		panic("boom in task")
	}
	user.Record(p.Env(), "custom", "work", time.Millisecond, 1, nil)
	return nil
}

func TestPanickingTaskIsReportedAndExitsWithErrorCode(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), []string{"--headless", "-u", "2", "-r", "10", "-t", "500ms", "--only-summary", "--exit-code-on-error", "4"},
		nil, &stdout, &stderr, user.Class[panicker]{Wait: user.Constant(5 * time.Millisecond), Tasks: taskset.Weighted(taskset.Task[panicker]{Run: (*panicker).Work})})
	assert.Equal(t, 4, code)
}

func TestRunStopsOnContextCancel(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	var stdout, stderr bytes.Buffer
	go func() {
		done <- Run(ctx, []string{"--headless", "-u", "2", "-r", "100", "-H", srv.URL, "--only-summary"}, nil, &stdout, &stderr, shopperClass(""))
	}()
	require.Eventually(t, func() bool { return srv.Total() > 10 }, 10*time.Second, 10*time.Millisecond)
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	assert.Contains(t, stderr.String(), "Aggregated")
}

func TestValidateRejectsBadConfigInRunHeadless(t *testing.T) {
	ft := &fakeTB{TB: t}
	func() {
		defer func() { _ = recover() }()
		RunHeadless(ft, Config{Users: -3, RunTime: time.Second}, shopperClass(""))
	}()
	assert.Contains(t, ft.fatal, "-u/--users is -3")
}

// fakeTB records Fatalf instead of failing the real test.
type fakeTB struct {
	testing.TB
	fatal string
}

var errFatal = errors.New("fatal")

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = strings.TrimSpace(sprintf(format, args...))
	panic(errFatal)
}

func TestRunWithKeepsCodeSettingsAndRunsTestHooks(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	var started, stopped atomic.Int64
	base := DefaultConfig()
	base.Users = 3 // a default from code; the flag below overrides it
	base.OnTestStart = func(ctx context.Context) error { started.Add(1); return nil }
	base.OnTestStop = func(ctx context.Context) error {
		stopped.Add(1)
		if srv.Total() == 0 {
			return errors.New("OnTestStop ran before any request")
		}
		return nil
	}
	var stdout, stderr bytes.Buffer
	code := RunWith(t.Context(), base, []string{"--headless", "-u", "2", "-r", "100", "-t", "500ms", "-H", srv.URL, "--only-summary"},
		nil, &stdout, &stderr, shopperClass(""))
	assert.Equal(t, 0, code, stderr.String())
	assert.Equal(t, int64(1), started.Load(), "OnTestStart runs once per test")
	assert.Equal(t, int64(1), stopped.Load(), "OnTestStop runs once per test")
	assert.Contains(t, stderr.String(), `"users": 2`, "the flag overrides the code's default")

	failing := DefaultConfig()
	failing.OnTestStart = func(ctx context.Context) error { return errors.New("no test data") }
	stderr.Reset()
	code = RunWith(t.Context(), failing, []string{"--headless", "-t", "1s", "-H", srv.URL}, nil, &stdout, &stderr, shopperClass(""))
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "OnTestStart: no test data")
}
