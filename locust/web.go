package locust

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/golocust/golocust/internal/selection"
	"github.com/golocust/golocust/metrics"
	"github.com/golocust/golocust/report"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/user"
	"github.com/golocust/golocust/webui"
	webauth "github.com/golocust/golocust/webui/auth"
)

// WebConfig configures the web UI that Main serves unless --headless.
type WebConfig struct {
	// Host is the address to listen on (--web-host, default 127.0.0.1).
	// A non-loopback address without Auth logs a warning.
	Host string
	// Port is the port to listen on (-P/--web-port, default 8089; 0 picks
	// a free port).
	Port int
	// Auth is "user:password" for HTTP basic auth on every route but the
	// static assets (--web-auth).
	Auth string
	// AuthFile holds "user:password" on its first line (--web-auth-file),
	// so the secret stays out of the process list.
	AuthFile string
	// TLSCert and TLSKey serve the UI over HTTPS (--tls-cert, --tls-key).
	TLSCert, TLSKey string
	// PublicNames are the host names the UI is reached by besides
	// loopback names and its listen address (--web-public-names): requests
	// with any other Host header are refused (DNS rebinding defence).
	PublicNames []string
	// Users is a file of accounts, "name:role:hash" a line with roles
	// viewer, operator or admin (--web-users); the UI then asks to log in.
	// Make a hash with --hash-password.
	Users string
	// Authenticator adds a sign-in flow of the program's own beside the
	// accounts, such as auth.NewOIDC (code only; no flag).
	Authenticator webauth.Authenticator
	// SessionIdle and SessionMax end a login session after that long
	// without a request and that long after login (--web-session-idle,
	// default 30m; --web-session-max, default 12h).
	SessionIdle, SessionMax time.Duration
	// AuditLog appends one JSON line per significant action to this file
	// (--audit-log): logins, failed logins, logouts, starts, edits, stops,
	// resets, workers joining, leaving or refused.
	AuditLog string
	// AllowHosts are the targets load may be aimed at, from the web form
	// or -H (--allow-hosts; patterns such as shop.example.com,
	// *.example.com, 10.0.0.0/8, localhost:8080 or *). Empty: the -H host
	// and the classes' hosts, or loopback when there are none.
	AllowHosts []string
	// ClassPicker lets the start form edit each user class's weight,
	// fixed count, host and tasks (--class-picker, Locust's); the edits
	// apply from the next start and reach the workers with it. It also
	// shows the "Shape class" select of Config.Load.Shapes.
	ClassPicker bool
	// hashPassword: read a password on stdin, print its hash, exit.
	hashPassword bool
	// listening, when set, is told the UI's URL once it listens (tests).
	listening func(url string)
}

func webFlags(c *Config) []flagDef {
	w := &c.Web
	return []flagDef{
		{long: "web-host", group: "Web UI", usage: "address the web UI listens on", value: &stringValue{p: &w.Host}},
		{long: "web-port", short: "P", group: "Web UI", usage: "port the web UI listens on", value: &intValue{p: &w.Port, min: 0, max: 65535, want: "a port number"}},
		{long: "web-auth", group: "Web UI", usage: "user:password for HTTP basic auth on the web UI", value: &stringValue{p: &w.Auth}},
		{long: "web-auth-file", group: "Web UI", usage: "file whose first line is user:password for the web UI", value: &stringValue{p: &w.AuthFile}},
		{long: "tls-cert", group: "Web UI", usage: "PEM certificate: serve the web UI over HTTPS", value: &stringValue{p: &w.TLSCert}},
		{long: "tls-key", group: "Web UI", usage: "PEM private key for --tls-cert", value: &stringValue{p: &w.TLSKey}},
		{long: "web-users", group: "Web UI", usage: "file of web UI accounts, name:role:hash a line (roles viewer, operator, admin)", value: &stringValue{p: &w.Users}},
		{long: "hash-password", group: "Web UI", usage: "read a password on stdin, print its hash for --web-users and exit", value: &boolValue{p: &w.hashPassword}},
		{long: "web-session-idle", group: "Web UI", usage: "end a web UI login after this long without a request (default 30m)", value: &spanValue{p: &w.SessionIdle}},
		{long: "web-session-max", group: "Web UI", usage: "end a web UI login this long after it began (default 12h)", value: &spanValue{p: &w.SessionMax}},
		{long: "audit-log", group: "Web UI", usage: "append one JSON line per login, start, edit, stop, reset and worker event to this file", value: &stringValue{p: &w.AuditLog}},
		{long: "allow-hosts", group: "Web UI", usage: "targets load may go to (patterns, comma-separated: host, *.domain, CIDR, host:port, *); default the -H and class hosts", value: &listValue{p: &w.AllowHosts}},
		{long: "class-picker", group: "Web UI", usage: "edit each user class's weight, fixed count, host and tasks in the start form, and choose a shape of Config.Load.Shapes", value: &boolValue{p: &w.ClassPicker}, env: []string{"LOCUST_USERCLASS_PICKER"}},
		{long: "web-public-names", group: "Web UI", usage: "host names the web UI is reached by besides loopback and --web-host (comma-separated)", value: &listValue{p: &w.PublicNames}},
	}
}

