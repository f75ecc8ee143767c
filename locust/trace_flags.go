package locust

import (
	"go.uber.org/zap"

	"github.com/golocust/golocust/user"
)

// --traceparent lives here, beside what it does, rather than in the
// shared flag table.
func init() { flagAreas = append(flagAreas, traceFlags) }

func traceFlags(c *Config) []flagDef {
	return []flagDef{
		{long: "traceparent", group: "Output", usage: "send a W3C traceparent header with every HTTP and gRPC call and keep the trace ids of each name's slowest requests (JSON, report, web UI, /metrics exemplars; spans with --otel); a master passes it to its workers",
			value: &boolValue{p: &c.Traceparent}},
	}
}

// traceClasses turns the traceparent header on in every class that can
// send it (user.Traceable, as user.Class is), when --traceparent is set;
// the others are named in the log. A master also sends the setting to its
// workers with every spawn (runner.MasterOptions.Traceparent).
func traceClasses(cfg *Config, classes []user.Spawner, log *zap.Logger) []user.Spawner {
	if !cfg.Traceparent {
		return classes
	}
	out, untraceable := user.Traced(classes)
	for _, name := range untraceable {
		log.Warn("--traceparent: this user class cannot send a traceparent header (it is not a user.Class)", zap.String("class", name))
	}
	return out
}
