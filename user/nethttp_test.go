package user_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// netWeb is web with the net/http client.
type netWeb struct {
	user.NetHTTP
}

func (w *netWeb) OK(ctx context.Context) error   { return w.Get(ctx, "/ok?id=1").Err() }
func (w *netWeb) Slow(ctx context.Context) error { return w.Get(ctx, "/slow").Err() }

// protoTarget counts requests by protocol.
type protoTarget struct {
	mu     sync.Mutex
	protos map[string]int
}

func (p *protoTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.protos[fmt.Sprintf("%s %d", r.Method, r.ProtoMajor)]++
	p.mu.Unlock()
	if r.URL.Path == "/fail" {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	fmt.Fprint(w, r.Proto)
}

func (p *protoTarget) counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := map[string]int{}
	for k, v := range p.protos {
		m[k] = v
	}
	return m
}

// h2User sends GETs and, every fifth call, a failing POST; OnStart sets
// the TLS config or the protocols given by the test.
type h2User struct {
	user.NetHTTP
	n int
}

var h2Setup atomic.Pointer[func(*user.NetHTTP)]

func (u *h2User) OnStart(context.Context) error {
	(*h2Setup.Load())(&u.NetHTTP)
	return nil
}

var protoSeen sync.Map // the Proto of responses seen by users

func (u *h2User) Call(ctx context.Context) error {
	u.n++
	if u.n%5 == 0 {
		return u.Post(ctx, "/fail", user.Body([]byte("x"))).Err()
	}
	r := u.Get(ctx, "/h2?n="+fmt.Sprint(u.n), user.Name("/h2"))
	if hr := u.HTTPResponse(); hr != nil {
		protoSeen.Store(hr.Proto+" "+string(r.Body), true)
	}
	return r.Err()
}

func runH2(t *testing.T, host string, pt *protoTarget, setup func(*user.NetHTTP)) {
	t.Helper()
	h2Setup.Store(&setup)
	protoSeen.Clear()
	c := user.Class[h2User]{Tasks: taskset.Weighted(taskset.Task[h2User]{Run: (*h2User).Call})}
	r := start(t, c, host, 4)
	total := func() int {
		n := 0
		for _, v := range pt.counts() {
			n += v
		}
		return n
	}
	eventually(t, func() bool { return total() >= 400 }, "target should get requests")
	r.stop()
	r.wait(t, 10*time.Second)

	s := r.reg.Snapshot()
	got := pt.counts()
	assert.Equal(t, []string{"GET 2", "POST 2"}, sortedKeys(got), "every request is HTTP/2")
	assert.EqualValues(t, got["GET 2"], entry(s, "GET", "/h2").NumRequests)
	assert.EqualValues(t, got["POST 2"], entry(s, "POST", "/fail").NumRequests)
	assert.EqualValues(t, got["GET 2"]+got["POST 2"], s.Total.NumRequests, methods(s))
	assert.EqualValues(t, got["POST 2"], s.Total.NumFailures)
	assert.Equal(t, map[string]int64{"POST /fail: HTTP 500 Internal Server Error": int64(got["POST 2"])}, errorsOf(s))
	var seen []string
	protoSeen.Range(func(k, _ any) bool { seen = append(seen, k.(string)); return true })
	assert.Equal(t, []string{"HTTP/2.0 HTTP/2.0"}, seen)
}

func sortedKeys(m map[string]int) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

func TestNetHTTP2OverTLS(t *testing.T) {
	pt := &protoTarget{protos: map[string]int{}}
	srv := httptest.NewUnstartedServer(pt)
	srv.EnableHTTP2 = true
	srv.StartTLS() // a self-signed certificate for 127.0.0.1
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	cfg := &tls.Config{RootCAs: pool} // shared by the users: each transport clones it
	runH2(t, srv.URL, pt, func(h *user.NetHTTP) { h.TLSConfig = cfg })
}