func (w *WebConfig) validate() []error {
	var errs []error
	if w.Port < 0 || w.Port > 65535 {
		errs = append(errs, fmt.Errorf("-P/--web-port is %d: want a port from 0 to 65535", w.Port))
	}
	if (w.TLSCert == "") != (w.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together: give both or neither"))
	}
	if w.Auth != "" && w.AuthFile != "" {
		errs = append(errs, errors.New("--web-auth and --web-auth-file both set: give one"))
	}
	if w.Users != "" && (w.Auth != "" || w.AuthFile != "") {
		errs = append(errs, errors.New("--web-users and --web-auth (or --web-auth-file) both set: give one (put the --web-auth account in the users file as an admin)"))
	}
	if w.SessionIdle < 0 || w.SessionMax < 0 {
		errs = append(errs, errors.New("--web-session-idle and --web-session-max: want spans such as 30m or 12h"))
	}
	if w.Auth != "" {
		if u, _, ok := strings.Cut(w.Auth, ":"); !ok || u == "" {
			errs = append(errs, errors.New("--web-auth: want user:password"))
		}
	}
	return errs
}

// auth returns the credentials from Auth or AuthFile.
func (w *WebConfig) auth() (string, error) {
	return secret(w.Auth, "--web-auth-file", w.AuthFile, func(line string) string {
		if u, _, ok := strings.Cut(line, ":"); !ok || u == "" {
			return "want user:password on the first line"
		}
		return ""
	})
}

