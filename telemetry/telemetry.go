package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/golocust/golocust/stats"
)

// Metric names, as Locust exports them.
const (
	DurationMetric = "locust.client.duration"
	UsersMetric    = "locust.users.count"
)

// Bounds are the upper bounds, in seconds, of the duration histogram's
// buckets: OpenTelemetry's advice for HTTP client durations, with finer
// buckets below 5 ms for fast targets and two above 10 s for slow ones.
var Bounds = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60}

// Options say where the numbers come from.
type Options struct {
	// Snapshot returns the run's statistics (required). It is called at
	// each export, from the SDK's goroutine.
	Snapshot func() *stats.Snapshot
	// Users returns the number of running users; nil exports no gauge.
	Users func() int
	// ServiceVersion is the resource's service.version (optional).
	ServiceVersion string
	// Interval overrides OTEL_METRIC_EXPORT_INTERVAL when > 0.
	Interval time.Duration
	// Spans exports the slowest traced requests (stats.Entry.Exemplars) as
	// client spans over OTLP traces, at each collection (a run with
	// --traceparent); OTEL_TRACES_EXPORTER=none turns it off.
	Spans bool
}

// Exporter sends the statistics over OTLP until Shutdown.
type Exporter struct {
	provider *sdkmetric.MeterProvider
	spans    *spanExporter // nil: no spans
	protocol string
}

// ErrDisabled is returned by Start when OTEL_METRICS_EXPORTER is "none".
var ErrDisabled = errors.New("telemetry: OTEL_METRICS_EXPORTER is none")

// Start builds the OTLP exporter from the OTEL_* variables and starts
// exporting every interval. The connection is made lazily: an unreachable
// collector shows as failed exports, not as an error here.
func Start(ctx context.Context, o Options) (*Exporter, error) {
	if o.Snapshot == nil {
		return nil, errors.New("telemetry: Options.Snapshot is nil")
	}
	switch kinds := strings.ToLower(strings.TrimSpace(os.Getenv("OTEL_METRICS_EXPORTER"))); kinds {
	case "", "otlp":
	case "none":
		return nil, ErrDisabled
	default:
		return nil, fmt.Errorf("OTEL_METRICS_EXPORTER is %q: want otlp (the default) or none", kinds)
	}
	protocol := firstEnv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
	var exp sdkmetric.Exporter
	var err error
	switch protocol = strings.ToLower(strings.TrimSpace(protocol)); protocol {
	case "", "grpc":
		protocol = "grpc"
		exp, err = otlpmetricgrpc.New(ctx)
	case "http/protobuf", "http":
		protocol = "http/protobuf"
		exp, err = otlpmetrichttp.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL is %q: want grpc (the default) or http/protobuf", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP %s exporter: %w", protocol, err)
	}
	res, err := newResource(ctx, o.ServiceVersion)
	if err != nil {
		return nil, err
	}
	var spans *spanExporter
	if o.Spans {
		if spans, err = newSpanExporter(ctx, res); err != nil {
			_ = exp.Shutdown(ctx) // its connection is made already
			return nil, err
		}
	}
	var ropts []sdkmetric.PeriodicReaderOption
	ropts = append(ropts, sdkmetric.WithProducer(&producer{o: o, spans: spans}))
	if o.Interval > 0 {
		ropts = append(ropts, sdkmetric.WithInterval(o.Interval))
	}
	reader := sdkmetric.NewPeriodicReader(exp, ropts...)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(res))
	return &Exporter{provider: mp, spans: spans, protocol: protocol}, nil
}

// Protocol returns the OTLP protocol in use: "grpc" or "http/protobuf".
func (e *Exporter) Protocol() string { return e.protocol }

// Shutdown exports the current numbers once more and stops. ctx bounds
// the final export.
func (e *Exporter) Shutdown(ctx context.Context) error {
	if e == nil {
		return nil
	}
	err := e.provider.Shutdown(ctx) // the final collection makes the last spans
	return errors.Join(err, e.spans.shutdown(ctx))
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// newResource describes this process: service.name from OTEL_SERVICE_NAME
// (default "locust"), OTEL_RESOURCE_ATTRIBUTES, the host name.
func newResource(ctx context.Context, version string) (*resource.Resource, error) {
	attrs := []attribute.KeyValue{attribute.String("service.name", "locust")}
	if version != "" {
		attrs = append(attrs, attribute.String("service.version", version))
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attrs...),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
		resource.WithHost(),
		resource.WithTelemetrySDK(),
	)
	if err != nil && res == nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	return res, nil // a partial resource (e.g. no host name) is still useful
}

