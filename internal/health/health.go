package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Paths of the probes.
const (
	LivePath  = "/healthz"
	ReadyPath = "/readyz"
)

// Handler serves LivePath and ReadyPath. ready returns nil when ready, or
// the reason it is not; nil ready means always ready.
func Handler(ready func() error) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+LivePath, func(w http.ResponseWriter, r *http.Request) {
		write(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET "+ReadyPath, func(w http.ResponseWriter, r *http.Request) {
		if ready != nil {
			if err := ready(); err != nil {
				write(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
				return
			}
		}
		write(w, http.StatusOK, "ok")
	})
	return mux
}

// IsProbe tells whether r asks for one of the probes.
func IsProbe(r *http.Request) bool {
	return r.Method == http.MethodGet && (r.URL.Path == LivePath || r.URL.Path == ReadyPath)
}

func write(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = fmt.Fprintln(w, msg)
}

// Route is one more handler a probe listener serves beside the probes,
// such as GET /metrics for a headless process.
type Route struct {
	Pattern string // http.ServeMux pattern, e.g. "GET /metrics"
	Handler http.Handler
}

// Serve listens on host:port and serves the probes, and the extra routes,
// until ctx ends. The returned channel yields the server's end (nil after
// a clean shutdown); the address is where it listens (useful with port 0).
func Serve(ctx context.Context, host string, port int, ready func() error, extra ...Route) (net.Addr, <-chan error, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, nil, fmt.Errorf("health probes: listen on %s:%d: %w", host, port, err)
	}
	var h http.Handler = Handler(ready)
	if len(extra) > 0 {
		mux := http.NewServeMux()
		mux.Handle(LivePath, h)
		mux.Handle(ReadyPath, h)
		for _, r := range extra {
			mux.Handle(r.Pattern, r.Handler)
		}
		h = mux
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(l)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return l.Addr(), done, nil
}
