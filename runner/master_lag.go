package runner

import (
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/stats"
)

// lagScratch holds full-range histograms for reading a report's generator
// lag: a worker's lag percentiles are computed per report, so that the
// master keeps two numbers per worker, not a histogram.
var lagScratch = sync.Pool{New: func() any { return stats.NewHistogram() }}

// reportLag returns the p50 and p99 of a stats report's generator lag (the
// worker's lag over the report's interval); ok is false when it has none
// or it cannot be decoded (the coalescer reports that).
func reportLag(r *locustpb.StatsReport) (p50, p99 time.Duration, ok bool) {
	b := r.GetLagHistogram()
	if len(b) == 0 {
		return 0, 0, false
	}
	h := lagScratch.Get().(*hdrhistogram.Histogram)
	defer func() {
		h.Reset()
		lagScratch.Put(h)
	}()
	if err := locustpb.MergeHistogram(h, b); err != nil || h.TotalCount() == 0 {
		return 0, 0, false
	}
	us := func(q float64) time.Duration { return time.Duration(h.ValueAtQuantile(q)) * time.Microsecond }
	return us(50), us(99), true
}