// producer turns a stats snapshot into OTLP data at each collection.
type producer struct {
	o     Options
	spans *spanExporter
}

var scope = instrumentation.Scope{Name: "github.com/golocust/golocust/telemetry"}

// Produce implements sdkmetric.Producer.
func (p *producer) Produce(context.Context) ([]metricdata.ScopeMetrics, error) {
	now := time.Now()
	snap := p.o.Snapshot()
	var ms []metricdata.Metrics
	if snap != nil {
		ms = append(ms, durations(snap, now))
		p.spans.export(snap)
	}
	if p.o.Users != nil {
		start := now
		if snap != nil && !snap.Start.IsZero() {
			start = snap.Start
		}
		ms = append(ms, metricdata.Metrics{
			Name: UsersMetric, Description: "Number of running users", Unit: "{user}",
			Data: metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{
				{StartTime: start, Time: now, Value: int64(p.o.Users())},
			}},
		})
	}
	if len(ms) == 0 {
		return nil, nil
	}
	return []metricdata.ScopeMetrics{{Scope: scope, Metrics: ms}}, nil
}

// durations converts every entry of snap into one cumulative histogram
// data point, attributes name and method.
func durations(snap *stats.Snapshot, now time.Time) metricdata.Metrics {
	h := metricdata.Histogram[float64]{Temporality: metricdata.CumulativeTemporality}
	for _, e := range snap.Entries {
		if e.NumRequests == 0 {
			continue
		}
		start := snap.Start
		if start.IsZero() {
			start = e.Start
		}
		dp := metricdata.HistogramDataPoint[float64]{
			Attributes:   attribute.NewSet(attribute.String("name", e.Name), attribute.String("method", e.Method)),
			StartTime:    start,
			Time:         now,
			Count:        uint64(e.NumRequests),
			Bounds:       Bounds,
			BucketCounts: buckets(e),
			Min:          metricdata.NewExtrema(e.Min.Seconds()),
			Max:          metricdata.NewExtrema(e.Max.Seconds()),
			Sum:          e.TotalTime.Seconds(),
			Exemplars:    exemplars(e),
		}
		h.DataPoints = append(h.DataPoints, dp)
	}
	return metricdata.Metrics{Name: DurationMetric, Description: "Time to last byte for requests", Unit: "s", Data: h}
}

// exemplars are e's slowest traced requests as the data point's
// exemplars (value in seconds, the request's trace and span ids).
func exemplars(e *stats.Entry) []metricdata.Exemplar[float64] {
	if len(e.Exemplars) == 0 {
		return nil
	}
	out := make([]metricdata.Exemplar[float64], len(e.Exemplars))
	for i, x := range e.Exemplars {
		out[i] = metricdata.Exemplar[float64]{Time: x.Time, Value: x.Duration.Seconds(),
			TraceID: append([]byte(nil), x.TraceID[:]...), SpanID: append([]byte(nil), x.SpanID[:]...)}
	}
	return out
}

// buckets counts e's durations per bucket of Bounds from its HdrHistogram
// (microseconds). Each HDR bar goes to the bucket of its lowest value;
// the counts add up to NumRequests.
func buckets(e *stats.Entry) []uint64 {
	out := make([]uint64, len(Bounds)+1)
	var total uint64
	if e.Hist != nil {
		for _, bar := range e.Hist.Distribution() {
			if bar.Count == 0 {
				continue
			}
			sec := float64(bar.From) / 1e6
			i := 0
			for i < len(Bounds) && sec > Bounds[i] {
				i++
			}
			out[i] += uint64(bar.Count)
			total += uint64(bar.Count)
		}
	}
	// The histogram and the request count agree; should they not (no
	// histogram, or one clipped at its highest trackable value), the
	// remainder goes to the overflow bucket so that the buckets add up to
	// Count.
	if n := uint64(e.NumRequests); total < n {
		out[len(Bounds)] += n - total
	}
	return out
}