func TestNetHTTP2Cleartext(t *testing.T) {
	pt := &protoTarget{protos: map[string]int{}}
	srv := httptest.NewUnstartedServer(pt)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	runH2(t, srv.URL, pt, func(h *user.NetHTTP) { h.Protocols = user.H2C() })
}

type netClient struct{ user.NetHTTP }

// Options, methods, verdicts and errors are tested over both clients
// (httpclients_test.go); these are what only NetHTTP does.

func TestNetHTTPCookiesAndRedirects(t *testing.T) {
	tg := newTarget(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/go", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/base/me", http.StatusFound)
	})
	mux.HandleFunc("/", tg.serve)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	var bodies []string
	var me, theme string
	r := netKind.once(t, srv.URL+"/base/", func(c httpClient, ctx context.Context) {
		c.Get(ctx, "/login")
		me, theme = c.Cookie("sid"), c.Cookie("theme")
		resp := c.Get(ctx, srv.URL+"/go", user.Name("redirect to /me"))
		bodies = append(bodies, string(resp.Body))
		if resp.Header("Content-Type") == "" {
			bodies = append(bodies, "no header")
		}
	})
	assert.Equal(t, []string{"1"}, bodies, "the session cookie, sent after the redirect")
	assert.Equal(t, "1", me)
	assert.Equal(t, "dark", theme)
	s := r.reg.Snapshot()
	for _, k := range []string{"GET /base/login", "GET redirect to /me"} {
		m, n, _ := strings.Cut(k, " ")
		assert.EqualValues(t, 1, entry(s, m, n).NumRequests, k)
	}
	assert.Len(t, s.Entries, 2, "a redirect is one call: %s", methods(s))
	assert.Zero(t, s.Total.NumFailures)
	assert.Equal(t, 1, tg.count("GET /base/me"))
}

// A call that the task's own ctx cancels after it was sent fails as
// "canceled" (fasthttp's HTTP does not watch the task's ctx mid-call).
func TestNetHTTPTaskCancelsItsCall(t *testing.T) {
	tg := newTarget(t)
	var err error
	r := netKind.once(t, tg.URL, func(c httpClient, ctx context.Context) {
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(30*time.Millisecond, cancel)
		err = c.Get(cctx, "/slow").Err()
	})
	var ce *user.ConnError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, map[string]int64{"GET /slow: canceled": 1}, errorsOf(r.reg.Snapshot()))
	assert.Equal(t, 1, tg.count("GET /slow"))
}

// A request not yet sent when the user is stopped hard (here: waiting for
// a connection the target does not accept) is neither sent nor recorded.
func TestNetHTTPHardStopBeforeSending(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	// The listener never accepts; the TLS handshake never completes.
	var started atomic.Int64
	c := user.Class[netClient]{Tasks: taskset.Weighted(taskset.Task[netClient]{Name: "t",
		Run: func(c *netClient, ctx context.Context) error {
			started.Add(1)
			return c.Get(ctx, "/").Err()
		}})}
	r := start(t, c, "https://"+ln.Addr().String(), 2)
	eventually(t, func() bool { return started.Load() == 2 }, "both users call")
	time.Sleep(20 * time.Millisecond) // into the handshake
	r.cancel()
	r.wait(t, 5*time.Second)
	assert.Empty(t, r.reg.Snapshot().Entries)
}

type pointerNetHTTP struct{ *user.NetHTTP }

type netAndFast struct {
	user.HTTP
	user.NetHTTP
}