// serveWeb starts the web UI for s; the channel yields once it stops.
func serveWeb(ctx context.Context, s *session) (<-chan error, error) {
	w := &s.cfg.Web
	auth, err := w.auth()
	if err != nil {
		return nil, &UsageError{Msg: err.Error()}
	}
	host := w.Host
	if host == "" {
		host = "127.0.0.1"
	}
	var accounts *webauth.Accounts
	if w.Users != "" {
		if accounts, err = webauth.LoadAccounts(w.Users); err != nil {
			return nil, usageErrorf("--web-users: %v", err)
		}
	}
	srv, err := webui.New(webui.Options{
		Controller:    &webController{s: s},
		Auth:          auth,
		Accounts:      accounts,
		Authenticator: w.Authenticator,
		SessionIdle:   w.SessionIdle,
		SessionMax:    w.SessionMax,
		Audit:         s.audit,
		AuditFile:     w.AuditLog,
		ListenHost:    host,
		PublicNames:   w.PublicNames,
		TLSCert:       w.TLSCert,
		TLSKey:        w.TLSKey,
		Logger:        s.log.Named("web"),
		Name:          programName(),
		Version:       Version,
		Report: func(out io.Writer) error {
			snap := s.reg.Snapshot()
			return report.Write(out, s.reportData(time.Now(), snap, s.evaluateThresholds(snap)))
		},
		ReportCSP: report.ContentSecurityPolicy,
		Ready:     s.readiness,
		LoadModel: s.loadInfo,
		Baseline:  s.webBaseline(),
		Metrics:   metrics.Handler(s.metricsHandler()),
		// -u, -r and -t prefill the start form, as in Locust (-H does
		// through Host).
		ClassPicker: w.ClassPicker,
		Form:        webui.FormDefaults{Users: s.cfg.Users, SpawnRate: s.cfg.SpawnRate, RunTime: s.cfg.RunTime},
		Params:      s.webParams,
		FullHistoryCSV: func() string {
			if s.cfg.CSVPrefix != "" && s.cfg.CSVFullHistory {
				return s.cfg.CSVPrefix + "_stats_history.csv"
			}
			return ""
		}(),
	})
	if err != nil {
		return nil, &UsageError{Msg: err.Error()}
	}
	if len(s.cfg.Load.Shapes) > 0 && !w.ClassPicker {
		s.log.Warn("Config.Load.Shapes are chosen in the start form's Shape class select, shown with --class-picker: add --class-picker to choose one")
	}
	if msg := webui.InsecureBindWarning(host, auth != "" || accounts != nil || w.Authenticator != nil); msg != "" {
		s.log.Warn(msg)
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(w.Port)))
	if err != nil {
		return nil, fmt.Errorf("web UI: listen on %s:%d: %w (is another program using the port? choose one with -P/--web-port)", host, w.Port, err)
	}
	if w.listening != nil {
		w.listening(srv.URL(l))
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	return done, nil
}

// webController is the web UI's view of a session.
type webController struct{ s *session }

var _ webui.Controller = (*webController)(nil)

func (c *webController) Start(req webui.StartRequest) error {
	if lim := c.s.cfg.userLimit(); req.Users > lim {
		return &webui.FieldError{Field: "user_count", Message: fmt.Sprintf("must be at most %d, the user limit (raise it with --user-limit)", lim)}
	}
	var classes []user.Spawner
	if len(req.Classes) > 0 {
		asked, err := selection.Classes(c.s.classNames(), req.Classes)
		if err != nil {
			return &webui.FieldError{Field: "user_classes", Message: err.Error()}
		}
		for _, n := range asked {
			cl, _ := c.s.original(n)
			classes = append(classes, cl)
		}
	}
	host, err := selection.Host(req.Host)
	if err != nil {
		return &webui.FieldError{Field: "host", Message: err.Error()}
	}
	if host != "" {
		if err := c.s.allowed.check(host); err != nil {
			return &webui.FieldError{Field: "host", Message: err.Error()}
		}
	}
	if c.s.edits.any() && (len(classes) > 0 || !c.s.active()) {
		// A new test: the class picker's edits apply to its classes.
		if classes == nil {
			classes = c.s.lastClasses()
		}
		var err error
		if classes, err = c.s.configured(classes); err != nil {
			return &webui.FieldError{Field: "user_classes", Message: err.Error()}
		}
	}
	if req.Params != nil {
		// A new test from the form: its custom parameters apply from it on.
		c.s.mu.Lock()
		vals, err := c.s.mergeParams(req.Params)
		if err == nil {
			c.s.params = vals
		}
		c.s.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return c.startWithShape(req.Shape, classes, host, func() error {
		return c.s.startRun(req.Users, req.SpawnRate, host, req.RunTime, classes)
	})
}

func (c *webController) Stop() error { c.s.stopRun(); return nil }

func (c *webController) ResetStats() {
	c.s.reg.Reset()
	c.s.history.Reset()
	c.s.dropSnapshot()
}

func (c *webController) State() string {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.drv == nil {
		return webui.StateReady
	}
	return string(c.s.drv.State())
}

func (c *webController) UserCount() int                { return c.s.UserCount() }
func (c *webController) Snapshot() *stats.Snapshot     { return c.s.snapshot() }
func (c *webController) History() []stats.HistoryPoint { return c.s.history.Points() }
func (c *webController) ClassNames() []string          { return c.s.classNames() }
func (c *webController) Workers() []webui.WorkerInfo   { return c.s.workers() }
func (c *webController) IsMaster() bool                { return c.s.cfg.Cluster.Master }
func (c *webController) TaskRatio() webui.TaskRatios   { return c.s.taskRatios() }
func (c *webController) Logs() webui.Logs {
	return webui.Logs{Master: c.s.logs.lines(), Workers: c.s.workerLogs()}
}
func (c *webController) Host() string {
	c.s.mu.Lock()
	host := c.s.host
	c.s.mu.Unlock()
	if host == "" {
		return classHosts(c.s.classes)
	}
	return host
}

// taskRatios is Locust's /tasks: per class, the class's share of users
// and its tasks' shares; in total, tasks as shares of all users.
func (s *session) taskRatios() webui.TaskRatios {
	counts := s.classCounts()
	total := 0
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		// Before a run, weigh the classes by their configured weights.
		for _, c := range s.classes {
			counts[c.ClassName()] = max(c.ClassWeight(), c.ClassFixedCount())
			total += counts[c.ClassName()]
		}
	}
	out := webui.TaskRatios{PerClass: map[string]webui.Ratio{}, Total: map[string]webui.Ratio{}}
	for _, c := range s.classes {
		share := 0.0
		if total > 0 {
			share = float64(counts[c.ClassName()]) / float64(total)
		}
		out.PerClass[c.ClassName()] = webui.Ratio{Ratio: share, Tasks: ratioTasks(c.TaskRatio(), 1)}
		out.Total[c.ClassName()] = webui.Ratio{Ratio: share, Tasks: ratioTasks(c.TaskRatio(), share)}
	}
	return out
}

