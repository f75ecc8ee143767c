package locust

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/internal/demotarget"
	"github.com/golocust/golocust/user"
)

// startWebSession runs a non-headless session on a free port and returns
// the UI's URL and a func that ends the session and returns its result.
func startWebSession(t *testing.T, cfg Config) (string, func() *Result) {
	t.Helper()
	return startWebSessionWith(t, cfg, shopperClass(""))
}

// startWebSessionWith is startWebSession with the given classes.
func startWebSessionWith(t *testing.T, cfg Config, classes ...user.Spawner) (string, func() *Result) {
	t.Helper()
	urls := make(chan string, 1)
	cfg.Web.Port = 0
	cfg.Web.listening = func(u string) { urls <- u }
	out := &testLogWriter{t: t}
	cfg.Stdout, cfg.Stderr = out, out
	ctx, cancel := context.WithCancel(context.Background())
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := execute(ctx, &cfg, classes)
		done <- outcome{res, err}
	}()
	var base string
	select {
	case base = <-urls:
	case o := <-done:
		cancel()
		t.Fatalf("session ended before listening: %v", o.err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("web UI did not start listening")
	}
	return base, func() *Result {
		cancel()
		o := <-done
		require.NoError(t, o.err)
		out.flush()
		return o.res
	}
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}

func postForm(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestWebUIStartsEditsAndStopsALocalRun(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	cfg := DefaultConfig()
	cfg.StopTimeout = 5 * time.Second // users finish their request
	base, end := startWebSession(t, cfg)
	defer http.DefaultClient.CloseIdleConnections()

	var st struct {
		State     string `json:"state"`
		UserCount int    `json:"user_count"`
		Stats     []struct {
			Name        string `json:"name"`
			NumRequests int64  `json:"num_requests"`
		} `json:"stats"`
	}
	getJSON(t, base+"/stats/requests", &st)
	assert.Equal(t, "ready", st.State)

	code, body := postForm(t, base+"/swarm", url.Values{"user_count": {"abc"}, "spawn_rate": {"1"}})
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, "user_count")

	code, body = postForm(t, base+"/swarm", url.Values{"user_count": {"4"}, "spawn_rate": {"100"}, "host": {srv.URL}})
	require.Equal(t, http.StatusOK, code, body)
	require.Eventually(t, func() bool {
		getJSON(t, base+"/stats/requests", &st)
		return st.UserCount == 4 && len(st.Stats) > 0
	}, 15*time.Second, 50*time.Millisecond)

	code, body = postForm(t, base+"/swarm", url.Values{"user_count": {"2"}, "spawn_rate": {"100"}})
	require.Equal(t, http.StatusOK, code, body)
	require.Eventually(t, func() bool {
		getJSON(t, base+"/stats/requests", &st)
		return st.UserCount == 2
	}, 15*time.Second, 50*time.Millisecond)

	code, _ = postForm(t, base+"/stop", nil)
	require.Equal(t, http.StatusOK, code)
	require.Eventually(t, func() bool {
		getJSON(t, base+"/stats/requests", &st)
		return st.State == "stopped" && st.UserCount == 0
	}, 15*time.Second, 50*time.Millisecond)

	var logs struct {
		Master []string `json:"master"`
	}
	getJSON(t, base+"/logs", &logs)
	assert.NotEmpty(t, logs.Master)
	assert.True(t, strings.Contains(strings.Join(logs.Master, "\n"), "ramping"))

	res := end()
	assert.Equal(t, srv.Total(), res.Stats.Total.NumRequests, "the web-started run counted every request the target saw")
}

func TestHealthProbesOnWebPortAndHealthPort(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Web.Auth = "admin:secret"
	cfg.Health.Port = freePort(t)
	base, end := startWebSession(t, cfg)
	defer http.DefaultClient.CloseIdleConnections()
	probes := "http://127.0.0.1:" + strconv.Itoa(cfg.Health.Port)
	// The probe listener starts just after the web UI announces itself.
	require.Eventually(t, func() bool {
		resp, err := http.Get(probes + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "the probe listener starts")
	for _, u := range []string{base, probes} {
		for _, p := range []string{"/healthz", "/readyz"} {
			resp, err := http.Get(u + p)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode, u+p)
		}
	}
	resp, err := http.Get(base + "/stats/requests")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	end()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestHeadlessMasterIsNotReadyWhileWaitingForWorkers: the probes serve
// while a headless master waits for its workers, and /readyz says why it
// is not ready yet.
func TestHeadlessMasterIsNotReadyWhileWaitingForWorkers(t *testing.T) {
	healthPort, masterPort := freePort(t), freePort(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	var out testLogWriter
	out.t = t
	go func() {
		done <- Run(ctx, []string{"--master", "--headless", "-u", "2", "-t", "1m", "--expect-workers", "2",
			"--master-bind-port", strconv.Itoa(masterPort), "--health-port", strconv.Itoa(healthPort)},
			nil, &out, &out, shopperClass("http://127.0.0.1:1"))
	}()
	defer http.DefaultClient.CloseIdleConnections()
	base := "http://127.0.0.1:" + strconv.Itoa(healthPort)
	var body string
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == http.StatusServiceUnavailable
	}, 20*time.Second, 20*time.Millisecond)
	assert.Contains(t, body, "waiting for workers: 0 of 2 connected")
	resp, err := http.Get(base + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "alive while waiting")
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code, "stopping before any run is not an error")
	case <-time.After(20 * time.Second):
		t.Fatal("the master did not stop")
	}
	out.flush()
}
