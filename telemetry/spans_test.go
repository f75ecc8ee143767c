package telemetry_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/golocust/golocust/internal/otlptest"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/telemetry"
)

// tracedSample is a traced sample whose ids encode i.
func tracedSample(name string, i int, d time.Duration) stats.Sample {
	s := stats.Sample{Method: "GET", Name: name, Duration: d}
	binary.BigEndian.PutUint64(s.TraceID[8:], uint64(i)+1)
	binary.BigEndian.PutUint64(s.SpanID[:], uint64(i)+1)
	return s
}

// With Spans, every exemplar becomes one client span with the request's
// own trace and span ids, named after the entry and as long as the
// request, exported once; the histogram's data point carries the
// exemplars too.
func TestSlowestTracedRequestsAreExportedAsSpansWithTheirIDs(t *testing.T) {
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(protocol, func(t *testing.T) {
			rcv := otlptest.Start(t)
			endpoint := rcv.GRPCEndpoint
			if protocol != "grpc" {
				endpoint = rcv.HTTPEndpoint
			}
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
			t.Setenv("OTEL_TRACES_EXPORTER", "")
			t.Setenv("OTEL_METRICS_EXPORTER", "")
			reg := stats.NewRegistry(stats.Options{})
			for i := range 50 {
				reg.Record(tracedSample("/checkout", i, time.Duration(i+1)*time.Millisecond))
			}
			reg.Record(stats.Sample{Method: "GET", Name: "/untraced", Duration: time.Second})
			exp, err := telemetry.Start(context.Background(), telemetry.Options{
				Snapshot: reg.Snapshot, Interval: time.Hour, Spans: true,
			})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			require.NoError(t, exp.Shutdown(ctx))

			want := reg.Snapshot().Entries[0].Exemplars
			require.Len(t, want, stats.MaxExemplars)
			spans := rcv.Spans()
			require.Len(t, spans, stats.MaxExemplars, "one span per exemplar, once")
			byID := map[string]*tracepb.Span{}
			for _, s := range spans {
				byID[string(s.GetSpanId())] = s
			}
			for _, x := range want {
				s := byID[string(x.SpanID[:])]
				require.NotNil(t, s, "span %s", x.SpanID)
				assert.True(t, bytes.Equal(x.TraceID[:], s.GetTraceId()))
				assert.Equal(t, "/checkout", s.GetName())
				assert.Equal(t, tracepb.Span_SPAN_KIND_CLIENT, s.GetKind())
				assert.Empty(t, s.GetParentSpanId())
				assert.EqualValues(t, x.Duration, s.GetEndTimeUnixNano()-s.GetStartTimeUnixNano())
			}

			h := otlptest.Histograms(rcv.Exports()[0], telemetry.DurationMetric)["GET /checkout"]
			require.NotNil(t, h)
			require.Len(t, h.GetExemplars(), stats.MaxExemplars)
			assert.Equal(t, want[0].TraceID[:], h.GetExemplars()[0].GetTraceId())
			assert.InDelta(t, 0.05, h.GetExemplars()[0].GetAsDouble(), 1e-9)
		})
	}
}

// Periodic collections export each exemplar once: new slow requests add
// spans, the ones already sent are not sent again.
func TestSpansAreExportedOncePerExemplar(t *testing.T) {
	rcv := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.GRPCEndpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "10")
	reg := stats.NewRegistry(stats.Options{})
	exp, err := telemetry.Start(context.Background(), telemetry.Options{
		Snapshot: reg.Snapshot, Interval: 20 * time.Millisecond, Spans: true,
	})
	require.NoError(t, err)
	for i := range 3 {
		reg.Record(tracedSample("/a", i, time.Duration(i+1)*time.Millisecond))
	}
	rcv.WaitForSpans(t, 20*time.Second, "3 spans", func(s []*tracepb.Span) bool { return len(s) >= 3 })
	reg.Record(tracedSample("/a", 3, time.Second))
	rcv.WaitForSpans(t, 20*time.Second, "4 spans", func(s []*tracepb.Span) bool { return len(s) >= 4 })
	require.NoError(t, exp.Shutdown(context.Background()))
	spans := rcv.Spans()
	require.Len(t, spans, 4, "nothing sent twice")
	seen := map[string]bool{}
	for _, s := range spans {
		assert.False(t, seen[string(s.GetSpanId())])
		seen[string(s.GetSpanId())] = true
	}
}

func TestSpansAreOffWithoutTheOptionOrWithTheExporterNone(t *testing.T) {
	rcv := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.GRPCEndpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "")
	reg := stats.NewRegistry(stats.Options{})
	reg.Record(tracedSample("/a", 0, time.Millisecond))
	for _, o := range []struct {
		spans bool
		env   string
	}{{false, ""}, {true, "none"}} {
		t.Setenv("OTEL_TRACES_EXPORTER", o.env)
		exp, err := telemetry.Start(context.Background(), telemetry.Options{Snapshot: reg.Snapshot, Interval: time.Hour, Spans: o.spans})
		require.NoError(t, err)
		require.NoError(t, exp.Shutdown(context.Background()))
	}
	assert.Len(t, rcv.Exports(), 2, "the metrics went")
	assert.Empty(t, rcv.Spans())
	t.Setenv("OTEL_TRACES_EXPORTER", "zipkin")
	_, err := telemetry.Start(context.Background(), telemetry.Options{Snapshot: reg.Snapshot, Spans: true})
	assert.EqualError(t, err, `OTEL_TRACES_EXPORTER is "zipkin": want otlp (the default) or none`)
}
