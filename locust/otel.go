package locust

import (
	"context"
	"errors"
	"runtime/debug"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.uber.org/zap"

	"github.com/golocust/golocust/telemetry"
)

func otelFlags(c *Config) []flagDef {
	return []flagDef{
		{long: "otel", group: "Output", usage: "export request durations and the user count over OTLP (configured by the OTEL_* variables)",
			value: &boolValue{p: &c.OTel}, env: []string{"LOCUST_ENABLE_OPENTELEMETRY"}},
	}
}

// otelShutdownTimeout bounds the final export when the session ends.
const otelShutdownTimeout = 10 * time.Second

// startOTel starts the OpenTelemetry exporter of --otel on a standalone
// process or a master (which exports the cluster's merged numbers; a
// worker does not export, so that nothing is counted twice). The returned
// func sends the final numbers and stops it.
func (s *session) startOTel(ctx context.Context) (func(), error) {
	if !s.cfg.OTel {
		return func() {}, nil
	}
	exp, err := telemetry.Start(ctx, telemetry.Options{
		Snapshot:       s.snapshot,
		Users:          s.UserCount,
		ServiceVersion: moduleVersion(),
		// Spans of the slowest traced requests: there are some only when
		// this process's or the workers' users sent traceparent headers.
		Spans: true,
	})
	switch {
	case errors.Is(err, telemetry.ErrDisabled):
		s.log.Info("--otel: OTEL_METRICS_EXPORTER is none, nothing is exported")
		return func() {}, nil
	case err != nil:
		return nil, &UsageError{Msg: "--otel: " + err.Error()}
	}
	s.log.Info("exporting metrics over OTLP", zap.String("protocol", exp.Protocol()))
	// The SDK reports a failed periodic export through its global error
	// handler, which by default prints through the standard logger; send
	// it to the session's log with the rest of its messages.
	// A periodic export still on its way when the session stops is cut
	// short by the shutdown, which sends the final numbers at once: that
	// is no failure (the final export's own result is logged below).
	log := s.log
	var stopping atomic.Bool
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		if stopping.Load() {
			log.Debug("--otel: a periodic export was cut short by the final one", zap.Error(err))
			return
		}
		log.Warn("--otel: an export failed", zap.Error(err))
	}))
	return func() {
		stopping.Store(true)
		s.dropSnapshot() // the final export reads the final numbers
		ctx, cancel := context.WithTimeout(context.Background(), otelShutdownTimeout)
		defer cancel()
		if err := exp.Shutdown(ctx); err != nil {
			s.log.Warn("--otel: the final export failed", zap.Error(err))
		}
	}, nil
}

// moduleVersion returns golocust's version as built into the binary,
// "(devel)" inside its own repository, "" when unknown.
func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	if bi.Main.Path == "github.com/golocust/golocust" {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/golocust/golocust" {
			return d.Version
		}
	}
	return ""
}
