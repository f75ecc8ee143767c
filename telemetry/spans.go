package telemetry

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/golocust/golocust/stats"
)

// This file exports the exemplars as spans: one client span per slowest
// traced request the run keeps (stats.Entry.Exemplars), with the trace and
// span ids the request carried in its traceparent, so that the target's
// server span is its child in the tracing tool. Spans are made from the
// statistics at each collection, like the metrics, not per request: a
// request that is no longer among the slowest by then has no span, and
// the hot path pays nothing. Each exemplar is exported once.

// SpanScope is the instrumentation scope of the exported spans.
const SpanScope = "github.com/golocust/golocust/telemetry"

// spanExporter turns new exemplars into spans.
type spanExporter struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	mu     sync.Mutex
	sent   map[stats.SpanID]struct{} // exported and still among the exemplars
}

// newSpanExporter builds the OTLP trace exporter from the OTEL_* variables;
// nil (no error) when OTEL_TRACES_EXPORTER is none.
func newSpanExporter(ctx context.Context, res *resource.Resource) (*spanExporter, error) {
	switch kinds := strings.ToLower(strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER"))); kinds {
	case "", "otlp":
	case "none":
		return nil, nil
	default:
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER is %q: want otlp (the default) or none", kinds)
	}
	protocol := firstEnv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
	var exp sdktrace.SpanExporter
	var err error
	switch protocol = strings.ToLower(strings.TrimSpace(protocol)); protocol {
	case "", "grpc":
		exp, err = otlptracegrpc.New(ctx)
	case "http/protobuf", "http":
		exp, err = otlptracehttp.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL is %q: want grpc (the default) or http/protobuf", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP %s trace exporter: %w", protocol, err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.AlwaysSample()), // the requests said sampled
		sdktrace.WithIDGenerator(requestIDs{}),
	)
	return &spanExporter{tp: tp, tracer: tp.Tracer(SpanScope), sent: map[stats.SpanID]struct{}{}}, nil
}

// export makes a span of every exemplar of snap not exported yet.
func (s *spanExporter) export(snap *stats.Snapshot) {
	if s == nil || snap == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := make(map[stats.SpanID]struct{}, len(s.sent))
	for _, e := range snap.Entries {
		for _, x := range e.Exemplars {
			kept[x.SpanID] = struct{}{}
			if _, done := s.sent[x.SpanID]; done || x.Time.IsZero() {
				continue
			}
			ctx := context.WithValue(context.Background(), idsKey{}, x)
			_, span := s.tracer.Start(ctx, e.Name,
				trace.WithSpanKind(trace.SpanKindClient),
				trace.WithTimestamp(x.Time.Add(-x.Duration)),
				trace.WithAttributes(attribute.String("locust.method", e.Method), attribute.String("locust.name", e.Name)))
			span.End(trace.WithTimestamp(x.Time))
		}
	}
	// Forget the ones no longer kept: they cannot come back (a slower
	// request took their place), so the set stays as small as the
	// exemplars.
	s.sent = kept
}

func (s *spanExporter) shutdown(ctx context.Context) error {
	if s == nil {
		return nil
	}
	return s.tp.Shutdown(ctx)
}

// idsKey carries the exemplar whose ids the next span takes.
type idsKey struct{}

// requestIDs gives a span the ids its request carried (the exemplar in
// the context), instead of fresh random ones.
type requestIDs struct{}

func (requestIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	x, _ := ctx.Value(idsKey{}).(stats.Exemplar)
	return trace.TraceID(x.TraceID), trace.SpanID(x.SpanID)
}

func (requestIDs) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	x, _ := ctx.Value(idsKey{}).(stats.Exemplar)
	return trace.SpanID(x.SpanID)
}
