package locust

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/internal/demotarget"
	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/transport"
	"github.com/golocust/golocust/user"
)

// Flag parsing and validation of distributed mode.
func TestClusterFlags(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c *ClusterConfig)
	}{
		{name: "defaults", args: []string{"--master"}, check: func(t *testing.T, c *ClusterConfig) {
			assert.Equal(t, "127.0.0.1", c.MasterBindHost)
			assert.Equal(t, 5557, c.MasterBindPort)
			assert.Equal(t, "127.0.0.1", c.MasterHost)
			assert.Equal(t, 5557, c.MasterPort)
			assert.Equal(t, 1, c.ExpectWorkers)
			assert.Zero(t, c.ExpectWorkersMaxWait)
		}},
		{name: "worker flags", args: []string{"-worker", "--master-host", "10.0.0.5", "--master-port", "6000", "--worker-token", "s3cret"}, check: func(t *testing.T, c *ClusterConfig) {
			assert.True(t, c.Worker)
			assert.Equal(t, "10.0.0.5", c.MasterHost)
			assert.Equal(t, 6000, c.MasterPort)
			assert.Equal(t, "s3cret", c.WorkerToken)
		}},
		{name: "token from the environment", args: []string{"--master"}, env: map[string]string{"LOCUST_WORKER_TOKEN": "fromenv", "LOCUST_EXPECT_WORKERS": "3"}, check: func(t *testing.T, c *ClusterConfig) {
			assert.Equal(t, "fromenv", c.WorkerToken)
			assert.Equal(t, 3, c.ExpectWorkers)
		}},
		{name: "master bind and wait", args: []string{"--master", "--master-bind-host", "0.0.0.0", "--master-bind-port", "7000", "--expect-workers", "4", "--expect-workers-max-wait", "1m"}, check: func(t *testing.T, c *ClusterConfig) {
			assert.Equal(t, "0.0.0.0", c.MasterBindHost)
			assert.Equal(t, 7000, c.MasterBindPort)
			assert.Equal(t, 4, c.ExpectWorkers)
			assert.Equal(t, time.Minute, c.ExpectWorkersMaxWait)
		}},
		{name: "master and worker", args: []string{"--master", "--worker"}, wantErr: "--master and --worker both set"},
		{name: "expect zero workers", args: []string{"--master", "--expect-workers", "0"}, wantErr: "--expect-workers"},
		{name: "bad port", args: []string{"--worker", "--master-port", "70000"}, wantErr: "--master-port"},
		{name: "cert without key", args: []string{"--master", "--cluster-tls-cert", "c.pem"}, wantErr: "--cluster-tls-cert and --cluster-tls-key"},
		{name: "master CA without cert", args: []string{"--master", "--cluster-tls-ca", "ca.pem"}, wantErr: "--cluster-tls-ca on the master"},
		{name: "token and token file", args: []string{"--worker", "--worker-token", "a", "--worker-token-file", "f"}, wantErr: "--worker-token and --worker-token-file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			_, err := parseCommandLine(&cfg, tc.args, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if err == nil {
				cfg.Headless = true
				err = cfg.Validate()
			}
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			tc.check(t, &cfg.Cluster)
		})
	}
}

// The worker token never shows in the usage text.
func TestWorkerTokenNotPrinted(t *testing.T) {
	var out, errOut bytes.Buffer
	env := func(k string) (string, bool) {
		if k == "LOCUST_WORKER_TOKEN" {
			return "very-secret-token", true
		}
		return "", false
	}
	code := Run(t.Context(), []string{"--help", "--worker-token", "very-secret-token"}, env, &out, &errOut)
	assert.Equal(t, ExitOK, code)
	assert.Contains(t, out.String(), "--worker-token")
	assert.NotContains(t, out.String()+errOut.String(), "very-secret-token")
}

