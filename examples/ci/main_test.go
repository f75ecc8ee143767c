package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/golocust/golocust/internal/demotarget"
	"github.com/golocust/golocust/locust"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// run runs the program as `go run . args...` would from this directory
// (so ./locust.conf applies) and returns its exit code and outputs.
func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code := locust.Run(ctx, args, lookup, &stdout, &stderr, visitor)
	require.NoError(t, ctx.Err(), "the run must end by itself (--autoquit): %s", stderr.String())
	return code, stdout.String(), stderr.String()
}

// The job passes: the run stops after -t, the process quits after
// --autoquit, the report is written and the JSON counts every request the
// target saw.
func TestCIJobEndsByItselfAndPasses(t *testing.T) {
	srv, err := demotarget.Start(context.Background(), demotarget.Options{})
	require.NoError(t, err)
	defer srv.Close()
	report := filepath.Join(t.TempDir(), "report.html")
	// The file says 30 s, 10 users and a 5 s autoquit; the command line
	// and the environment shorten them for the test.
	code, stdout, stderr := run(t, map[string]string{"LOCUST_USERS": "4"},
		"-H", srv.URL, "-t", "2s", "--autoquit", "0", "-r", "100", "-P", "0", "--html", report, "--json")
	assert.Equal(t, locust.ExitOK, code, stderr)
	assert.Contains(t, stderr, "--autoquit time reached")
	assert.Contains(t, stderr, "2 of 2 thresholds held", "the threshold summary")

	var out struct {
		Stats []struct {
			Name        string `json:"name"`
			NumRequests int64  `json:"num_requests"`
		} `json:"stats"`
		Passed bool `json:"thresholds_passed"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
	assert.True(t, out.Passed)
	got := map[string]int64{}
	var total int64
	for _, r := range out.Stats {
		got[r.Name] = r.NumRequests
		total += r.NumRequests
	}
	assert.Positive(t, got["/items"])
	assert.Equal(t, srv.Count("/items"), got["/items"])
	assert.Equal(t, srv.Count("/item"), got["/item?id=[id]"])
	assert.Equal(t, srv.Total(), total)
	assert.Greater(t, got["/item?id=[id]"], got["/items"], "item pages weigh 3 to 1")

	html, err := os.ReadFile(report)
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(html), "/item?id=[id]"), "the report names the endpoints")
}

// The job fails with exit code 3 when the target misses the file's
// fail_ratio<0.01 objective.
func TestCIJobFailsOnAMissedThreshold(t *testing.T) {
	srv, err := demotarget.Start(context.Background(), demotarget.Options{ErrorRate: 0.5, Seed: 3})
	require.NoError(t, err)
	defer srv.Close()
	code, _, stderr := run(t, nil, "-H", srv.URL, "-t", "1s", "--autoquit", "0", "-u", "2", "-r", "100", "-P", "0", "--html", "")
	assert.Equal(t, 3, code, stderr)
	assert.Contains(t, stderr, "fail_ratio")
}