func TestNetHTTPBinding(t *testing.T) {
	tg := newTarget(t)
	var envs []*user.Env
	c := user.Class[netAndFast]{Tasks: taskset.Weighted(taskset.Task[netAndFast]{Name: "t", Run: func(b *netAndFast, ctx context.Context) error {
		envs = append(envs, b.HTTP.Env(), b.NetHTTP.Env())
		return errors.Join(b.HTTP.Get(ctx, "/ok").Err(), b.NetHTTP.Get(ctx, "/ok").Err(), user.ErrStopUser)
	}})}
	r := start(t, c, tg.URL, 1)
	r.wait(t, 5*time.Second)
	require.Len(t, envs, 2)
	assert.Same(t, r.envs[0], envs[0])
	assert.Same(t, r.envs[0], envs[1])
	assert.Equal(t, 2, tg.count("GET /ok"))
	assert.EqualValues(t, 2, entry(r.reg.Snapshot(), "GET", "/ok").NumRequests)

	p := user.Class[pointerNetHTTP]{Tasks: taskset.Weighted(taskset.Task[pointerNetHTTP]{Name: "t",
		Run: func(*pointerNetHTTP, context.Context) error { return nil }})}
	r = start(t, p, tg.URL, 1)
	r.wait(t, 5*time.Second)
	err, _ := r.stopErr.Load().(error)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "embed user.NetHTTP by value")
}

// Proxies come from the environment. http.ProxyFromEnvironment reads the
// environment once per process, so the client runs in a child process
// with HTTP_PROXY set to a local proxy; the target host does not exist and
// is never resolved, the proxy answers for it.
func TestNetHTTPProxyFromEnvironment(t *testing.T) {
	if os.Getenv("GOLOCUST_PROXY_CHILD") == "1" {
		r := netKind.once(t, "http://golocust.invalid/api/", func(c httpClient, ctx context.Context) {
			for range 3 {
				require.NoError(t, c.Get(ctx, "/item").Err())
			}
		})
		e := entry(r.reg.Snapshot(), "GET", "/api/item")
		assert.EqualValues(t, 3, e.NumRequests)
		assert.Zero(t, e.NumFailures)
		return
	}
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.RequestURI)
		mu.Unlock()
		fmt.Fprint(w, "from the proxy")
	}))
	t.Cleanup(proxy.Close)
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^TestNetHTTPProxyFromEnvironment$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GOLOCUST_PROXY_CHILD=1", "HTTP_PROXY="+proxy.URL, "http_proxy=", "NO_PROXY=", "no_proxy=")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{
		"GET http://golocust.invalid/api/item",
		"GET http://golocust.invalid/api/item",
		"GET http://golocust.invalid/api/item",
	}, seen)
}

type netWebH2C struct{ netWeb }

func (w *netWebH2C) OnStart(context.Context) error {
	w.Protocols = user.H2C()
	return nil
}

// The hard stop over HTTP/2: the requests in flight share one connection;
// each is cut off (RST_STREAM) after the grace and counted on both sides.
func TestNetHTTPHardStopOverH2C(t *testing.T) {
	tg := &target{counts: map[string]int{}, release: make(chan struct{})}
	tg.Server = httptest.NewUnstartedServer(http.HandlerFunc(tg.serve))
	tg.Config.Protocols = new(http.Protocols)
	tg.Config.Protocols.SetUnencryptedHTTP2(true)
	tg.Start()
	t.Cleanup(func() {
		tg.unblock()
		tg.Close()
	})
	slow := func(w *netWebH2C, ctx context.Context) error { return w.Slow(ctx) }
	ok := func(w *netWebH2C, ctx context.Context) error { return w.OK(ctx) }
	c := user.Class[netWebH2C]{Tasks: taskset.Sequential(taskset.Task[netWebH2C]{Name: "ok", Run: ok}, taskset.Task[netWebH2C]{Name: "slow", Run: slow})}
	r := start(t, c, tg.URL, 3)
	eventually(t, func() bool { return tg.inFlight.Load() == 3 }, "3 requests in flight")
	r.cancel()
	r.wait(t, 5*time.Second)

	s := r.reg.Snapshot()
	assert.EqualValues(t, 3, tg.count("GET /slow"))
	assert.Equal(t, map[string]int64{"GET /slow: request cut off by stop": 3}, errorsOf(s))
	assert.EqualValues(t, tg.total(), s.Total.NumRequests)
}
