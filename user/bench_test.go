package user_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// benchUser counts its iterations and stops after n.
type benchUser struct {
	user.HTTP
	n, limit int
}

func (u *benchUser) Custom(context.Context) error {
	user.Record(u.Env(), "X", "op", time.Millisecond, 100, nil)
	u.n++
	if u.n >= u.limit {
		return user.ErrStopUser
	}
	return nil
}

func (u *benchUser) Get(ctx context.Context) error {
	err := u.HTTP.Get(ctx, "/bench", user.Name("bench")).Err()
	u.n++
	if u.n >= u.limit {
		return user.ErrStopUser
	}
	return err
}

type limitUser struct{ benchUser }

var benchLimit int

func (u *limitUser) OnStart(context.Context) error { u.limit = benchLimit; return nil }

// BenchmarkUserLoop is one iteration of the user loop around a recorded
// call, without the network: task pick, run, record into a stats registry,
// wait Constant(0). 0 allocs/op in steady state.
func BenchmarkUserLoop(b *testing.B) {
	reg := stats.NewRegistry(stats.Options{})
	c := user.Class[limitUser]{
		Wait: user.Constant(0),
		Tasks: taskset.Weighted(
			taskset.Task[limitUser]{Name: "custom", Run: func(u *limitUser, ctx context.Context) error { return u.Custom(ctx) }},
			taskset.Task[limitUser]{Name: "custom2", Weight: 2, Run: func(u *limitUser, ctx context.Context) error { return u.Custom(ctx) }},
		),
	}
	reg.Record(stats.Sample{Method: "X", Name: "op", Duration: time.Millisecond})
	benchLimit = b.N
	b.ReportAllocs()
	b.ResetTimer()
	c.Run(context.Background(), &user.Env{Host: "http://127.0.0.1:1", Stats: reg})
}

// localServer serves 200 "hello" with fasthttp on 127.0.0.1.
func localServer(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("hello") }}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	b.Cleanup(func() {
		_ = srv.Shutdown()
		<-done
	})
	return "http://" + ln.Addr().String()
}

// BenchmarkHTTPGet is one recorded GET over a keep-alive connection to a
// local fasthttp server (client and server share the machine's cores).
func BenchmarkHTTPGet(b *testing.B) { benchFast(b, localServer(b)) }

// benchFast runs b.N recorded GETs of one fasthttp-based user against host.
func benchFast(b *testing.B, host string) {
	if s := runRecorded(b, host, fastGetClass(false)); s.Total.NumRequests != int64(b.N) || s.Total.NumFailures != 0 {
		b.Fatalf("recorded %d requests, %d failures; want %d, 0", s.Total.NumRequests, s.Total.NumFailures, b.N)
	}
}

// fastGetClass is one user.HTTP user that GETs /bench benchLimit times.
func fastGetClass(traced bool) user.Class[limitUser] {
	return user.Class[limitUser]{Traceparent: traced, Tasks: taskset.Weighted(taskset.Task[limitUser]{Name: "get",
		Run: func(u *limitUser, ctx context.Context) error { return u.benchUser.Get(ctx) }})}
}

// runRecorded times one user of c against host for b.N iterations (its
// task stops the user after benchLimit) and returns what it recorded.
func runRecorded(b *testing.B, host string, c interface {
	Run(context.Context, *user.Env)
}) *stats.Snapshot {
	reg := stats.NewRegistry(stats.Options{})
	benchLimit = b.N
	b.ReportAllocs()
	b.ResetTimer()
	c.Run(context.Background(), &user.Env{Host: host, Stats: reg})
	b.StopTimer()
	return reg.Snapshot()
}

// targetProcess starts this test binary as a web server in its own process
// (so that its memory is not counted) and returns its URL.
func targetProcess(b *testing.B) string {
	exe, err := os.Executable()
	require.NoError(b, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "GOLOCUST_USER_TARGET=1")
	stdin, err := cmd.StdinPipe()
	require.NoError(b, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(b, err)
	require.NoError(b, cmd.Start())
	b.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(b, err)
	return strings.TrimSpace(line)
}

// serveTarget is the target process: a fasthttp server on 127.0.0.1 that
// sets two cookies, until stdin is closed.
func serveTarget() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Set-Cookie", "sid=0123456789abcdef0123456789abcdef; Path=/; HttpOnly")
		ctx.Response.Header.Add("Set-Cookie", "theme=dark")
		ctx.SetBodyString("hello")
	}}
	go func() { _ = srv.Serve(ln) }()
	fmt.Println("http://" + ln.Addr().String())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
}

func init() {
	if os.Getenv("GOLOCUST_USER_TARGET") == "1" {
		serveTarget()
	}
}

type idleUser struct{ user.Base }

type idleHTTPUser struct{ user.HTTP }

var memReady sync.WaitGroup

// BenchmarkUserMemory reports the heap and stack kept per user: users that
// have run one task and are waiting (Constant(1h)), with and without an
// HTTP client holding a keep-alive connection and a cookie jar of two
// cookies. The target runs in another process so that its memory is not
// counted. Run with -benchtime=1x.
func BenchmarkUserMemory(b *testing.B) {
	benchMemory(b, 2000, "HTTP", loginAndWait(func(u *idleHTTPUser) httpClient { return &u.HTTP }))
}

