package telemetry_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"go.uber.org/goleak"

	"github.com/golocust/golocust/internal/otlptest"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/telemetry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// record puts n samples of d into reg, failing ones with err.
func record(reg *stats.Registry, method, name string, n int, d time.Duration, err error) {
	for range n {
		reg.Record(stats.Sample{Method: method, Name: name, Duration: d, Size: 10, Err: err})
	}
}

func bucketOf(sec float64) int {
	for i, b := range telemetry.Bounds {
		if sec <= b {
			return i
		}
	}
	return len(telemetry.Bounds)
}

// The final export carries each entry's exact count, sum, min and max,
// its durations in the right buckets, and the user gauge, to a real OTLP
// receiver, over gRPC and over HTTP.
func TestShutdownExportsTheRunsNumbers(t *testing.T) {
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(protocol, func(t *testing.T) {
			rcv := otlptest.Start(t)
			endpoint := rcv.GRPCEndpoint
			if protocol != "grpc" {
				endpoint = rcv.HTTPEndpoint
			}
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
			t.Setenv("OTEL_SERVICE_NAME", "shop-load")
			t.Setenv("OTEL_METRICS_EXPORTER", "")

			reg := stats.NewRegistry(stats.Options{})
			record(reg, "GET", "/fast", 100, 3*time.Millisecond, nil)
			record(reg, "GET", "/slow", 40, 200*time.Millisecond, nil)
			record(reg, "GET", "/slow", 10, 1500*time.Millisecond, errors.New("HTTP 503"))
			record(reg, "POST", "/slow", 5, 40*time.Millisecond, nil)

			exp, err := telemetry.Start(context.Background(), telemetry.Options{
				Snapshot: reg.Snapshot, Users: func() int { return 7 }, ServiceVersion: "test",
				Interval: time.Hour, // only the final export
			})
			require.NoError(t, err)
			assert.Equal(t, protocol, exp.Protocol())
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			require.NoError(t, exp.Shutdown(ctx))

			exports := rcv.Exports()
			require.Len(t, exports, 1)
			ms := otlptest.Metrics(exports[0], telemetry.DurationMetric)
			require.Len(t, ms, 1)
			assert.Equal(t, "shop-load", ms[0].Resource["service.name"])
			assert.Equal(t, "test", ms[0].Resource["service.version"])
			assert.Equal(t, "s", ms[0].GetUnit())

			h := otlptest.Histograms(exports[0], telemetry.DurationMetric)
			require.Len(t, h, 3)
			fast, slow, post := h["GET /fast"], h["GET /slow"], h["POST /slow"]
			require.NotNil(t, fast)
			require.NotNil(t, slow)
			require.NotNil(t, post)
			assert.EqualValues(t, 100, fast.GetCount())
			assert.InDelta(t, 0.3, fast.GetSum(), 1e-9)
			assert.InDelta(t, 0.003, fast.GetMin(), 1e-9)
			assert.InDelta(t, 0.003, fast.GetMax(), 1e-9)
			assert.Equal(t, telemetry.Bounds, fast.GetExplicitBounds())
			want := make([]uint64, len(telemetry.Bounds)+1)
			want[bucketOf(0.003)] = 100
			assert.Equal(t, want, fast.GetBucketCounts())

			assert.EqualValues(t, 50, slow.GetCount())
			assert.InDelta(t, 40*0.2+10*1.5, slow.GetSum(), 1e-9)
			want = make([]uint64, len(telemetry.Bounds)+1)
			want[bucketOf(0.2)], want[bucketOf(1.5)] = 40, 10
			assert.Equal(t, want, slow.GetBucketCounts())
			assert.EqualValues(t, 5, post.GetCount())

			users, ok := otlptest.Gauge(exports[0], telemetry.UsersMetric)
			require.True(t, ok)
			assert.EqualValues(t, 7, users)
		})
	}
}

// Periodic exports carry the cumulative numbers as they grow.
func TestPeriodicExportsFollowTheRun(t *testing.T) {
	rcv := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.GRPCEndpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "")
	reg := stats.NewRegistry(stats.Options{})
	var users atomic.Int64
	exp, err := telemetry.Start(context.Background(), telemetry.Options{
		Snapshot: reg.Snapshot, Users: func() int { return int(users.Load()) }, Interval: 20 * time.Millisecond,
	})
	require.NoError(t, err)
	defer func() { require.NoError(t, exp.Shutdown(context.Background())) }()

	count := func(req *colmetricpb.ExportMetricsServiceRequest) uint64 {
		return otlptest.Histograms(req, telemetry.DurationMetric)["GET /a"].GetCount()
	}
	record(reg, "GET", "/a", 10, time.Millisecond, nil)
	users.Store(3)
	rcv.WaitFor(t, 20*time.Second, "10 requests and 3 users", func(ex []*colmetricpb.ExportMetricsServiceRequest) bool {
		if len(ex) == 0 {
			return false
		}
		u, _ := otlptest.Gauge(ex[len(ex)-1], telemetry.UsersMetric)
		return count(ex[len(ex)-1]) == 10 && u == 3
	})
	record(reg, "GET", "/a", 15, time.Millisecond, nil)
	users.Store(5)
	rcv.WaitFor(t, 20*time.Second, "25 requests and 5 users", func(ex []*colmetricpb.ExportMetricsServiceRequest) bool {
		u, _ := otlptest.Gauge(ex[len(ex)-1], telemetry.UsersMetric)
		return count(ex[len(ex)-1]) == 25 && u == 5
	})
}

func TestConfigurationErrorsSayWhatToSet(t *testing.T) {
	reg := stats.NewRegistry(stats.Options{})
	o := telemetry.Options{Snapshot: reg.Snapshot}

	t.Setenv("OTEL_METRICS_EXPORTER", "none")
	_, err := telemetry.Start(context.Background(), o)
	assert.ErrorIs(t, err, telemetry.ErrDisabled)

	t.Setenv("OTEL_METRICS_EXPORTER", "prometheus")
	_, err = telemetry.Start(context.Background(), o)
	assert.EqualError(t, err, `OTEL_METRICS_EXPORTER is "prometheus": want otlp (the default) or none`)

	t.Setenv("OTEL_METRICS_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift")
	_, err = telemetry.Start(context.Background(), o)
	assert.EqualError(t, err, `OTEL_EXPORTER_OTLP_PROTOCOL is "thrift": want grpc (the default) or http/protobuf`)

	_, err = telemetry.Start(context.Background(), telemetry.Options{})
	assert.EqualError(t, err, "telemetry: Options.Snapshot is nil")
}
