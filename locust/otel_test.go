package locust

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/internal/demotarget"
	"github.com/golocust/golocust/internal/otlptest"
	"github.com/golocust/golocust/telemetry"
)

// With --otel a run exports to a real OTLP receiver: while it runs the
// gauge shows its 4 users, and the final export carries per name exactly
// the requests the stats counted, which the target saw.
func TestOTelExportsTheRunToAnOTLPReceiver(t *testing.T) {
	rcv := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.GRPCEndpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "100") // ms
	t.Setenv("OTEL_METRICS_EXPORTER", "")
	srv := startTarget(t, demotarget.Options{})

	res := RunHeadless(t, Config{Users: 4, RunTime: 2 * time.Second, Host: srv.URL, OTel: true}, shopperClass(""))
	require.NotNil(t, res.Stats)
	require.Positive(t, res.Stats.Total.NumRequests)

	exports := rcv.Exports()
	require.NotEmpty(t, exports)
	sawUsers := false
	for _, ex := range exports {
		if u, ok := otlptest.Gauge(ex, telemetry.UsersMetric); ok && u == 4 {
			sawUsers = true
		}
	}
	assert.True(t, sawUsers, "an export during the run has the 4 users")

	last := exports[len(exports)-1]
	h := otlptest.Histograms(last, telemetry.DurationMetric)
	require.Len(t, h, len(res.Stats.Entries))
	var total uint64
	for _, e := range res.Stats.Entries {
		dp := h[e.Method+" "+e.Name]
		require.NotNil(t, dp, "%s %s exported", e.Method, e.Name)
		assert.EqualValues(t, e.NumRequests, dp.GetCount(), "%s %s", e.Method, e.Name)
		assert.InDelta(t, e.TotalTime.Seconds(), dp.GetSum(), 1e-6)
		var buckets uint64
		for _, b := range dp.GetBucketCounts() {
			buckets += b
		}
		assert.Equal(t, dp.GetCount(), buckets, "buckets add up")
		total += dp.GetCount()
	}
	assert.EqualValues(t, res.Stats.Total.NumRequests, total)
	assert.Equal(t, srv.Total(), res.Stats.Total.NumRequests, "the target saw the same")
	u, ok := otlptest.Gauge(last, telemetry.UsersMetric)
	assert.True(t, ok)
	assert.Zero(t, u, "the final export comes after the users stopped")
}

func TestOTelFlagAndEnvironment(t *testing.T) {
	for _, env := range []string{"LOCUST_OTEL", "LOCUST_ENABLE_OPENTELEMETRY"} {
		c := DefaultConfig()
		_, err := parseCommandLine(&c, nil, func(k string) (string, bool) {
			if k == env {
				return "true", true
			}
			return "", false
		})
		require.NoError(t, err)
		assert.True(t, c.OTel, env)
	}
	c := DefaultConfig()
	_, err := parseCommandLine(&c, []string{"--otel"}, func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	assert.True(t, c.OTel)
}

func TestOTelBadProtocolIsAUsageError(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")
	t.Setenv("OTEL_METRICS_EXPORTER", "")
	var out syncBuffer
	code := Run(t.Context(), []string{"--headless", "-t", "1s", "--otel", "-H", "http://127.0.0.1:1"},
		func(string) (string, bool) { return "", false }, &out, &out, shopperClass(""))
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, out.String(), `--otel: OTEL_EXPORTER_OTLP_PROTOCOL is "carrier-pigeon": want grpc (the default) or http/protobuf`)
}
