package locust

import (
	"context"
	"encoding/hex"
	"strconv"
	"sync"
	"testing"
	"time"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/golocust/golocust/internal/demotarget"
	"github.com/golocust/golocust/internal/otlptest"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/telemetry"
	"github.com/golocust/golocust/user"
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

	last, total := checkExports(t, rcv, res, 4)
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

// With --otel and --traceparent the run's slowest traced requests are
// exported as client spans carrying the ids their traceparent carried: a
// span for each exemplar of the final statistics, each span a request the
// target logged, none twice, and the target's slow /checkout requests
// among them with their duration.
func TestOTelWithTraceparentExportsTheSlowestRequestsAsSpans(t *testing.T) {
	rcv := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.GRPCEndpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_METRICS_EXPORTER", "")
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	tt := newTraceTarget(t)
	cfg := DefaultConfig()
	cfg.Host, cfg.Users, cfg.SpawnRate = tt.url, 4, 100
	cfg.Load.Iterations = 500
	cfg.Traceparent, cfg.OTel = true, true
	res := RunHeadless(t, cfg, checkoutClass("local"))
	require.NotNil(t, res)

	logged := map[string]time.Duration{}
	for _, path := range []string{"/item", "/checkout"} {
		for _, r := range tt.requests(path) {
			logged[r.traceID] = r.handling
		}
	}
	require.Len(t, logged, 1000, "every request carried a fresh trace id")
	spans := map[string]*tracepb.Span{} // by span id
	for _, s := range rcv.Spans() {
		sid := hex.EncodeToString(s.GetSpanId())
		require.NotContains(t, spans, sid, "a span is exported once")
		spans[sid] = s
		tid := hex.EncodeToString(s.GetTraceId())
		require.Contains(t, logged, tid, "span %s (%s) is a request the target saw", sid, s.GetName())
		assert.GreaterOrEqual(t, time.Duration(s.GetEndTimeUnixNano()-s.GetStartTimeUnixNano())+time.Millisecond, logged[tid],
			"the span covers the target's handling")
	}
	for _, e := range res.Stats.Entries {
		require.Len(t, e.Exemplars, stats.MaxExemplars, e.Name)
		for _, x := range e.Exemplars {
			s := spans[x.SpanID.String()]
			require.NotNil(t, s, "the exemplar %s of %s was exported", x.TraceID, e.Name)
			assert.Equal(t, x.TraceID.String(), hex.EncodeToString(s.GetTraceId()))
			assert.Equal(t, e.Name, s.GetName())
			assert.Equal(t, tracepb.Span_SPAN_KIND_CLIENT, s.GetKind())
			assert.EqualValues(t, x.Duration, s.GetEndTimeUnixNano()-s.GetStartTimeUnixNano())
		}
	}
	bySpanTrace := map[string]bool{}
	for _, s := range spans {
		bySpanTrace[hex.EncodeToString(s.GetTraceId())] = true
	}
	for _, r := range tt.slowest("/checkout", 500/slowEvery) {
		require.GreaterOrEqual(t, r.handling, slowCheckout)
		assert.True(t, bySpanTrace[r.traceID], "the target's slow request %s has a span", r.traceID)
	}
}

// With --otel a master exports the cluster's numbers, merged from its
// workers (which export nothing, so nothing is counted twice): the final
// export carries per name exactly what the master counted and the target
// saw, and an export during the run has the workers' 4 users.
func TestOTelOnAMasterExportsTheMergedNumbers(t *testing.T) {
	rcv := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.GRPCEndpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "100") // ms
	t.Setenv("OTEL_METRICS_EXPORTER", "")
	srv := startTarget(t, demotarget.Options{})
	port := clusterPort(t)
	out := &testLogWriter{t: t}
	defer out.flush()

	cfg := DefaultConfig()
	cfg.Headless, cfg.Users, cfg.SpawnRate, cfg.RunTime, cfg.Host = true, 4, 100, 2*time.Second, srv.URL
	cfg.StopTimeout = 5 * time.Second
	cfg.OTel = true
	cfg.Cluster.Master, cfg.Cluster.ExpectWorkers = true, 2
	cfg.Cluster.MasterBindPort, _ = strconv.Atoi(port)
	cfg.Stdout, cfg.Stderr = out, out
	done := make(chan *Result, 1)
	go func() {
		res, err := execute(t.Context(), &cfg, []user.Spawner{shopperClass("")})
		assert.NoError(t, err)
		done <- res
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var workers sync.WaitGroup
	for range 2 {
		wcfg := DefaultConfig()
		wcfg.Cluster.Worker = true
		wcfg.Cluster.MasterPort, _ = strconv.Atoi(port)
		wcfg.OTel = true // a worker leaves the export to its master
		wcfg.Stdout, wcfg.Stderr = out, out
		workers.Go(func() {
			_, err := execute(ctx, &wcfg, []user.Spawner{shopperClass("")})
			assert.NoError(t, err)
		})
	}
	var res *Result
	select {
	case res = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the master did not end its run")
	}
	cancel()
	workers.Wait()
	require.NotNil(t, res)
	require.Positive(t, res.Stats.Total.NumRequests)

	_, total := checkExports(t, rcv, res, 4)
	assert.EqualValues(t, srv.Total(), total, "the export counts each request the target saw once")
}

// checkExports asserts what rcv got from a run whose final numbers are
// res: an export during the run with users users, and a last export whose
// request-duration histogram has, per name, the run's count and total
// time, its buckets adding up. It returns that last export and the total
// count it exported.
func checkExports(t *testing.T, rcv *otlptest.Receiver, res *Result, users int64) (*colmetricpb.ExportMetricsServiceRequest, uint64) {
	t.Helper()
	exports := rcv.Exports()
	require.NotEmpty(t, exports)
	sawUsers := false
	for _, ex := range exports {
		if u, ok := otlptest.Gauge(ex, telemetry.UsersMetric); ok && u == users {
			sawUsers = true
		}
	}
	assert.True(t, sawUsers, "an export during the run has the %d users", users)
	last := otlptest.Latest(exports, telemetry.UsersMetric)
	require.NotNil(t, last)
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
	return last, total
}