// A master with the web UI: /swarm answers 409 until a worker connects,
// then the run goes to the worker and its stats come back to the UI.
func TestWebUIMasterWithAWorker(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	port := clusterPort(t)
	cfg := DefaultConfig()
	cfg.Cluster.Master = true
	cfg.Cluster.MasterBindPort, _ = strconv.Atoi(port)
	cfg.Host = srv.URL
	base, end := startWebSession(t, cfg)

	code, body := postForm(t, base+"/swarm", url.Values{"user_count": {"4"}, "spawn_rate": {"100"}})
	assert.Equal(t, http.StatusConflict, code, body)

	wlogs := newLogRing(500)
	_, _ = wlogs.Write([]byte("a line of the worker's log\n"))
	w, stopWorker := startWorkerOf(t, base, runner.WorkerOptions{
		Classes:     []user.Spawner{shopperClass("")},
		Client:      transport.ClientOptions{Address: "127.0.0.1:" + port, BackoffBase: 20 * time.Millisecond},
		LogLines:    wlogs.newLines(),
		LogInterval: 20 * time.Millisecond,
	})
	// The Logs tab shows the worker's lines under its id.
	require.Eventually(t, func() bool {
		var logs struct {
			Workers map[string][]string `json:"workers"`
		}
		getJSON(t, base+"/logs", &logs)
		return slices.Equal(logs.Workers[w.ID()], []string{"a line of the worker's log"})
	}, 10*time.Second, 20*time.Millisecond)

	code, body = postForm(t, base+"/swarm", url.Values{"user_count": {"4"}, "spawn_rate": {"100"}})
	require.Equal(t, http.StatusOK, code, body)
	var st struct {
		UserCount int `json:"user_count"`
		Workers   []struct {
			ID        string `json:"id"`
			UserCount int    `json:"user_count"`
		} `json:"workers"`
		Stats []struct {
			Name        string `json:"name"`
			NumRequests int64  `json:"num_requests"`
		} `json:"stats"`
	}
	require.Eventually(t, func() bool {
		getJSON(t, base+"/stats/requests", &st)
		var n int64
		for _, r := range st.Stats {
			if r.Name == "Aggregated" {
				n = r.NumRequests
			}
		}
		return st.UserCount == 4 && n > 0
	}, 10*time.Second, 50*time.Millisecond)
	require.Len(t, st.Workers, 1)
	assert.Equal(t, w.ID(), st.Workers[0].ID)

	code, body = postForm(t, base+"/stop", nil)
	require.Equal(t, http.StatusOK, code, body)
	stopWorker()
	res := end()
	assert.Positive(t, res.Stats.Total.NumRequests)
	assert.Equal(t, srv.Total(), res.Stats.Total.NumRequests, "the master counts what the target saw")
}

