package locust

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/transport"
	"github.com/golocust/golocust/user"
	"github.com/golocust/golocust/webui"
	"github.com/golocust/golocust/webui/audit"
)

// ClusterConfig configures distributed mode (--master, --worker).
type ClusterConfig struct {
	// Master runs this process as the master of a cluster: it serves the
	// web UI (or runs headless), splits the users over the workers and
	// merges their stats; it runs no users itself.
	Master bool
	// Worker runs this process as a worker of the master at
	// MasterHost:MasterPort: no web UI and no outputs; it runs until its
	// master quits it or the process is told to stop.
	Worker bool

	// MasterHost and MasterPort are where a worker finds its master
	// (--master-host, default 127.0.0.1; --master-port, default 5557).
	MasterHost string
	MasterPort int
	// MasterBindHost and MasterBindPort are where a master listens for
	// workers (--master-bind-host, default 127.0.0.1: use 0.0.0.0 with TLS
	// and a token to accept workers from other machines;
	// --master-bind-port, default 5557).
	MasterBindHost string
	MasterBindPort int
	// ExpectWorkers is how many workers a headless (or autostarted)
	// master waits for before it starts (--expect-workers, default 1).
	ExpectWorkers int
	// ExpectWorkersMaxWait gives up waiting after this long, exit code 1
	// (--expect-workers-max-wait; 0 waits for ever).
	ExpectWorkersMaxWait time.Duration
	// WorkerToken is a shared secret every worker must present
	// (--worker-token or LOCUST_WORKER_TOKEN; --worker-token-file reads it
	// from a file). It is never printed or logged.
	WorkerToken     string
	WorkerTokenFile string
	// TLSCert, TLSKey and TLSCA secure the master/worker link
	// (--cluster-tls-cert, --cluster-tls-key, --cluster-tls-ca): each node
	// presents its certificate; the master requires worker certificates
	// signed by the CA (mutual TLS), a worker verifies the master's.
	TLSCert, TLSKey, TLSCA string
	// TLSServerName overrides the name a worker checks in the master's
	// certificate (--cluster-tls-server-name; default the master host).
	TLSServerName string
	// DisableRebalancing keeps users where they are when workers join or
	// go missing during a run (--disable-rebalancing; rebalancing is on by
	// default).
	DisableRebalancing bool
}

// defaultCluster sets the cluster defaults in c (called from DefaultConfig
// through flag defaults).
func defaultCluster(cl *ClusterConfig) {
	if cl.MasterHost == "" {
		cl.MasterHost = "127.0.0.1"
	}
	if cl.MasterPort == 0 {
		cl.MasterPort = transport.DefaultPort
	}
	if cl.MasterBindHost == "" {
		cl.MasterBindHost = transport.DefaultBindHost
	}
	if cl.MasterBindPort == 0 {
		cl.MasterBindPort = transport.DefaultPort
	}
	if cl.ExpectWorkers == 0 {
		cl.ExpectWorkers = 1
	}
}

