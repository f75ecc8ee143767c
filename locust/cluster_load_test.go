package locust

import (
	"encoding/json"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// iterationsLine parses the master's "iterations: N run, M dropped".
func iterationsLine(t *testing.T, stderr string) (run, dropped int64) {
	t.Helper()
	m := regexp.MustCompile(`iterations: (\d+) run, (\d+) dropped`).FindStringSubmatch(stderr)
	require.NotNil(t, m, "no iterations line in the master's output")
	run, _ = strconv.ParseInt(m[1], 10, 64)
	dropped, _ = strconv.ParseInt(m[2], 10, 64)
	return run, dropped
}

// jsonDoc parses the master's --json document of a load-model run: the
// total of num_requests and the metrics.
func jsonDoc(t *testing.T, out string) (total int64, metrics map[string]float64) {
	t.Helper()
	var doc struct {
		Stats []struct {
			NumRequests int64 `json:"num_requests"`
		} `json:"stats"`
		Metrics map[string]float64 `json:"metrics"`
	}
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(out)), &doc), "master stdout: %s", out)
	for _, r := range doc.Stats {
		total += r.NumRequests
	}
	return total, doc.Metrics
}

// TestClusterLoadProcesses runs an iteration limit and an arrival rate on
// a master and two workers, real processes of internal/clustertest,
// against a counting target on 127.0.0.1.
func TestClusterLoadProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster tests skipped with -short")
	}
	bin := t.TempDir() + "/clustertest"
	build := exec.Command("go", "build", "-o", bin, "github.com/golocust/golocust/internal/clustertest")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building internal/clustertest: %s", out)
	newCluster := func(t *testing.T) *cluster {
		return &cluster{bin: bin, port: clusterPort(t), target: newCountingTarget(t)}
	}

	t.Run("-i 500 over two workers is exact", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		m := c.master(t, "master", "-u", "10", "-r", "100", "-i", "500", "-t", "60s", "--expect-workers", "2", "Hitter")
		w1 := c.worker(t, "worker1", "Hitter")
		w2 := c.worker(t, "worker2", "Hitter")
		assert.Equal(t, 0, m.wait(t, 60*time.Second), "master exit code")
		assert.Equal(t, 0, w1.wait(t, 10*time.Second))
		assert.Equal(t, 0, w2.wait(t, 10*time.Second))
		assert.Contains(t, m.err.String(), "the load model has ended the run")
		total, metrics := jsonDoc(t, m.out.String())
		assert.Equal(t, int64(500), total, "requests on the master")
		assert.Equal(t, 500.0, metrics["iterations"])
		assert.Equal(t, 0.0, metrics["dropped_iterations"])
		assert.Equal(t, int64(500), c.target.total.Load(), "requests the target saw")
		run, dropped := iterationsLine(t, m.err.String())
		assert.Equal(t, int64(500), run)
		assert.Zero(t, dropped)
		assert.Equal(t, 250, c.target.pidCount(w1.cmd.Process.Pid), "worker 1's exact share")
		assert.Equal(t, 250, c.target.pidCount(w2.cmd.Process.Pid), "worker 2's exact share")
	})

	t.Run("arrival rate 100/s for 3 s over two workers", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		m := c.master(t, "master", "--arrival-rate", "100", "--arrival-stages", "3s:100", "--max-users", "20",
			"-t", "60s", "--expect-workers", "2", "Hitter")
		w1 := c.worker(t, "worker1", "Hitter")
		w2 := c.worker(t, "worker2", "Hitter")
		assert.Equal(t, 0, m.wait(t, 60*time.Second), "master exit code")
		assert.Equal(t, 0, w1.wait(t, 10*time.Second))
		assert.Equal(t, 0, w2.wait(t, 10*time.Second))
		assert.Contains(t, m.err.String(), "the load model has ended the run")
		run, dropped := iterationsLine(t, m.err.String())
		t.Logf("iterations: %d run, %d dropped; worker shares at the target: %d, %d", run, dropped,
			c.target.pidCount(w1.cmd.Process.Pid), c.target.pidCount(w2.cmd.Process.Pid))
		// A worker short of CPU drops an iteration it gets late instead of
		// bunching it (the gate's contract, tested exactly under synctest
		// in ./runner), so only the sum is fixed here.
		assert.Equal(t, int64(300), run+dropped, "run + dropped = the 300 scheduled")
		assert.GreaterOrEqual(t, run, int64(150), "most of the schedule runs")
		total, metrics := jsonDoc(t, m.out.String())
		assert.Equal(t, run, total, "one request per iteration on the master")
		assert.Equal(t, float64(run), metrics["iterations"])
		assert.Equal(t, float64(dropped), metrics["dropped_iterations"])
		assert.Equal(t, run, c.target.total.Load(), "requests the target saw")
		// The schedule is striped: each worker owns 150 of the 300.
		n1, n2 := c.target.pidCount(w1.cmd.Process.Pid), c.target.pidCount(w2.cmd.Process.Pid)
		assert.Equal(t, int(run), n1+n2)
		assert.LessOrEqual(t, n1, 150, "worker 1 runs only its half of the schedule")
		assert.LessOrEqual(t, n2, 150, "worker 2 runs only its half of the schedule")
		assert.Positive(t, n1)
		assert.Positive(t, n2)
	})
}

// What distributed mode does not take is refused with a usage error that
// says what to do.
func TestClusterLoadUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--worker", "-i", "5"}, "given to the master"},
		{[]string{"--worker", "--arrival-rate", "10"}, "given to the master"},
		{[]string{"--master", "--headless", "-i", "5", "--stages", "1s:1"}, "runs standalone for now"},
	} {
		var out, errOut strings.Builder
		code := Run(t.Context(), tc.args, func(string) (string, bool) { return "", false }, &out, &errOut, shopperClass(""))
		assert.Equal(t, ExitUsage, code, "%v: %s", tc.args, errOut.String())
		assert.Contains(t, errOut.String(), tc.want, "%v", tc.args)
	}
}
