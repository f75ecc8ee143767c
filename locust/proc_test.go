package locust

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golocust/golocust/runner"
	"github.com/stretchr/testify/require"
)

// ---- multi-process tests: real binaries on 127.0.0.1 ----

// syncBuffer is a bytes.Buffer safe for a process writing and a test reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type proc struct {
	name     string
	cmd      *exec.Cmd
	out, err syncBuffer
	done     chan struct{}
	code     int
}

func startProc(t *testing.T, bin, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.err
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LOCUST_") {
			env = append(env, kv)
		}
	}
	p.cmd.Env = env
	require.NoError(t, p.cmd.Start())
	go func() {
		err := p.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			p.code = ee.ExitCode()
		default:
			p.code = -1
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("--- %s stderr:\n%s", p.name, tail(p.err.String(), 4000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(d):
		t.Fatalf("%s did not exit within %v", p.name, d)
		return 0
	}
}

// waitLog waits until the process's stderr contains s.
func (p *proc) waitLog(t *testing.T, s string, d time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(p.err.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q in its log within %v", p.name, s, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Now()
}

// countingTarget counts the requests it serves, per sending process, with
// their times, and the sequence numbers of /seq.
type countingTarget struct {
	*httptest.Server
	total atomic.Int64
	mu    sync.Mutex
	times map[string][]time.Time // per X-Pid
	seqs  map[int]int
}

func newCountingTarget(t *testing.T) *countingTarget {
	ct := &countingTarget{times: map[string][]time.Time{}, seqs: map[int]int{}}
	ct.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct.total.Add(1)
		ct.mu.Lock()
		ct.times[r.Header.Get("X-Pid")] = append(ct.times[r.Header.Get("X-Pid")], time.Now())
		if r.URL.Path == "/seq" {
			n, _ := strconv.Atoi(r.URL.Query().Get("n"))
			ct.seqs[n]++
		}
		ct.mu.Unlock()
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(ct.Close)
	return ct
}

func (ct *countingTarget) count(pid int, from, to time.Time) int {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	n := 0
	for _, at := range ct.times[strconv.Itoa(pid)] {
		if !at.Before(from) && !at.After(to) {
			n++
		}
	}
	return n
}

func (ct *countingTarget) pidCount(pid int) int {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return len(ct.times[strconv.Itoa(pid)])
}

func clusterPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = l.Close() }()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// jsonTotal sums num_requests of the master's --json output.
func jsonTotal(t *testing.T, out string) int64 {
	t.Helper()
	var rows []struct {
		NumRequests int64 `json:"num_requests"`
	}
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(out)), &rows), "master stdout: %s", out)
	var n int64
	for _, r := range rows {
		n += r.NumRequests
	}
	return n
}

type cluster struct {
	bin, port string
	target    *countingTarget
}

func (c *cluster) master(t *testing.T, name string, args ...string) *proc {
	base := []string{"--master", "--headless", "--master-bind-port", c.port, "-H", c.target.URL,
		"--json", "--only-summary", "-s", "5s", "--expect-workers-max-wait", "60s"}
	return startProc(t, c.bin, name, append(base, args...)...)
}

func (c *cluster) worker(t *testing.T, name string, args ...string) *proc {
	return startProc(t, c.bin, name, append([]string{"--worker", "--master-port", c.port}, args...)...)
}

// startWorkerOf runs an in-process worker with o until stop is called, and
// waits until the master serving the web UI at base counts it. stop ends
// the worker and checks that it ended without an error.
func startWorkerOf(t *testing.T, base string, o runner.WorkerOptions) (w *runner.Worker, stop func()) {
	t.Helper()
	w, err := runner.NewWorker(o)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	require.Eventually(t, func() bool {
		var wc struct {
			WorkerCount int `json:"worker_count"`
		}
		getJSON(t, base+"/worker-count", &wc)
		return wc.WorkerCount == 1
	}, 10*time.Second, 20*time.Millisecond, "the master counts the worker")
	return w, func() {
		cancel()
		require.NoError(t, <-done)
	}
}