func clusterFlags(c *Config) []flagDef {
	cl := &c.Cluster
	defaultCluster(cl)
	const g = "Distributed"
	return []flagDef{
		{long: "master", group: g, usage: "run as the master of a cluster of workers", value: &boolValue{p: &cl.Master}, env: []string{"LOCUST_MODE_MASTER"}},
		{long: "worker", group: g, usage: "run as a worker of a master", value: &boolValue{p: &cl.Worker}, env: []string{"LOCUST_MODE_WORKER"}},
		{long: "master-host", group: g, usage: "address of the master a worker connects to", value: &stringValue{p: &cl.MasterHost}},
		{long: "master-port", group: g, usage: "port of the master a worker connects to", value: &intValue{p: &cl.MasterPort, min: 1, max: 65535, want: "a port number"}},
		{long: "master-bind-host", group: g, usage: "address the master listens on for workers (0.0.0.0: all interfaces)", value: &stringValue{p: &cl.MasterBindHost}},
		{long: "master-bind-port", group: g, usage: "port the master listens on for workers", value: &intValue{p: &cl.MasterBindPort, min: 0, max: 65535, want: "a port number"}},
		{long: "expect-workers", group: g, usage: "workers a headless master waits for before starting", value: &intValue{p: &cl.ExpectWorkers, min: 1, max: transport.DefaultMaxWorkers, want: "a number of workers"}},
		{long: "expect-workers-max-wait", group: g, usage: "give up waiting for workers after this long (0: wait for ever)", value: &spanValue{p: &cl.ExpectWorkersMaxWait}},
		{long: "worker-token", group: g, usage: "shared secret workers present to the master (never printed)", value: &secretValue{p: &cl.WorkerToken}},
		{long: "worker-token-file", group: g, usage: "file whose first line is the worker token", value: &stringValue{p: &cl.WorkerTokenFile}},
		{long: "cluster-tls-cert", group: g, usage: "PEM certificate this node presents on the master/worker link", value: &stringValue{p: &cl.TLSCert}},
		{long: "cluster-tls-key", group: g, usage: "PEM private key for --cluster-tls-cert", value: &stringValue{p: &cl.TLSKey}},
		{long: "cluster-tls-ca", group: g, usage: "PEM CA that signed the peers' certificates (master: requires worker certificates)", value: &stringValue{p: &cl.TLSCA}},
		{long: "cluster-tls-server-name", group: g, usage: "name a worker expects in the master's certificate (default: --master-host)", value: &stringValue{p: &cl.TLSServerName}},
		{long: "disable-rebalancing", group: g, usage: "keep users where they are when workers join or go missing", value: &boolValue{p: &cl.DisableRebalancing}},
	}
}

// secretValue is a string flag whose value is never shown (in usage or
// errors).
type secretValue struct{ p *string }

func (v *secretValue) String() string     { return "" }
func (v *secretValue) Set(s string) error { *v.p = s; return nil }

func (cl *ClusterConfig) validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if cl.Master && cl.Worker {
		add("--master and --worker both set: a process is either the master or a worker")
	}
	if !cl.Master && !cl.Worker {
		return errs
	}
	defaultCluster(cl)
	if cl.MasterPort < 1 || cl.MasterPort > 65535 {
		add("--master-port is %d: want a port from 1 to 65535", cl.MasterPort)
	}
	if cl.MasterBindPort < 0 || cl.MasterBindPort > 65535 {
		add("--master-bind-port is %d: want a port from 0 to 65535", cl.MasterBindPort)
	}
	if cl.ExpectWorkers < 1 {
		add("--expect-workers is %d: want at least 1", cl.ExpectWorkers)
	}
	if cl.ExpectWorkersMaxWait < 0 {
		add("--expect-workers-max-wait is %v: want a span such as 30s, or 0 to wait for ever", cl.ExpectWorkersMaxWait)
	}
	if (cl.TLSCert == "") != (cl.TLSKey == "") {
		add("--cluster-tls-cert and --cluster-tls-key go together: give both or neither")
	}
	if cl.Master && cl.TLSCA != "" && cl.TLSCert == "" {
		add("--cluster-tls-ca on the master needs --cluster-tls-cert and --cluster-tls-key (the master's own certificate)")
	}
	if cl.Worker && cl.TLSCert != "" && cl.TLSCA == "" {
		add("--cluster-tls-cert on a worker needs --cluster-tls-ca to verify the master")
	}
	if cl.WorkerToken != "" && cl.WorkerTokenFile != "" {
		add("--worker-token and --worker-token-file both set: give one")
	}
	if strings.ContainsAny(cl.WorkerToken, "\r\n") {
		add("--worker-token contains a line break")
	}
	return errs
}

