package otlptest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// Receiver keeps the metrics exports it receives.
type Receiver struct {
	colmetricpb.UnimplementedMetricsServiceServer
	// GRPCEndpoint and HTTPEndpoint are the URLs to give in
	// OTEL_EXPORTER_OTLP_ENDPOINT for each protocol.
	GRPCEndpoint, HTTPEndpoint string

	mu      sync.Mutex
	exports []*colmetricpb.ExportMetricsServiceRequest
	spans   []*tracepb.Span
	changed chan struct{}
}

// traceService is the receiver's OTLP trace service (its Export cannot
// share the metrics service's method).
type traceService struct {
	coltracepb.UnimplementedTraceServiceServer
	r *Receiver
}

// Export implements the OTLP gRPC trace service.
func (s traceService) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	s.r.addSpans(req)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// Start serves a receiver until the test ends.
func Start(t testing.TB) *Receiver {
	t.Helper()
	r := &Receiver{changed: make(chan struct{})}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("otlptest: %v", err)
	}
	gs := grpc.NewServer()
	colmetricpb.RegisterMetricsServiceServer(gs, r)
	coltracepb.RegisterTraceServiceServer(gs, traceService{r: r})
	gdone := make(chan struct{})
	go func() { defer close(gdone); _ = gs.Serve(gl) }()

	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("otlptest: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/metrics", r.serveHTTP)
	mux.HandleFunc("POST /v1/traces", r.serveTracesHTTP)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	hdone := make(chan struct{})
	go func() { defer close(hdone); _ = hs.Serve(hl) }()

	r.GRPCEndpoint = "http://" + gl.Addr().String()
	r.HTTPEndpoint = "http://" + hl.Addr().String()
	t.Cleanup(func() {
		gs.Stop()
		_ = hs.Close()
		<-gdone
		<-hdone
	})
	return r
}

// Export implements the OTLP gRPC metrics service.
func (r *Receiver) Export(_ context.Context, req *colmetricpb.ExportMetricsServiceRequest) (*colmetricpb.ExportMetricsServiceResponse, error) {
	r.add(req)
	return &colmetricpb.ExportMetricsServiceResponse{}, nil
}

func (r *Receiver) serveHTTP(w http.ResponseWriter, hr *http.Request) {
	req := &colmetricpb.ExportMetricsServiceRequest{}
	if readHTTP(w, hr, req) {
		r.add(req)
		writeHTTP(w, &colmetricpb.ExportMetricsServiceResponse{})
	}
}

func (r *Receiver) serveTracesHTTP(w http.ResponseWriter, hr *http.Request) {
	req := &coltracepb.ExportTraceServiceRequest{}
	if readHTTP(w, hr, req) {
		r.addSpans(req)
		writeHTTP(w, &coltracepb.ExportTraceServiceResponse{})
	}
}

// readHTTP decodes an OTLP/HTTP protobuf body (gzipped or not) into req;
// false when it answered with an error.
func readHTTP(w http.ResponseWriter, hr *http.Request, req proto.Message) bool {
	var body io.Reader = hr.Body
	if hr.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(hr.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return false
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	if err := proto.Unmarshal(b, req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func writeHTTP(w http.ResponseWriter, resp proto.Message) {
	out, _ := proto.Marshal(resp)
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = io.Copy(w, bytes.NewReader(out))
}

func (r *Receiver) addSpans(req *coltracepb.ExportTraceServiceRequest) {
	r.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			r.spans = append(r.spans, ss.GetSpans()...)
		}
	}
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// Spans returns the spans received so far, in the order they came.
func (r *Receiver) Spans() []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*tracepb.Span(nil), r.spans...)
}

// WaitForSpans waits until cond holds for the spans received, failing the
// test after d.
func (r *Receiver) WaitForSpans(t testing.TB, d time.Duration, what string, cond func([]*tracepb.Span) bool) {
	t.Helper()
	r.waitFor(t, d, func() bool { return cond(r.spans) }, func() string {
		return fmt.Sprintf("otlptest: no spans with %s within %v (%d spans)", what, d, len(r.Spans()))
	})
}

