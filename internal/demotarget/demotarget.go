package demotarget

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Options shape the demo target's behaviour. The zero value answers at
// once and never fails.
type Options struct {
	// MinLatency and MaxLatency bound the uniform random delay of each
	// answer.
	MinLatency, MaxLatency time.Duration
	// ErrorRate is the share of requests (0..1) answered with HTTP 500.
	ErrorRate float64
	// Seed makes the latencies and errors repeatable.
	Seed uint64
}

// Server is a running demo target.
type Server struct {
	URL string

	opts     Options
	srv      *http.Server
	ln       net.Listener
	total    atomic.Int64
	mu       sync.Mutex
	rnd      *rand.Rand
	byPath   map[string]int64
	done     chan struct{}
	serveErr error
}

// Start listens on 127.0.0.1 on a free port and serves until ctx ends or
// Close is called.
func Start(ctx context.Context, opts Options) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo target: %w", err)
	}
	s := &Server{
		URL:    "http://" + ln.Addr().String(),
		opts:   opts,
		ln:     ln,
		rnd:    rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		byPath: map[string]int64{},
		done:   make(chan struct{}),
	}
	s.srv = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-s.done:
		}
	}()
	return s, nil
}

// Close stops the server and waits for it.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	return err
}

// Total is the number of requests received so far.
func (s *Server) Total() int64 { return s.total.Load() }

// Count is the number of requests received for one path (without query).
func (s *Server) Count(path string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byPath[path]
}

// draw returns this request's delay and whether it fails.
func (s *Server) draw() (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delay := s.opts.MinLatency
	if span := s.opts.MaxLatency - s.opts.MinLatency; span > 0 {
		delay += time.Duration(s.rnd.Int64N(int64(span)))
	}
	return delay, s.opts.ErrorRate > 0 && s.rnd.Float64() < s.opts.ErrorRate
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>Demo shop</title><h1>Demo shop</h1>"))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: strconv.FormatInt(s.total.Load(), 36), Path: "/"})
		writeJSON(w, map[string]any{"ok": true})
	})
	mux.HandleFunc("GET /items", func(w http.ResponseWriter, r *http.Request) {
		items := make([]map[string]any, 0, 10)
		for i := 1; i <= 10; i++ {
			items = append(items, map[string]any{"id": i, "name": fmt.Sprintf("item %d", i)})
		}
		writeJSON(w, items)
	})
	mux.HandleFunc("GET /item", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"id": r.URL.Query().Get("id"), "price": 9.99})
	})
	mux.HandleFunc("GET /search", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"q": r.URL.Query().Get("q"), "hits": 3})
	})
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"added": true})
	})
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"order": s.total.Load()})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.total.Add(1)
		s.mu.Lock()
		s.byPath[r.URL.Path]++
		s.mu.Unlock()
		delay, fail := s.draw()
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if fail {
			http.Error(w, "demo target: injected failure", http.StatusInternalServerError)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