// secret returns a secret given on the command line (value) or, when file
// is set, the first line of that file, trimmed; problem says what is wrong
// with that line ("" when nothing). Errors name the file's flag.
func secret(value, flag, file string, problem func(line string) string) (string, error) {
	if file == "" {
		return value, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSpace(line)
	if p := problem(line); p != "" {
		return "", fmt.Errorf("%s %s: %s", flag, file, p)
	}
	return line, nil
}

// token returns the worker token from the flag or its file.
func (cl *ClusterConfig) token() (string, error) {
	return secret(cl.WorkerToken, "--worker-token-file", cl.WorkerTokenFile, func(line string) string {
		if line == "" {
			return "the first line is empty"
		}
		return ""
	})
}

// credentials reads the worker token and builds this node's TLS
// configuration with tlsOf (masterTLS or workerTLS); their errors are
// usage errors.
func (cl *ClusterConfig) credentials(tlsOf func() (*tls.Config, error)) (string, *tls.Config, error) {
	tok, err := cl.token()
	if err != nil {
		return "", nil, &UsageError{Msg: err.Error()}
	}
	tlsCfg, err := tlsOf()
	if err != nil {
		return "", nil, usageErrorf("--cluster-tls-*: %v", err)
	}
	return tok, tlsCfg, nil
}

func (cl *ClusterConfig) masterTLS() (*tls.Config, error) {
	if cl.TLSCert == "" {
		return nil, nil
	}
	return transport.ServerTLSConfig(cl.TLSCert, cl.TLSKey, cl.TLSCA)
}

func (cl *ClusterConfig) workerTLS() (*tls.Config, error) {
	if cl.TLSCA == "" && cl.TLSCert == "" {
		return nil, nil
	}
	name := cl.TLSServerName
	if name == "" {
		name = cl.MasterHost
	}
	return transport.ClientTLSConfig(cl.TLSCert, cl.TLSKey, cl.TLSCA, name)
}

// runMaster runs the session as the master of a cluster: the users run on
// the workers, the outputs (console, CSV, JSON, web UI) are the master's.
func (s *session) runMaster(ctx context.Context) (*Result, error) {
	cl := &s.cfg.Cluster
	tok, tlsCfg, err := cl.credentials(cl.masterTLS)
	if err != nil {
		return nil, err
	}
	m, err := runner.NewMaster(runner.MasterOptions{
		Classes:            s.classes,
		Registry:           s.reg,
		Logger:             s.log,
		Host:               s.cfg.Host,
		StopTimeout:        s.cfg.StopTimeout,
		Tags:               s.cfg.Tags,
		ExcludeTags:        s.cfg.ExcludeTags,
		ResetStats:         s.cfg.ResetStats,
		Traceparent:        s.cfg.Traceparent,
		DisableRebalancing: cl.DisableRebalancing,
		Load:               s.load.Cluster(),
		UserLimit:          s.cfg.userLimit(),
		OnWorker: func(event, id, peer string) {
			action := map[string]string{"joined": audit.WorkerJoined, "left": audit.WorkerLeft, "missing": audit.WorkerLeft}[event]
			e := audit.Event{Action: action, Worker: id, Remote: peer}
			if event == "missing" {
				e.Outcome, e.Reason = audit.Failed, "connection lost: marked missing"
			}
			s.audit.Record(e)
		},
		Server: transport.ServerOptions{
			OnRefused: func(id, peer, reason string) {
				s.audit.Record(audit.Event{Action: audit.WorkerRefused, Worker: id, Remote: peer, Outcome: audit.Refused, Reason: reason})
			},
			BindHost: cl.MasterBindHost,
			BindPort: cl.MasterBindPort,
			TLS:      tlsCfg,
			Token:    tok,
		},
	})
	if err != nil {
		return nil, err
	}
	defer m.Quit()
	s.mu.Lock()
	s.master = m
	s.mu.Unlock()
	s.ready = func() error {
		if n := m.WorkerCount(); (s.cfg.Headless || s.cfg.Autostart) && n < cl.ExpectWorkers {
			return fmt.Errorf("waiting for workers: %d of %d connected", n, cl.ExpectWorkers)
		}
		return nil
	}
	s.workerStates = func() map[string]int {
		out := map[string]int{}
		for _, w := range m.Workers() {
			out[string(w.State)]++
		}
		return out
	}
	s.factory = func(classes []user.Spawner, host string) (driver, error) {
		if err := m.Configure(classes, host); err != nil {
			return nil, err
		}
		m.SetParams(s.params) // s.mu is held
		return masterDriver{m}, nil
	}
	s.beforeStart = func(ctx context.Context) error {
		s.log.Info(fmt.Sprintf("Waiting for workers to be ready, 0 of %d connected", cl.ExpectWorkers))
		err := m.WaitForWorkers(ctx, cl.ExpectWorkers, cl.ExpectWorkersMaxWait)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, runner.ErrGaveUpWaiting):
			s.log.Error("Gave up waiting for workers to connect", zap.Int("expected", cl.ExpectWorkers), zap.Int("connected", m.WorkerCount()))
			return err
		default:
			return context.Canceled
		}
	}
	return s.serve(ctx)
}