func ratioTasks(shares []user.TaskShare, scale float64) map[string]webui.Ratio {
	if len(shares) == 0 {
		return nil
	}
	m := make(map[string]webui.Ratio, len(shares))
	for _, sh := range shares {
		m[sh.Name] = webui.Ratio{Ratio: sh.Share * scale, Tasks: ratioTasks(sh.Nested, sh.Share*scale)}
	}
	return m
}

// Version is golocust's version, shown in the web UI and sent to workers.
const Version = "0.1.0"

// programName is the binary's name, used in download file names as Locust
// uses the locustfile's.
func programName() string {
	name := filepath.Base(os.Args[0])
	if name == "" || name == "." || strings.HasSuffix(name, ".test") {
		return "golocust"
	}
	return name
}

// loadInfo tells the web UI which load model drives the run and how many
// iterations it ran and dropped.
func (s *session) loadInfo() webui.LoadInfo {
	l := &s.cfg.Load
	info := webui.LoadInfo{ShapeDriven: s.shapeDriven(), Shape: s.shapeName()}
	switch {
	case info.Shape != "":
		info.Model = "shape " + strconv.Quote(info.Shape)
	case l.Shape != nil:
		info.Model = "shape"
	case len(l.Stages) > 0:
		info.Model = "stages"
	case l.Steps != nil:
		info.Model = "steps"
	case l.arrival():
		info.Model = "arrival rate"
	case l.Iterations > 0:
		info.Model = "iteration limit"
	}
	info.Iterations, info.Dropped, info.Counted = s.iterations()
	info.DefaultModel, info.DefaultShapeDriven = s.defaultLoadInfo(info.Model)
	return info
}

// stdin is where --hash-password reads the password (tests replace it).
var stdin io.Reader = os.Stdin

// hashPassword reads one password line, prints its argon2id hash for a
// --web-users line and returns the exit code.
func hashPassword(in io.Reader, stdout, stderr io.Writer) int {
	line, err := bufio.NewReader(io.LimitReader(in, webauth.MaxPasswordBytes+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintf(stderr, "error: --hash-password: reading the password from stdin: %v\n", err)
		return ExitUsage
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	h, err := webauth.HashPassword(pw)
	if err != nil {
		fmt.Fprintf(stderr, "error: --hash-password: %v: pipe the password on stdin, e.g. printf %%s \"$PW\" | %s --hash-password\n", err, programName())
		return ExitUsage
	}
	fmt.Fprintln(stdout, h)
	return ExitOK
}
