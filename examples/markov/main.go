// Command markov is the port of Locust's examples/markov_taskset.py: six
// tasks chained by weighted transitions (a Markov chain), so that each
// user's next page depends on the page it is on, as a real visitor's does.
//
//	method1 -> method2
//	method2 -> method3 (2), method1 (1)
//	method3 -> method4 (3), method2 (1), method1 (1)
//	method4 -> method5 (1), method3 (1)
//	method5 -> method6 (4), method4 (1)
//	method6 -> method1 (2), method5 (1)
//
// Each task GETs /methodN. Without -H it starts a small site on 127.0.0.1
// that keeps every user's path (users send their number in X-User), so
// the transitions it saw can be compared with the weights:
//
//	go run ./examples/markov --headless -u 5 -r 5 -t 10s
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golocust/golocust/locust"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// Visitor walks the chain; each state is one page.
type Visitor struct {
	user.HTTP
}

func (v *Visitor) visit(ctx context.Context, path string) error {
	return v.Get(ctx, path, user.Header("X-User", strconv.FormatInt(v.Env().Seq, 10))).Err()
}

// Method1 to Method6 are the chain's states.
func (v *Visitor) Method1(ctx context.Context) error { return v.visit(ctx, "/method1") }
func (v *Visitor) Method2(ctx context.Context) error { return v.visit(ctx, "/method2") }
func (v *Visitor) Method3(ctx context.Context) error { return v.visit(ctx, "/method3") }
func (v *Visitor) Method4(ctx context.Context) error { return v.visit(ctx, "/method4") }
func (v *Visitor) Method5(ctx context.Context) error { return v.visit(ctx, "/method5") }
func (v *Visitor) Method6(ctx context.Context) error { return v.visit(ctx, "/method6") }

// chain builds the Markov task set. The targets of To are the state
// values themselves: a misspelt one does not compile.
func chain() *taskset.Set[Visitor] {
	m := taskset.NewMarkov[Visitor]()
	m1 := m.State((*Visitor).Method1) // the first state is where users start
	m2 := m.State((*Visitor).Method2)
	m3 := m.State((*Visitor).Method3)
	m4 := m.State((*Visitor).Method4)
	m5 := m.State((*Visitor).Method5)
	m6 := m.State((*Visitor).Method6)
	m1.To(m2, 1)
	m2.To(m3, 2).To(m1, 1)
	m3.To(m4, 3).To(m2, 1).To(m1, 1)
	m4.To(m5, 1).To(m3, 1)
	m5.To(m6, 4).To(m4, 1)
	m6.To(m1, 2).To(m5, 1)
	return m.Set()
}

func class(host string, wait taskset.Wait) user.Class[Visitor] {
	return user.Class[Visitor]{Host: host, Wait: wait, Tasks: chain()}
}

// site serves /method1../method6 and keeps each user's path.
type site struct {
	mu    sync.Mutex
	paths map[string][]string // X-User -> pages in order
}

func newSite() *site { return &site{paths: map[string][]string{}} }

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	page := strings.TrimPrefix(r.URL.Path, "/")
	if len(page) != len("method1") || !strings.HasPrefix(page, "method") || page[6] < '1' || page[6] > '6' {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	u := r.Header.Get("X-User")
	s.paths[u] = append(s.paths[u], page)
	s.mu.Unlock()
	fmt.Fprintf(w, "this is %s\n", page)
}

// walks returns a copy of every user's path.
func (s *site) walks() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]string, len(s.paths))
	for u, p := range s.paths {
		out[u] = append([]string(nil), p...)
	}
	return out
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
		url, stop, err := newSite().start()
		if err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(1)
		}
		defer stop()
		host = url
		fmt.Fprintf(os.Stderr, "No -H given: testing the embedded site at %s\n", host)
	}
	// Locust's example waits 1 s between tasks.
	locust.Main(class(host, user.Constant(time.Second)))
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