// masterDriver is the session's view of the master for one test: Quit
// stops the test only; the workers are told to quit when the session ends.
type masterDriver struct{ m *runner.Master }

func (d masterDriver) Start(users int, rate float64) error {
	err := d.m.Start(users, rate)
	if errors.Is(err, runner.ErrNoWorkers) {
		return fmt.Errorf("%w: %w", webui.ErrNoWorkers, err)
	}
	return err
}
func (d masterDriver) Stop()                       { d.m.Stop() }
func (d masterDriver) Quit()                       { d.m.Stop() }
func (d masterDriver) State() runner.State         { return d.m.State() }
func (d masterDriver) UserCount() int              { return d.m.UserCount() }
func (d masterDriver) ClassCounts() map[string]int { return d.m.ClassCounts() }
func (d masterDriver) StopTest() <-chan error      { return d.m.StopTest() }
func (d masterDriver) LoadDone() <-chan struct{}   { return d.m.LoadDone() }
func (d masterDriver) Iterations() (run, dropped int64, ok bool) {
	return d.m.Iterations()
}

// Workers lists the master's workers for the web UI (none when not a
// master).
func (s *session) workers() []webui.WorkerInfo {
	s.mu.Lock()
	m := s.master
	s.mu.Unlock()
	if m == nil {
		return nil
	}
	ws := m.Workers()
	out := make([]webui.WorkerInfo, len(ws))
	for i, w := range ws {
		out[i] = webui.WorkerInfo{ID: w.ID, State: string(w.State), UserCount: w.UserCount, CPUUsage: w.CPUPercent, MemoryUsage: int64(w.MemoryBytes),
			LagP50: float64(w.LagP50) / float64(time.Millisecond), LagP99: float64(w.LagP99) / float64(time.Millisecond)}
	}
	return out
}

// workerLogs are the log lines the master's workers shipped, by worker id
// (none when not a master).
func (s *session) workerLogs() map[string][]string {
	s.mu.Lock()
	m := s.master
	s.mu.Unlock()
	if m == nil {
		return nil
	}
	return m.WorkerLogs()
}

// runWorker runs this process as a worker until its master quits it (exit
// 0), ctx ends (users stopped within the stop timeout, final stats sent,
// goodbye; exit 0), or the master cannot be reached (an error: exit 1).
func runWorker(ctx context.Context, cfg *Config, classes []user.Spawner, log *zap.Logger, logs *logRing) (*Result, error) {
	if err := workerLoadError(&cfg.Load); err != nil {
		return nil, err
	}
	cl := &cfg.Cluster
	tok, tlsCfg, err := cl.credentials(cl.workerTLS)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(cl.MasterHost, strconv.Itoa(cl.MasterPort))
	wo := runner.WorkerOptions{
		Classes: classes,
		Logger:  log,
		Host:    cfg.Host,
		Client:  transport.ClientOptions{Address: addr, TLS: tlsCfg, Token: tok},
		// The master's web UI shows this worker's log lines.
		LogLines:  logs.newLines(),
		OnRequest: cfg.OnRequest,
	}
	var w *runner.Worker
	workerHooks(ctx, cfg, &wo, &w, func(msg string, err error) { log.Error(msg, zap.Error(err)) })
	w, err = runner.NewWorker(wo)
	if err != nil {
		return nil, &UsageError{Msg: err.Error()}
	}
	if err := workerInit(cfg, w); err != nil {
		_ = w.Close()
		return nil, err
	}
	// Probes on --health-port: ready while connected to the master.
	hctx, hcancel := context.WithCancel(context.Background())
	healthDone, err := serveHealth(hctx, cfg, log, func() error {
		if w.Connected() {
			return nil
		}
		return errors.New("not connected to the master")
	})
	if err != nil {
		hcancel()
		return nil, err
	}
	defer func() {
		hcancel()
		if healthDone != nil {
			<-healthDone
		}
	}()
	log.Info("starting worker", zap.String("master", addr), zap.String("worker", w.ID()))
	if err := w.Run(ctx); err != nil {
		log.Error("worker exiting", zap.Error(err))
		return nil, err
	}
	log.Info("worker done")
	return &Result{Stats: w.Registry().Snapshot(), ExitCode: ExitOK}, nil
}
