package stats

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// histPercentile returns the p-quantile of h (microseconds) as a
// duration, or -1 when h is empty. The rank is Locust's: with n values and
// k = floor(n*p), the (k+1)-th smallest value (the largest when k = n).
func histPercentile(h *hdrhistogram.Histogram, p float64) time.Duration {
	if h == nil || h.TotalCount() == 0 {
		return -1
	}
	n := h.TotalCount()
	k := int64(float64(n) * p)
	return rankValue(h, min(max(k+1, 1), n))
}

// rankValue returns the r-th smallest value (1-based) of h. hdrhistogram
// maps a percentile q to the rank int(q/100*n + 0.5); asking for
// q = (r - 0.25)/n*100 lands on r exactly.
func rankValue(h *hdrhistogram.Histogram, r int64) time.Duration {
	q := (float64(r) - 0.25) / float64(h.TotalCount()) * 100
	return time.Duration(h.ValueAtPercentile(q)) * time.Microsecond
}

func (e *Entry) clamp(d time.Duration) time.Duration {
	if d < e.Min {
		return e.Min
	}
	if d > e.Max {
		return e.Max
	}
	return d
}

// Percentile returns the p-quantile (p in [0,1]) of the service times from
// the histogram, clamped to [Min, Max], so that it never exceeds the exact
// maximum; Percentile(1) is Max itself; 0 when there were no requests.
func (e *Entry) Percentile(p float64) time.Duration {
	if p >= 1 && e.NumRequests > 0 {
		return e.Max // exact, even past the histogram's 1 h range
	}
	d := histPercentile(e.Hist, p)
	if d < 0 {
		return 0
	}
	return e.clamp(d)
}

// Percentiles returns Percentile(p) for each p, in one pass over the
// histogram.
func (e *Entry) Percentiles(ps ...float64) []time.Duration {
	out := make([]time.Duration, len(ps))
	if e.Hist == nil || e.Hist.TotalCount() == 0 || len(ps) == 0 {
		return out
	}
	n := e.Hist.TotalCount()
	qs := make([]float64, len(ps))
	for i, p := range ps {
		r := min(max(int64(float64(n)*p)+1, 1), n)
		qs[i] = (float64(r) - 0.25) / float64(n) * 100
	}
	for i, v := range e.Hist.ValueAtPercentilesSlice(qs) {
		if ps[i] >= 1 && e.NumRequests > 0 {
			out[i] = e.Max
		} else {
			out[i] = e.clamp(time.Duration(v) * time.Microsecond)
		}
	}
	return out
}

// Median returns the median service time by Locust's rule (for an even
// count, the lower of the two middle values), clamped to [Min, Max]; 0
// when there were no requests.
func (e *Entry) Median() time.Duration {
	if e.Hist == nil || e.Hist.TotalCount() == 0 {
		return 0
	}
	return e.clamp(rankValue(e.Hist, (e.Hist.TotalCount()-1)/2+1))
}

// Avg returns the exact average service time (0 without requests).
func (e *Entry) Avg() time.Duration {
	if e.NumRequests == 0 {
		return 0
	}
	return e.TotalTime / time.Duration(e.NumRequests)
}

// avgMs is the exact average in milliseconds, as a float.
func (e *Entry) avgMs() float64 {
	if e.NumRequests == 0 {
		return 0
	}
	return float64(e.TotalTime) / float64(time.Millisecond) / float64(e.NumRequests)
}

// AvgSize returns the average response size in bytes.
func (e *Entry) AvgSize() float64 {
	if e.NumRequests == 0 {
		return 0
	}
	return float64(e.TotalBytes) / float64(e.NumRequests)
}

// FailRatio returns failures / requests (1 when there are failures but no
// requests, as in Locust).
func (e *Entry) FailRatio() float64 {
	if e.NumRequests == 0 {
		if e.NumFailures == 0 {
			return 0
		}
		return 1
	}
	return float64(e.NumFailures) / float64(e.NumRequests)
}

// TotalRPS returns requests per second between Start and LastRequest.
// (The renderers divide every row by the snapshot's span, as Locust does.)
func (e *Entry) TotalRPS() float64 { return perSec(e.NumRequests, e.Start, e.LastRequest) }

// RunRPS is e's requests per second over the whole run: its requests
// divided by the snapshot's span (first to last request; e's own where
// the snapshot has none), as the report, the console's final table, the
// thresholds and the baseline comparison compute it.
func (s *Snapshot) RunRPS(e *Entry) float64 {
	start, last := s.Start, s.LastRequest
	if start.IsZero() {
		start = e.Start
	}
	if last.IsZero() {
		last = e.LastRequest
	}
	return perSec(e.NumRequests, start, last)
}

// TotalFailPerSec returns failures per second between Start and
// LastRequest.
func (e *Entry) TotalFailPerSec() float64 { return perSec(e.NumFailures, e.Start, e.LastRequest) }

func perSec(n int64, start, last time.Time) float64 {
	if start.IsZero() || last.IsZero() {
		return 0
	}
	d := last.Sub(start).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(n) / d
}

// CurrentRPS returns the requests per second of the current window,
// Locust's rule: the average of the per-second counts over the unix seconds
// [max(now-12, Start), now-2), which leaves out the two most recent,
// possibly incomplete, seconds.
func (e *Entry) CurrentRPS(now time.Time) float64 { return windowAvg(e.ReqPerSec, e.Start, now) }

// CurrentFailPerSec returns the failures per second of the current window
// (same rule as CurrentRPS).
func (e *Entry) CurrentFailPerSec(now time.Time) float64 {
	return windowAvg(e.FailPerSec, e.Start, now)
}

func windowAvg(m map[int64]int64, start, now time.Time) float64 {
	t := now.Unix()
	from := t - 12
	if s := start.Unix(); !start.IsZero() && s > from {
		from = s
	}
	to := t - 2
	if to <= from {
		return 0
	}
	var sum int64
	for s := from; s < to; s++ {
		sum += m[s]
	}
	return float64(sum) / float64(to-from)
}

// CurrentPercentile returns a percentile of the last ~10 s (clamped to
// [Min, Max]); 0 when nothing was recorded in the window.
func (e *Entry) CurrentPercentile(p float64) time.Duration {
	d := histPercentile(e.Current, p)
	if d < 0 {
		return 0
	}
	return e.clamp(d)
}

// CorrectedPercentile returns a percentile of the latencies measured from
// the intended start (coordinated omission); 0 when no sample had one.
func (e *Entry) CorrectedPercentile(p float64) time.Duration {
	d := histPercentile(e.CorrectedHist, p)
	if d < 0 {
		return 0
	}
	return d
}