// waitFor waits until holds (called with r.mu held) is true, waking on
// each export received, and fails the test with fail's text after d.
func (r *Receiver) waitFor(t testing.TB, d time.Duration, holds func() bool, fail func() string) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok := holds()
		ch := r.changed
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatal(fail())
		}
	}
}

func (r *Receiver) add(req *colmetricpb.ExportMetricsServiceRequest) {
	r.mu.Lock()
	r.exports = append(r.exports, req)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// Exports returns the exports received so far, oldest first.
func (r *Receiver) Exports() []*colmetricpb.ExportMetricsServiceRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*colmetricpb.ExportMetricsServiceRequest(nil), r.exports...)
}

// Latest returns the export of the latest collection among exports, by
// the time of its data points of metric name, as a collector orders them;
// nil when none has that metric. The order of arrival is not enough: an
// export cancelled by a shutdown may still be recorded after the final
// one, which the shutdown sends at once.
func Latest(exports []*colmetricpb.ExportMetricsServiceRequest, name string) *colmetricpb.ExportMetricsServiceRequest {
	var latest *colmetricpb.ExportMetricsServiceRequest
	var at uint64
	for _, ex := range exports {
		for _, m := range Metrics(ex, name) {
			var ts []uint64
			for _, dp := range m.GetGauge().GetDataPoints() {
				ts = append(ts, dp.GetTimeUnixNano())
			}
			for _, dp := range m.GetSum().GetDataPoints() {
				ts = append(ts, dp.GetTimeUnixNano())
			}
			for _, dp := range m.GetHistogram().GetDataPoints() {
				ts = append(ts, dp.GetTimeUnixNano())
			}
			for _, t := range ts {
				if latest == nil || t > at {
					latest, at = ex, t
				}
			}
		}
	}
	return latest
}

// WaitFor waits until cond holds for the exports received, failing the
// test after d.
func (r *Receiver) WaitFor(t testing.TB, d time.Duration, what string, cond func([]*colmetricpb.ExportMetricsServiceRequest) bool) {
	t.Helper()
	r.waitFor(t, d, func() bool { return cond(r.exports) }, func() string {
		return fmt.Sprintf("otlptest: no export with %s within %v (%d exports)", what, d, len(r.Exports()))
	})
}

// Metric is one metric of an export with its resource's attributes.
type Metric struct {
	Resource map[string]string
	*metricpb.Metric
}

// Metrics returns the metrics named name in export req.
func Metrics(req *colmetricpb.ExportMetricsServiceRequest, name string) []Metric {
	var out []Metric
	for _, rm := range req.GetResourceMetrics() {
		res := map[string]string{}
		for _, kv := range rm.GetResource().GetAttributes() {
			res[kv.GetKey()] = kv.GetValue().GetStringValue()
		}
		for _, sm := range rm.GetScopeMetrics() {
			for _, m := range sm.GetMetrics() {
				if m.GetName() == name {
					out = append(out, Metric{Resource: res, Metric: m})
				}
			}
		}
	}
	return out
}

// Histograms returns the data points of histogram name in req, keyed by
// their "method name" attributes.
func Histograms(req *colmetricpb.ExportMetricsServiceRequest, name string) map[string]*metricpb.HistogramDataPoint {
	out := map[string]*metricpb.HistogramDataPoint{}
	for _, m := range Metrics(req, name) {
		for _, dp := range m.GetHistogram().GetDataPoints() {
			attrs := map[string]string{}
			for _, kv := range dp.GetAttributes() {
				attrs[kv.GetKey()] = kv.GetValue().GetStringValue()
			}
			out[attrs["method"]+" "+attrs["name"]] = dp
		}
	}
	return out
}

// Gauge returns the value of the int gauge name in req and whether req
// has it.
func Gauge(req *colmetricpb.ExportMetricsServiceRequest, name string) (int64, bool) {
	for _, m := range Metrics(req, name) {
		for _, dp := range m.GetGauge().GetDataPoints() {
			return dp.GetAsInt(), true
		}
	}
	return 0, false
}