// TestClusterProcesses runs masters and workers as real processes of
// internal/clustertest against a counting target on 127.0.0.1.
func TestClusterProcesses(t *testing.T) {
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

	t.Run("master and two workers count what the target saw", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		m := c.master(t, "master", "-u", "10", "-r", "100", "-t", "3s", "--expect-workers", "2", "Hitter")
		w1 := c.worker(t, "worker1", "Hitter")
		w2 := c.worker(t, "worker2", "Hitter")
		assert.Equal(t, 0, m.wait(t, 60*time.Second), "master exit code")
		assert.Equal(t, 0, w1.wait(t, 10*time.Second), "worker exit code")
		assert.Equal(t, 0, w2.wait(t, 10*time.Second), "worker exit code")
		total := jsonTotal(t, m.out.String())
		assert.Positive(t, total)
		assert.Equal(t, c.target.total.Load(), total, "master total equals the target's count")
	})

	t.Run("two workers times 50 users number 0..99", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		m := c.master(t, "master", "-u", "100", "-r", "1000", "-t", "3s", "--expect-workers", "2", "Numbered")
		c.worker(t, "worker1", "Numbered")
		c.worker(t, "worker2", "Numbered")
		assert.Equal(t, 0, m.wait(t, 60*time.Second))
		c.target.mu.Lock()
		defer c.target.mu.Unlock()
		require.Len(t, c.target.seqs, 100, "distinct sequence numbers")
		for n := range 100 {
			assert.Equal(t, 1, c.target.seqs[n], "sequence number %d", n)
		}
	})

	t.Run("SIGTERM to a worker: goodbye, rebalance, final stats merged", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		m := c.master(t, "master", "-u", "15", "-r", "100", "-t", "6s", "--expect-workers", "3", "Hitter")
		var ws []*proc
		for i := range 3 {
			ws = append(ws, c.worker(t, fmt.Sprintf("worker%d", i+1), "Hitter"))
		}
		m.waitLog(t, "All users spawned", 60*time.Second)
		victim := ws[2]
		require.Eventually(t, func() bool { return c.target.pidCount(victim.cmd.Process.Pid) > 50 }, 20*time.Second, 20*time.Millisecond)
		require.NoError(t, victim.cmd.Process.Signal(syscall.SIGTERM))
		sent := time.Now()
		// The goodbye itself moves the users ("worker left"), not the
		// connection's end or missed heartbeats ("worker missing"). That is
		// what makes it prompt; how prompt depends on the machine's load,
		// so the delay is logged, not bounded.
		moved := m.waitLog(t, "rebalancing users over the workers\t{\"reason\": \"worker left", 10*time.Second)
		t.Logf("users moved %v after the SIGTERM", moved.Sub(sent).Round(time.Millisecond))
		assert.Equal(t, 0, victim.wait(t, 15*time.Second), "a worker stopped by SIGTERM exits 0")
		m.waitLog(t, "a worker said goodbye", 10*time.Second)
		assert.NotContains(t, m.err.String(), "marked missing", "a worker that said goodbye is not missing")
		assert.Equal(t, 0, m.wait(t, 60*time.Second))
		assert.Equal(t, c.target.total.Load(), jsonTotal(t, m.out.String()), "the leaving worker's final stats are merged")
	})

	t.Run("kill -9 one of three workers", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		m := c.master(t, "master", "-u", "15", "-r", "100", "-t", "14s", "--expect-workers", "3", "Hitter")
		var ws []*proc
		for i := range 3 {
			ws = append(ws, c.worker(t, fmt.Sprintf("worker%d", i+1), "Hitter"))
		}
		spawned := m.waitLog(t, "All users spawned", 60*time.Second)
		victim := ws[2]
		pid := victim.cmd.Process.Pid
		// Kill it once it has run longer than the window of unreported
		// requests checked below, so that the check says something.
		require.Eventually(t, func() bool { return c.target.pidCount(pid) > 1000 && time.Since(spawned) > 7*time.Second },
			30*time.Second, 20*time.Millisecond)
		require.NoError(t, victim.cmd.Process.Kill())
		killed := time.Now()
		victim.wait(t, 10*time.Second)
		// The lost connection marks the worker missing and moves its users
		// at once, before any heartbeat is missed (which would take 3 s).
		// How soon depends on the machine's load: the delay is logged, and
		// the mechanism asserted.
		m.waitLog(t, "worker connection lost: marked missing", 10*time.Second)
		moved := m.waitLog(t, "rebalancing users over the workers\t{\"reason\": \"worker missing: ", 10*time.Second)
		t.Logf("users moved %v after the kill", moved.Sub(killed).Round(time.Millisecond))
		assert.Equal(t, 0, m.wait(t, 60*time.Second), "the run finishes")
		assert.Equal(t, 0, ws[0].wait(t, 10*time.Second))
		assert.Equal(t, 0, ws[1].wait(t, 10*time.Second))
		total, seen := jsonTotal(t, m.out.String()), c.target.total.Load()
		// A worker reports every 3 s; on a loaded machine a report may be
		// late by up to one more interval, so what the master can miss is
		// at most the killed worker's last two intervals.
		unreported := int64(c.target.count(pid, killed.Add(-6*time.Second), killed))
		assert.LessOrEqual(t, total, seen)
		assert.LessOrEqual(t, seen-total, unreported, "the master misses at most the killed worker's unreported requests")
		t.Logf("target %d, master %d, killed worker's last 6 s %d", seen, total, unreported)
	})

	t.Run("master restarted mid-run: workers reconnect and take a new run", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		m1 := c.master(t, "master1", "-u", "4", "-r", "100", "-t", "60s", "--expect-workers", "2", "Hitter")
		w1 := c.worker(t, "worker1", "Hitter")
		w2 := c.worker(t, "worker2", "Hitter")
		m1.waitLog(t, "All users spawned", 60*time.Second)
		require.Eventually(t, func() bool { return c.target.total.Load() > 20 }, 20*time.Second, 20*time.Millisecond)
		require.NoError(t, m1.cmd.Process.Kill())
		m1.wait(t, 10*time.Second)
		w1.waitLog(t, "lost the master", 10*time.Second)

		before := c.target.total.Load()
		m2 := c.master(t, "master2", "-u", "6", "-r", "100", "-t", "3s", "--expect-workers", "2", "Hitter")
		assert.Equal(t, 0, m2.wait(t, 90*time.Second))
		assert.Equal(t, 0, w1.wait(t, 10*time.Second), "worker quit by the new master")
		assert.Equal(t, 0, w2.wait(t, 10*time.Second))
		assert.Greater(t, c.target.total.Load(), before, "the new run sent requests")
		assert.Positive(t, jsonTotal(t, m2.out.String()))
	})

	t.Run("wrong or missing token is refused", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		m := c.master(t, "master", "-u", "1", "-t", "1s", "--expect-workers", "1", "--expect-workers-max-wait", "4s", "--worker-token", "right-token", "Hitter")
		wrong := c.worker(t, "wrong", "--worker-token", "wrong-token", "Hitter")
		missing := c.worker(t, "missing", "Hitter")
		for _, w := range []*proc{wrong, missing} {
			assert.NotEqual(t, 0, w.wait(t, 20*time.Second), "%s: refused worker exits non-zero", w.name)
			assert.Contains(t, w.err.String(), "worker token")
			assert.NotContains(t, w.err.String(), "goroutine ")
			assert.NotContains(t, w.err.String(), "right-token")
		}
		assert.Equal(t, 1, m.wait(t, 30*time.Second), "master gives up waiting: exit 1")
		assert.Contains(t, m.err.String(), "Gave up waiting for workers to connect")
		assert.Contains(t, m.err.String(), "refused a worker stream")
		assert.NotContains(t, m.err.String(), "wrong-token")
		assert.NotContains(t, m.err.String(), "right-token")
	})

	t.Run("worker readiness follows its master", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		healthPort := strconv.Itoa(freePort(t))
		w := c.worker(t, "worker", "--health-port", healthPort, "Hitter")
		readyz := func() int {
			resp, err := http.Get("http://127.0.0.1:" + healthPort + "/readyz")
			if err != nil {
				return 0
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		defer http.DefaultClient.CloseIdleConnections()
		require.Eventually(t, func() bool { return readyz() == http.StatusServiceUnavailable }, 20*time.Second, 20*time.Millisecond,
			"503 before the worker has a master")
		m := c.master(t, "master", "-u", "2", "-r", "100", "-t", "5m", "--expect-workers", "1", "Hitter")
		require.Eventually(t, func() bool { return readyz() == http.StatusOK }, 30*time.Second, 20*time.Millisecond,
			"200 once connected")
		require.NoError(t, m.cmd.Process.Kill())
		require.Eventually(t, func() bool { return readyz() == http.StatusServiceUnavailable }, 30*time.Second, 20*time.Millisecond,
			"503 again while its master is gone")
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
		w.wait(t, 30*time.Second)
	})
}
