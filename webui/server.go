package webui

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/internal/health"
	"github.com/golocust/golocust/internal/uplot"
	"github.com/golocust/golocust/webui/audit"
	"github.com/golocust/golocust/webui/auth"
)

// Defaults for ListenAndServe.
const (
	DefaultHost = "127.0.0.1"
	DefaultPort = 8089
)

// Limits of the UI's HTTP server: a client that sends its headers or body
// slowly, reads the answer slowly or idles is cut off instead of holding a
// connection (and a goroutine) for ever. The write limit covers the
// largest download (the report and CSVs are built in memory first).
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 60 * time.Second
	IdleTimeout       = 120 * time.Second
	MaxHeaderBytes    = 64 << 10
)

// ContentSecurityPolicy is sent with every response. The UI ships no inline
// script or style, so it holds.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

//go:embed static
var staticFS embed.FS

// Options configure a Server. Only Controller is required.
type Options struct {
	Controller Controller

	// Auth is "user:password": one admin account (login page, session or
	// HTTP basic auth) on every route but the static assets. Empty and no
	// Accounts nor Authenticator: no auth (everyone is admin).
	Auth string
	// Accounts are the UI's accounts with roles (--web-users); they take
	// precedence over Auth.
	Accounts *auth.Accounts
	// Authenticator adds a sign-in flow of its own (OIDC, single sign-on)
	// beside or instead of passwords.
	Authenticator auth.Authenticator
	// SessionIdle and SessionMax end a login session after that long
	// without a request, and that long after login; zero: 30 min and 12 h.
	SessionIdle, SessionMax time.Duration
	// LoginLimit and AccountLimit rate-limit login attempts per client
	// address and per account; zero: auth.DefaultClientLimit and
	// auth.DefaultAccountLimit.
	LoginLimit, AccountLimit auth.Limit
	// Audit receives the audit events (logins, starts, stops...); nil: the
	// events are kept in memory only, for GET /audit. AuditFile names its
	// file in the UI.
	Audit     *audit.Log
	AuditFile string
	// TLSCert and TLSKey are PEM file paths; both set: Serve speaks HTTPS
	// (and every response carries Strict-Transport-Security).
	TLSCert, TLSKey string

	// ListenHost is the host the UI was told to listen on (--web-host);
	// requests naming it in their Host header are served. PublicNames
	// adds the other names the UI is reached by (--web-public-names).
	// Loopback names and the address a connection came in on are always
	// served; any other Host gets 421 (DNS rebinding defence).
	ListenHost  string
	PublicNames []string

	Logger *zap.Logger // nil: no logging

	// Name is used in download file names (Locust uses the locustfile);
	// default "golocust".
	Name    string
	Version string // shown in the page footer

	// FullHistoryCSV is the path of the --csv-full-history file, served at
	// /stats/requests_full_history/csv. Empty: 404 as in Locust.
	FullHistoryCSV string
	// Report writes the HTML report for GET /stats/report. Nil: 404 and no
	// link in the UI.
	Report func(w io.Writer) error
	// LoadModel describes the load model driving the run (nil: the
	// closed model): the UI says so and shows the iteration counts.
	LoadModel func() LoadInfo
	// Baseline compares the current statistics with a baseline run
	// (--baseline) for GET /stats/baseline and the Baseline tab; nil (or
	// a nil answer): no baseline, no tab.
	Baseline func() *BaselineTable
	// Ready answers the readiness probe GET /readyz: nil when ready, else
	// the reason (503). GET /healthz and /readyz need no auth, so that an
	// orchestrator can probe them. Nil: always ready.
	Ready func() error
	// ReportCSP is the Content-Security-Policy of the report page, which
	// carries its own inline (hash-allowed) script and style; empty: the
	// UI's policy.
	ReportCSP string
	// Metrics serves GET /metrics (behind the same auth). Nil: 404.
	Metrics http.Handler
	// ClassPicker lets the start form edit each class's weight, fixed
	// count, host and tasks (--class-picker); the Controller must
	// implement ClassEditor. A Controller that is also a ShapeChooser
	// gets the "Shape class" select too.
	ClassPicker bool
	// Form prefills the start form, as -u, -r, -t and -H do in Locust.
	Form FormDefaults
	// Params lists the scenario's custom parameters for the start form
	// (nil: none); POST /swarm hands their fields to Controller.Start.
	Params func() []CustomParam

	// Now is the clock; nil: time.Now.
	Now func() time.Time

	// limits overrides the server limits (tests); zero: defaults.
	limits *serverLimits
}

type serverLimits struct{ readHeader, read, write, idle time.Duration }

// FormDefaults are the start form's initial values. Zero Users and
// SpawnRate show 1; zero RunTime leaves the field empty (no limit); empty
// Host shows the controller's host.
type FormDefaults struct {
	Users     int
	SpawnRate float64
	RunTime   time.Duration
	Host      string
}

// Server is the web UI: an http.Handler plus helpers to serve it.
type Server struct {
	o        Options
	log      *zap.Logger
	authOn   bool
	accounts *auth.Accounts
	sessions *auth.Sessions
	limiter  *auth.Limiter
	audit    *audit.Log
	handler  http.Handler
	statsMu  sync.Mutex
	cache    []byte
	cacheExp time.Time
}

