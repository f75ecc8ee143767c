package locust

import (
	"context"

	"go.uber.org/zap"

	"github.com/golocust/golocust/internal/health"
)

// HealthConfig configures the probe listener (--health-port) that
// orchestrators call: GET /healthz (alive) and GET /readyz (ready: a
// standalone or master process is listening and, headless, has its
// workers; a worker is connected to its master). A process with the web UI
// also answers both on the web port. A standalone or master process also
// serves GET /metrics (Prometheus) there, so that a headless run can be
// scraped; like the probes it has no auth, so keep Host on loopback or on
// a network only the scraper reaches.
type HealthConfig struct {
	// Host is the address the probes listen on (--health-host, default
	// 127.0.0.1; use 0.0.0.0 in a container).
	Host string
	// Port turns the probe listener on (--health-port; 0: off).
	Port int
}

func healthFlags(c *Config) []flagDef {
	h := &c.Health
	return []flagDef{
		{long: "health-host", group: "Health", usage: "address of the /healthz and /readyz listener", value: &stringValue{p: &h.Host}},
		{long: "health-port", group: "Health", usage: "serve /healthz, /readyz (and /metrics but on workers) on this port (0: off)", value: &intValue{p: &h.Port, min: 0, max: 65535, want: "a port number"}},
	}
}

// serveHealth starts the probe listener when --health-port is set; ready
// says whether the process can do its job; extra are more routes (the
// metrics). The listener stops with ctx.
func serveHealth(ctx context.Context, cfg *Config, log *zap.Logger, ready func() error, extra ...health.Route) (<-chan error, error) {
	if cfg.Health.Port == 0 {
		return nil, nil
	}
	host := cfg.Health.Host
	if host == "" {
		host = "127.0.0.1"
	}
	addr, done, err := health.Serve(ctx, host, cfg.Health.Port, ready, extra...)
	if err != nil {
		return nil, err
	}
	log.Info("serving health probes", zap.String("address", addr.String()))
	return done, nil
}
