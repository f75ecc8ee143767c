// Package otlptest is a real OTLP metrics receiver for tests: it serves
// the OpenTelemetry collector's metrics service over gRPC and OTLP/HTTP
// (protobuf) on 127.0.0.1 and keeps every export it receives, so that a
// test can assert the data points an exporter sent.
package otlptest

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
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
	changed chan struct{}
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
	gdone := make(chan struct{})
	go func() { defer close(gdone); _ = gs.Serve(gl) }()

	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("otlptest: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/metrics", r.serveHTTP)
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
	var body io.Reader = hr.Body
	if hr.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(hr.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := &colmetricpb.ExportMetricsServiceRequest{}
	if err := proto.Unmarshal(b, req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.add(req)
	out, _ := proto.Marshal(&colmetricpb.ExportMetricsServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = io.Copy(w, bytes.NewReader(out))
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

// WaitFor waits until cond holds for the exports received, failing the
// test after d.
func (r *Receiver) WaitFor(t testing.TB, d time.Duration, what string, cond func([]*colmetricpb.ExportMetricsServiceRequest) bool) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok := cond(r.exports)
		ch := r.changed
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("otlptest: no export with %s within %v (%d exports)", what, d, len(r.Exports()))
		}
	}
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
