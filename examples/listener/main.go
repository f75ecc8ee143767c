// Command listener is the port of Locust's examples/events.py: a request
// listener (Locust's events.request) sums the response lengths of all
// successful requests, and credits each to the user that made it.
//
// Config.OnRequest is called for every request a user records, on the
// process that made it, with the method, name, response time, size, error
// and the user (its Env and its own *U value). Unset, it costs nothing.
//
// Without -H it starts a small site on 127.0.0.1 that counts the bytes it
// sent in 2xx responses, so the listener's sum can be checked:
//
//	go run ./examples/listener --headless -u 10 -r 10 -t 10s
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golocust/golocust/locust"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// Reader browses the index and the stats page, 2:1, and now and then a
// page that does not exist (a failure, whose bytes do not count).
type Reader struct {
	user.HTTP
	received int64 // content length of this user's successful responses, kept by the listener
}

// Index GETs /.
func (r *Reader) Index(ctx context.Context) error { return r.Get(ctx, "/").Err() }

// Stats GETs /stats/requests.
func (r *Reader) Stats(ctx context.Context) error { return r.Get(ctx, "/stats/requests").Err() }

// Missing GETs a page that answers 404.
func (r *Reader) Missing(ctx context.Context) error { return r.Get(ctx, "/missing").Err() }

// OnStop hands the user's own count to the tally, so that the per-user
// counts can be compared with the listener's total.
func (r *Reader) OnStop(context.Context) error {
	perUser.Add(r.received)
	return nil
}

func class(host string, wait taskset.Wait) user.Class[Reader] {
	return user.Class[Reader]{
		Host: host,
		Wait: wait,
		Tasks: taskset.Weighted(
			taskset.Task[Reader]{Weight: 4, Run: (*Reader).Index},
			taskset.Task[Reader]{Weight: 2, Run: (*Reader).Stats},
			taskset.Task[Reader]{Weight: 1, Run: (*Reader).Missing},
		),
	}
}

var (
	contentLength atomic.Int64 // sum of the successful responses' lengths
	perUser       atomic.Int64 // sum of the users' own counts, added on stop
)

// onRequest is the request listener. It runs on the user's goroutine, so
// it may update that user's fields; the shared sum is atomic because many
// users call it at once.
func onRequest(e user.RequestEvent) {
	if e.Err != nil {
		return
	}
	contentLength.Add(e.Size)
	if r, ok := e.User.(*Reader); ok {
		r.received += e.Size
	}
}

// config is the run's configuration: the listener, and a summary printed
// when the test stops.
func config(out io.Writer) locust.Config {
	cfg := locust.DefaultConfig()
	cfg.OnRequest = onRequest
	cfg.Hooks.TestStop = func(context.Context, *locust.Environment) error {
		fmt.Fprintf(out, "Total content-length received: %d\n", contentLength.Load())
		return nil
	}
	return cfg
}

// site serves the pages and counts the bytes of its 2xx responses.
type site struct{ sent atomic.Int64 }

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body string
	switch r.URL.Path {
	case "/":
		body = "<html><body>welcome</body></html>\n"
	case "/stats/requests":
		body = `{"stats":[{"name":"/","num_requests":1}],"user_count":1}` + "\n"
	default:
		http.NotFound(w, r)
		return
	}
	n, _ := io.WriteString(w, body)
	s.sent.Add(int64(n))
}

// start serves s on 127.0.0.1 and returns its URL and a stop func.
func (s *site) start() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

func main() {
	host := ""
	if !hostGiven(os.Args[1:]) {
		url, stop, err := (&site{}).start()
		if err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(1)
		}
		defer stop()
		host = url
		fmt.Fprintf(os.Stderr, "No -H given: testing the embedded site at %s\n", host)
	}
	locust.MainWith(config(os.Stderr), class(host, user.Between(100*time.Millisecond, 500*time.Millisecond)))
}

// hostGiven tells whether the command line or LOCUST_HOST names a target,
// in which case the embedded site is not started.
func hostGiven(args []string) bool {
	if v, ok := os.LookupEnv("LOCUST_HOST"); ok && v != "" {
		return true
	}
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && (name == "H" || name == "host") {
			return true
		}
	}
	return false
}