// benchMemory reports the heap and stack per waiting user of a class
// without a client ("user") and of withClient ("<client>user"), and their
// difference, the client's state ("<client>state"), over n users each.
func benchMemory(b *testing.B, n int, client string, withClient user.Spawner) {
	host := targetProcess(b)
	plain := user.Class[idleUser]{Wait: user.Constant(time.Hour), Tasks: taskset.Weighted(taskset.Task[idleUser]{Name: "t",
		Run: func(*idleUser, context.Context) error { memReady.Done(); return nil }})}
	for b.Loop() {
		h0, s0 := memPerUser(host, n, plain)
		h1, s1 := memPerUser(host, n, withClient)
		b.ReportMetric(h0, "heapB/user")
		b.ReportMetric(s0, "stackB/user")
		b.ReportMetric(h1, "heapB/"+client+"user")
		b.ReportMetric(s1, "stackB/"+client+"user")
		b.ReportMetric(h1-h0, "heapB/"+client+"state")
		b.ReportMetric(s1-s0, "stackB/"+client+"state")
	}
}

// memPerUser starts n users of s against host, waits until each has run
// its first task (memReady), and returns the heap and stack they hold,
// per user.
func memPerUser(host string, n int, s user.Spawner) (heap, stack float64) {
	var ms0, ms1 runtime.MemStats
	gcAndRead(&ms0)
	ctx, cancel := context.WithCancel(context.Background())
	var done sync.WaitGroup
	memReady.Add(n)
	reg := stats.NewRegistry(stats.Options{})
	for i := range n {
		env := &user.Env{ID: i, Host: host, Stats: reg}
		done.Add(1)
		go func() { defer done.Done(); s.Run(ctx, env) }()
	}
	memReady.Wait()
	gcAndRead(&ms1)
	cancel()
	done.Wait()
	return float64(ms1.HeapAlloc-ms0.HeapAlloc) / float64(n), float64(ms1.StackInuse-ms0.StackInuse) / float64(n)
}

// loginAndWait is a class whose users log in once (a keep-alive
// connection and two cookies), then wait an hour.
func loginAndWait[U any](client func(*U) httpClient) user.Class[U] {
	return user.Class[U]{Wait: user.Constant(time.Hour), Tasks: taskset.Weighted(taskset.Task[U]{Name: "t",
		Run: func(u *U, ctx context.Context) error {
			c := client(u)
			err := c.Get(ctx, "/login").Err()
			if c.Cookie("sid") == "" {
				err = fmt.Errorf("no cookie: %w", err)
			}
			memReady.Done()
			return err
		}})}
}

func gcAndRead(ms *runtime.MemStats) {
	runtime.GC()
	runtime.GC() // and the buffers' pools (kept over one GC)
	runtime.ReadMemStats(ms)
}

type pacedUser struct{ user.HTTP }

func (u *pacedUser) Get(ctx context.Context) error { return u.HTTP.Get(ctx, "/").Err() }

// BenchmarkConstantThroughputDelivery is the real-time check of pacing: 20
// users x ConstantThroughput(50) for 10 s against a local counting target
// should put 10,000 requests there; it reports the target's count and its
// ratio to that. Run it alone on a quiet machine:
//
//	go test -run '^$' -bench ConstantThroughputDelivery -benchtime 1x ./user/
func BenchmarkConstantThroughputDelivery(b *testing.B) {
	const users, rate, span = 20, 50, 10 * time.Second
	var hits atomic.Int64
	srv := &fasthttp.Server{Handler: func(*fasthttp.RequestCtx) { hits.Add(1) }}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	defer srv.Shutdown()
	c := user.Class[pacedUser]{
		Wait:  user.ConstantThroughput(rate),
		Tasks: taskset.Weighted(taskset.Task[pacedUser]{Run: (*pacedUser).Get}),
	}
	for range b.N {
		hits.Store(0)
		reg := stats.NewRegistry(stats.Options{})
		stopping := make(chan struct{})
		var wg sync.WaitGroup
		for i := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.Run(context.Background(), &user.Env{ID: i, Host: "http://" + ln.Addr().String(), Stats: reg, Stopping: stopping})
			}()
		}
		time.Sleep(span)
		close(stopping)
		wg.Wait()
		b.ReportMetric(float64(hits.Load()), "requests")
		b.ReportMetric(float64(hits.Load())/(users*rate*span.Seconds()), "of-scheduled")
	}
}

// BenchmarkHTTPGetTraced is BenchmarkHTTPGet with a traceparent on every
// call (Env.Traceparent): new ids from the user's random source, the
// header, and the exemplar's top-K in the stats.
func BenchmarkHTTPGetTraced(b *testing.B) {
	s := runRecorded(b, localServer(b), fastGetClass(true))
	if s.Total.NumRequests != int64(b.N) || len(s.Entries[0].Exemplars) != min(b.N, stats.MaxExemplars) {
		b.Fatalf("recorded %d requests, %d exemplars; want %d", s.Total.NumRequests, len(s.Entries[0].Exemplars), b.N)
	}
}
