package user_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/user"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// The fasthttp server of the benchmarks keeps a clock goroutine
		// for ever and its worker pool's cleaner for a few seconds.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	)
}

// target is a local web server counting what it receives, per "METHOD
// path".
type target struct {
	*httptest.Server
	mu       sync.Mutex
	counts   map[string]int
	inFlight atomic.Int64
	release  chan struct{} // /slow blocks until closed
	sid      atomic.Int64
}

func newTarget(t *testing.T) *target {
	tg := &target{counts: map[string]int{}, release: make(chan struct{})}
	tg.Server = httptest.NewServer(http.HandlerFunc(tg.serve))
	t.Cleanup(func() {
		tg.unblock()
		tg.Close()
	})
	return tg
}

func (tg *target) unblock() {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	select {
	case <-tg.release:
	default:
		close(tg.release)
	}
}

func (tg *target) serve(w http.ResponseWriter, r *http.Request) {
	tg.mu.Lock()
	tg.counts[r.Method+" "+r.URL.Path]++
	tg.mu.Unlock()
	switch strings.TrimPrefix(r.URL.Path, "/base") {
	case "/bigheader":
		w.Header().Set("X-Big", strings.Repeat("b", 20000))
		fmt.Fprint(w, "big")
	case "/fail":
		w.WriteHeader(http.StatusServiceUnavailable)
	case "/slow":
		tg.inFlight.Add(1)
		defer tg.inFlight.Add(-1)
		select {
		case <-tg.release:
		case <-r.Context().Done():
		}
	case "/login":
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: fmt.Sprint(tg.sid.Add(1))})
		http.SetCookie(w, &http.Cookie{Name: "theme", Value: "dark"})
	case "/logout":
		http.SetCookie(w, &http.Cookie{Name: "theme", Value: "", Expires: time.Unix(1, 0)})
	case "/me":
		c, err := r.Cookie("sid")
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, c.Value)
	case "/echo":
		fmt.Fprintf(w, "%s %s %s %s", r.Method, r.URL.RequestURI(), r.Header.Get("Content-Type"), r.Header.Get("X-Test"))
		buf := make([]byte, 512)
		n, _ := r.Body.Read(buf)
		w.Write(buf[:n])
	default:
		fmt.Fprint(w, "hello")
	}
}

func (tg *target) count(key string) int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.counts[key]
}

func (tg *target) total() int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	n := 0
	for _, c := range tg.counts {
		n += c
	}
	return n
}

// run runs n users of c and returns a stop func for graceful stop and the
// hard-stop cancel; wait waits for all users to end.
type run struct {
	reg      *stats.Registry
	stopping chan struct{}
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
	stopErr  atomic.Value
	envs     []*user.Env
}

func start[U any](t *testing.T, c user.Class[U], host string, n int) *run {
	t.Helper()
	r := &run{reg: stats.NewRegistry(stats.Options{}), stopping: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	for i := range n {
		env := &user.Env{
			ID: i, Class: c.ClassName(), Host: host, Stats: r.reg, Stopping: r.stopping,
			StopTest: func(err error) { r.stopErr.Store(err) },
			Rand:     rand.New(rand.NewPCG(uint64(i), 7)),
			Seq:      int64(i),
		}
		r.envs = append(r.envs, env)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			c.Run(ctx, env)
		}()
	}
	t.Cleanup(func() {
		r.cancel()
		r.wg.Wait()
	})
	return r
}

func (r *run) stop() { r.stopOnce.Do(func() { close(r.stopping) }) }

// wait waits for every user to end, failing the test after d.
func (r *run) wait(t *testing.T, d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("users did not end within %v", d)
	}
}

func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 2*time.Millisecond, msg)
}

func entry(s *stats.Snapshot, method, name string) *stats.Entry {
	for _, e := range s.Entries {
		if e.Method == method && e.Name == name {
			return e
		}
	}
	return &stats.Entry{Method: method, Name: name}
}

func errorsOf(s *stats.Snapshot) map[string]int64 {
	m := map[string]int64{}
	for _, e := range s.Errors {
		m[e.Method+" "+e.Name+": "+e.Message] += e.Occurrences
	}
	return m
}

func methods(s *stats.Snapshot) string {
	var b strings.Builder
	for _, e := range s.Entries {
		fmt.Fprintf(&b, "%s %s %d/%d; ", e.Method, e.Name, e.NumRequests, e.NumFailures)
	}
	return b.String()
}
