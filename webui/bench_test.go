package webui

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golocust/golocust/stats"
)

// registryCtl serves the snapshots of a real stats.Registry, as the runner does.
type registryCtl struct {
	*fakeCtl
	reg *stats.Registry
}

func (r registryCtl) Snapshot() *stats.Snapshot { return r.reg.Snapshot() }

func thousandNames(b *testing.B) *stats.Registry {
	reg := stats.NewRegistry(stats.Options{MaxNames: 2000})
	for i := range 1000 {
		name := fmt.Sprintf("/api/item/%04d", i)
		for j := range 50 {
			var err error
			if j == 0 {
				err = fmt.Errorf("HTTP 500 on %d", i)
			}
			reg.Record(stats.Sample{Method: "GET", Name: name, Duration: time.Duration(1+(i*31+j*17)%900) * time.Millisecond, Size: 512, Err: err})
		}
	}
	snap := reg.Snapshot()
	if len(snap.Entries) != 1000 {
		b.Fatalf("want 1000 names, got %d", len(snap.Entries))
	}
	return reg
}

// BenchmarkStatsRequests1000Names is GET /stats/requests on a master with
// 1,000 names (500 rows sent), including the registry snapshot, with no
// cache: every iteration builds the answer.
func BenchmarkStatsRequests1000Names(b *testing.B) {
	reg := thousandNames(b)
	s, err := New(Options{Controller: registryCtl{fakeCtl: newFake(), reg: reg}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.buildRequests(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStatsRequestsHandler1000Names goes through the HTTP handler
// (auth off), so the 2 s cache applies if building is slow.
func BenchmarkStatsRequestsHandler1000Names(b *testing.B) {
	reg := thousandNames(b)
	s, err := New(Options{Controller: registryCtl{fakeCtl: newFake(), reg: reg}})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8089/stats/requests", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkStatsRequestsRender1000Names is the rendering alone, from a
// snapshot taken once.
func BenchmarkStatsRequestsRender1000Names(b *testing.B) {
	f := newFake()
	f.fixed = thousandNames(b).Snapshot()
	s, err := New(Options{Controller: f})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.buildRequests(); err != nil {
			b.Fatal(err)
		}
	}
}