// New checks the options and builds the handler.
func New(o Options) (*Server, error) {
	if o.Controller == nil {
		return nil, errors.New("webui: Options.Controller is required")
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, errors.New("webui: set both the TLS certificate and the TLS key, or neither")
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Name == "" {
		o.Name = "golocust"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{o: o, log: o.Logger, accounts: o.Accounts, audit: o.Audit}
	if s.audit == nil {
		s.audit = audit.New(nil)
	}
	if o.Auth != "" && s.accounts == nil {
		user, pass, ok := strings.Cut(o.Auth, ":")
		if !ok || user == "" {
			return nil, errors.New("webui: web auth must be given as user:password")
		}
		s.accounts = auth.Single(user, pass)
	}
	s.authOn = s.accounts != nil || o.Authenticator != nil
	s.sessions = auth.NewSessions(o.SessionIdle, o.SessionMax, o.Now)
	s.limiter = auth.NewLimiter(o.LoginLimit, o.AccountLimit, nil)
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP serves the UI and the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// serveAssets serves the files of fsys under prefix, revalidated on
// every load (the binary may have changed), without directory listings.
func serveAssets(prefix string, fsys fs.FS) http.Handler {
	files := http.StripPrefix(prefix, http.FileServerFS(fsys))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /assets/", serveAssets("/assets/", static))
	// uPlot is vendored once for the UI and the report (internal/uplot).
	mux.Handle("GET /assets/vendor/uplot/", serveAssets("/assets/vendor/uplot/", uplot.FS))
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("POST /swarm", s.swarm)
	mux.HandleFunc("POST /stop", s.stop)
	mux.HandleFunc("POST /stats/reset", s.reset)
	mux.HandleFunc("GET /stats/requests", s.requests)
	mux.HandleFunc("GET /stats/requests/csv", s.requestsCSV)
	mux.HandleFunc("GET /stats/requests/json", s.requestsJSON)
	mux.HandleFunc("GET /stats/requests_full_history/csv", s.fullHistoryCSV)
	mux.HandleFunc("GET /stats/failures/csv", s.failuresCSV)
	mux.HandleFunc("GET /stats/history", s.history)
	mux.HandleFunc("GET /stats/report", s.report)
	mux.HandleFunc("GET /stats/baseline", s.baseline)
	mux.HandleFunc("GET /exceptions", s.exceptions)
	mux.HandleFunc("GET /exceptions/csv", s.exceptionsCSV)
	mux.HandleFunc("GET /tasks", s.tasks)
	mux.HandleFunc("GET /logs", s.logs)
	mux.HandleFunc("GET /worker-count", s.workerCount)
	mux.HandleFunc("GET /ui/config", s.config)
	mux.HandleFunc("GET /metrics", s.metrics)
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /auth/login", s.authLogin)
	mux.HandleFunc("GET /auth/callback", s.authCallback)
	mux.HandleFunc("GET /audit", s.audits)
	mux.HandleFunc("GET /user-classes", s.userClasses)
	mux.HandleFunc("POST /user", s.updateUser)

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusForbidden, map[string]any{"success": false, "message": "cross-origin request refused"})
	}))
	probes := health.Handler(s.o.Ready)
	guard := newHostGuard(s.o.ListenHost, s.o.PublicNames)
	app := s.securityHeaders(guard.wrap(cop.Handler(s.authenticate(mux))))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if health.IsProbe(r) {
			probes.ServeHTTP(w, r)
			return
		}
		app.ServeHTTP(w, r)
	})
}

// hstsPolicy is sent under TLS: browsers then refuse plain HTTP to this
// host for a year.
const hstsPolicy = "max-age=31536000"

// securityHeaders adds the CSP, nosniff and, under TLS, HSTS to every
// response.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	underTLS := s.o.TLSCert != ""
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if underTLS {
			h.Set("Strict-Transport-Security", hstsPolicy)
		}
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// InsecureBindWarning returns a warning to print when the UI listens on a
// non-loopback host without auth, or "" when there is nothing to warn about.
func InsecureBindWarning(host string, auth bool) string {
	if auth || isLoopback(host) {
		return ""
	}
	return "the web UI listens on " + host + " without --web-auth: anyone who can reach this address can start load tests from this machine"
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ListenAndServe listens on host:port (host "" is DefaultHost, port 0 an
// ephemeral port) and serves until ctx ends. It logs the URL, and a warning
// when the host is not loopback and auth is off.
func (s *Server) ListenAndServe(ctx context.Context, host string, port int) error {
	if host == "" {
		host = DefaultHost
	}
	if s.o.ListenHost == "" {
		s.o.ListenHost = host
		s.handler = s.routes()
	}
	if msg := InsecureBindWarning(host, s.authOn); msg != "" {
		s.log.Warn(msg)
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("webui: listen on %s:%d: %w (is another program using the port? choose one with --web-port)", host, port, err)
	}
	return s.Serve(ctx, l)
}

// URL is the address to open for a listener of this server.
func (s *Server) URL(l net.Listener) string {
	scheme := "http"
	if s.o.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + l.Addr().String()
}

// Serve serves on l until ctx ends, then shuts down gracefully (at most 5 s)
// and returns nil. It serves HTTPS when TLS files are set. It closes l.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          zap.NewStdLog(s.log),
	}
	if lim := s.o.limits; lim != nil {
		hs.ReadHeaderTimeout, hs.ReadTimeout, hs.WriteTimeout, hs.IdleTimeout = lim.readHeader, lim.read, lim.write, lim.idle
	}
	if s.o.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.o.TLSCert, s.o.TLSKey)
		if err != nil {
			_ = l.Close()
			return fmt.Errorf("webui: load TLS certificate %s and key %s: %w", s.o.TLSCert, s.o.TLSKey, err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		l = tls.NewListener(l, hs.TLSConfig)
	}
	s.log.Info("starting web interface", zap.String("url", s.URL(l)))
	done := make(chan error, 1)
	go func() { done <- hs.Serve(l) }()
	select {
	case err := <-done:
		return fmt.Errorf("webui: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		_ = hs.Close()
	}
	<-done
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("webui: shutdown: %w", err)
	}
	return nil
}
