package stats

// Benchmarks (figures measured on the 2-core development machine, shared
// with other work, Go 1.26; the results vary by a few ns between runs):
//
//	go test -run '^$' -bench . -benchmem -benchtime 2s ./stats
//
// FIGURES

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// BenchmarkRecordParallel records successful samples on a known name from
// ~50 goroutines at once (SetParallelism × GOMAXPROCS).
func BenchmarkRecordParallel(b *testing.B) {
	r := NewRegistry(Options{})
	names := []string{"/", "/item", "/cart", "/login"}
	for _, n := range names {
		r.Record(Sample{Method: "GET", Name: n, Duration: time.Millisecond})
	}
	b.SetParallelism(max(1, 50/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			r.Record(Sample{Method: "GET", Name: names[i&3], Duration: time.Duration(i&4095) * time.Microsecond, Size: 512})
		}
	})
}

// BenchmarkRecordParallelOneName has all ~50 goroutines on the same name.
func BenchmarkRecordParallelOneName(b *testing.B) {
	r := NewRegistry(Options{})
	b.SetParallelism(max(1, 50/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			r.Record(Sample{Method: "GET", Name: "/", Duration: time.Duration(i&4095) * time.Microsecond, Size: 512})
		}
	})
}

// BenchmarkRecord is the single-goroutine cost of one sample.
func BenchmarkRecord(b *testing.B) {
	r := NewRegistry(Options{})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Record(Sample{Method: "GET", Name: "/", Duration: time.Duration(i&4095) * time.Microsecond, Size: 512})
	}
}

// BenchmarkRecordFailure records failed samples (error grouping included).
func BenchmarkRecordFailure(b *testing.B) {
	r := NewRegistry(Options{})
	err := errors.New("HTTP 500")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Record(Sample{Method: "GET", Name: "/", Duration: time.Duration(i&4095) * time.Microsecond, Err: err})
	}
}

// BenchmarkSnapshot1000Names takes a snapshot of 1,000 names, each of which
// got 20 new samples since the previous snapshot (so nothing is reused).
func BenchmarkSnapshot1000Names(b *testing.B) {
	r := NewRegistry(Options{})
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("/item/%d", i)
	}
	record := func() {
		for _, n := range names {
			for k := range 20 {
				r.Record(Sample{Method: "GET", Name: n, Duration: time.Duration(100+k*k*50) * time.Microsecond})
			}
		}
	}
	record()
	r.Snapshot()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		record()
		b.StartTimer()
		r.Snapshot()
	}
}

// BenchmarkSnapshot1000NamesIdle takes a snapshot of 1,000 names that got
// no new samples since the previous snapshot (histograms are reused).
func BenchmarkSnapshot1000NamesIdle(b *testing.B) {
	r := NewRegistry(Options{})
	for i := range 1000 {
		r.Record(Sample{Method: "GET", Name: fmt.Sprintf("/item/%d", i), Duration: time.Millisecond})
	}
	r.Snapshot()
	b.ReportAllocs()
	for b.Loop() {
		r.Snapshot()
	}
}
