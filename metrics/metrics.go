package metrics

import (
	"math"
	"math/bits"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/threshold"
)

// Source is what the Collector reads at every scrape. Any method may
// return nil.
type Source interface {
	// Snapshot returns the current statistics (on a master, the merged
	// statistics of the cluster).
	Snapshot() *stats.Snapshot
	// UserCounts returns the running users per class.
	UserCounts() map[string]int
	// WorkerStates returns the number of workers per state ("ready",
	// "running", "missing", ...); nil or empty outside master mode.
	WorkerStates() map[string]int
	// Thresholds returns the thresholds evaluated on current statistics.
	Thresholds() []threshold.Result
}

// Funcs is a Source built from functions; nil functions yield nothing.
type Funcs struct {
	SnapshotFunc     func() *stats.Snapshot
	UserCountsFunc   func() map[string]int
	WorkerStatesFunc func() map[string]int
	ThresholdsFunc   func() []threshold.Result
}

// Snapshot calls SnapshotFunc.
func (f Funcs) Snapshot() *stats.Snapshot {
	if f.SnapshotFunc == nil {
		return nil
	}
	return f.SnapshotFunc()
}

// UserCounts calls UserCountsFunc.
func (f Funcs) UserCounts() map[string]int {
	if f.UserCountsFunc == nil {
		return nil
	}
	return f.UserCountsFunc()
}

// WorkerStates calls WorkerStatesFunc.
func (f Funcs) WorkerStates() map[string]int {
	if f.WorkerStatesFunc == nil {
		return nil
	}
	return f.WorkerStatesFunc()
}

// Thresholds calls ThresholdsFunc.
func (f Funcs) Thresholds() []threshold.Result {
	if f.ThresholdsFunc == nil {
		return nil
	}
	return f.ThresholdsFunc()
}

// DefaultBuckets are the upper bounds, in seconds, of the response-time
// histogram.
var DefaultBuckets = []float64{
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5,
	0.75, 1, 1.5, 2, 2.5, 5, 7.5, 10, 15, 30, 60,
}

// DefaultMaxSeries is the default cap on exported (method, name) series.
const DefaultMaxSeries = 1000

// OtherName is the name label of the series that collects the entries
// past Options.MaxSeries.
const OtherName = "other (series cap reached)"

// maxLabelLen caps threshold label values.
const maxLabelLen = 200

// Options tune the Collector. The zero value is ready to use.
type Options struct {
	// Buckets are the histogram's upper bounds in seconds, ascending; nil:
	// DefaultBuckets.
	Buckets []float64
	// MaxSeries caps the (method, name) series; 0: DefaultMaxSeries.
	MaxSeries int
}

var (
	descRequests   = prometheus.NewDesc("locust_requests_total", "Requests made, by method and name.", []string{"method", "name"}, nil)
	descFailures   = prometheus.NewDesc("locust_failures_total", "Failed requests, by method and name.", []string{"method", "name"}, nil)
	descBytes      = prometheus.NewDesc("locust_response_bytes_total", "Bytes received in responses, by method and name.", []string{"method", "name"}, nil)
	descTime       = prometheus.NewDesc("locust_response_time_seconds", "Response times (service time), by method and name.", []string{"method", "name"}, nil)
	descExceptions = prometheus.NewDesc("locust_exceptions_total", "Unexpected errors (recovered panics) in user code.", nil, nil)
	descUsers      = prometheus.NewDesc("locust_users", "Running users, by class.", []string{"class"}, nil)
	descWorkers    = prometheus.NewDesc("locust_workers", "Connected workers, by state.", []string{"state"}, nil)
	descThPassed   = prometheus.NewDesc("locust_threshold_passed", "1 when the threshold currently passes, 0 when it fails.", []string{"threshold"}, nil)
	descThValue    = prometheus.NewDesc("locust_threshold_value", "The threshold's measured value (seconds for times, a fraction for ratios).", []string{"threshold"}, nil)
	descLag        = prometheus.NewDesc("locust_generator_lag_seconds", "The load generator's own lag: how late paced and arrival-rate iterations started after their intended start, p50 and p99.", []string{"quantile"}, nil)
	descLagCorr    = prometheus.NewDesc("locust_corrected_response_time_seconds", "Latency measured from the intended start (coordinated omission), Aggregated, p50 and p99.", []string{"quantile"}, nil)
	descEnded      = prometheus.NewDesc("locust_users_ended_early_total", "Users that ended before the run stopped them, by reason.", []string{"reason"}, nil)
)

// Collector is a prometheus.Collector over a Source.
type Collector struct {
	src    Source
	bounds []float64
	max    int
	mu     sync.Mutex
	cache  map[*hdrhistogram.Histogram]cached // converted histograms by identity
}

type cached struct {
	total   int64
	buckets []uint64 // cumulative, per bound
}

// NewCollector returns a Collector reading src at every scrape.
func NewCollector(src Source, o Options) *Collector {
	b := o.Buckets
	if b == nil {
		b = DefaultBuckets
	}
	b = append([]float64(nil), b...)
	sort.Float64s(b)
	m := o.MaxSeries
	if m <= 0 {
		m = DefaultMaxSeries
	}
	return &Collector{src: src, bounds: b, max: m, cache: map[*hdrhistogram.Histogram]cached{}}
}

// Describe sends the descriptors of every metric.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRequests, descFailures, descBytes, descTime, descExceptions, descUsers, descWorkers, descThPassed, descThValue, descLag, descLagCorr, descEnded} {
		ch <- d
	}
}

type series struct {
	method, name              string
	requests, failures, bytes int64
	sum                       float64
	count                     uint64
	buckets                   []uint64
	exemplars                 []stats.Exemplar
}

// Collect reads the source and sends the metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	if snap := c.src.Snapshot(); snap != nil {
		c.collectStats(ch, snap)
	}
	for class, n := range c.src.UserCounts() {
		ch <- prometheus.MustNewConstMetric(descUsers, prometheus.GaugeValue, float64(n), class)
	}
	for state, n := range c.src.WorkerStates() {
		ch <- prometheus.MustNewConstMetric(descWorkers, prometheus.GaugeValue, float64(n), state)
	}
	seen := map[string]bool{}
	for _, r := range c.src.Thresholds() {
		label := r.Expr
		if len(label) > maxLabelLen {
			label = label[:maxLabelLen]
		}
		if seen[label] {
			continue
		}
		seen[label] = true
		passed := 0.0
		if r.Passed {
			passed = 1
		}
		ch <- prometheus.MustNewConstMetric(descThPassed, prometheus.GaugeValue, passed, label)
		if !r.Missing {
			v := r.Measured
			if r.Kind == threshold.Duration {
				v /= float64(time.Second)
			}
			ch <- prometheus.MustNewConstMetric(descThValue, prometheus.GaugeValue, v, label)
		}
	}
}

func (c *Collector) collectStats(ch chan<- prometheus.Metric, snap *stats.Snapshot) {
	c.mu.Lock()
	out := make([]*series, 0, len(snap.Entries))
	index := map[[2]string]*series{}
	live := make(map[*hdrhistogram.Histogram]cached, len(snap.Entries))
	for i, e := range snap.Entries {
		method, name := e.Method, e.Name
		if i >= c.max {
			method, name = "", OtherName
		}
		s := index[[2]string{method, name}]
		if s == nil {
			s = &series{method: method, name: name, buckets: make([]uint64, len(c.bounds))}
			index[[2]string{method, name}] = s
			out = append(out, s)
		}
		s.requests += e.NumRequests
		s.failures += e.NumFailures
		s.bytes += e.TotalBytes
		s.sum += e.TotalTime.Seconds()
		s.exemplars = append(s.exemplars, e.Exemplars...)
		if e.Hist != nil && e.Hist.TotalCount() > 0 {
			cv := c.convert(e.Hist)
			live[e.Hist] = cv
			s.count += uint64(cv.total)
			for k, n := range cv.buckets {
				s.buckets[k] += n
			}
		}
	}
	c.cache = live
	c.mu.Unlock()

	for _, s := range out {
		ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(s.requests), s.method, s.name)
		ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, float64(s.failures), s.method, s.name)
		ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(s.bytes), s.method, s.name)
		b := make(map[float64]uint64, len(c.bounds))
		for k, bound := range c.bounds {
			b[bound] = s.buckets[k]
		}
		ch <- withExemplars(prometheus.MustNewConstHistogram(descTime, s.count, s.sum, b, s.method, s.name), s.exemplars)
	}
	var exc int64
	for _, x := range snap.Exceptions {
		exc += x.Count
	}
	ch <- prometheus.MustNewConstMetric(descExceptions, prometheus.CounterValue, float64(exc))
	if snap.Lag != nil && snap.Lag.TotalCount() > 0 {
		for _, q := range []float64{50, 99} {
			v := float64(snap.Lag.ValueAtQuantile(q)) / 1e6 // microseconds
			ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, v, quantileLabel(q))
		}
	}
	if t := snap.Total; t != nil && t.CorrectedHist != nil && t.CorrectedHist.TotalCount() > 0 {
		for _, q := range []float64{50, 99} {
			v := float64(t.CorrectedHist.ValueAtQuantile(q)) / 1e6
			ch <- prometheus.MustNewConstMetric(descLagCorr, prometheus.GaugeValue, v, quantileLabel(q))
		}
	}
	ended := map[string]int64{}
	for reason, n := range snap.EndedUsers {
		if len(reason) > maxLabelLen {
			reason = reason[:maxLabelLen]
		}
		ended[reason] += n
	}
	for reason, n := range ended {
		ch <- prometheus.MustNewConstMetric(descEnded, prometheus.CounterValue, float64(n), reason)
	}
}

// withExemplars attaches the slowest traced requests to the histogram's
// buckets (OpenMetrics exemplars: trace_id and span_id labels, the
// response time in seconds, when it was recorded). A bucket shows one
// exemplar, its slowest: they are added fastest first, and a later one
// replaces an earlier one in the same bucket.
func withExemplars(m prometheus.Metric, xs []stats.Exemplar) prometheus.Metric {
	if len(xs) == 0 {
		return m
	}
	sort.SliceStable(xs, func(i, j int) bool { return xs[i].Duration < xs[j].Duration })
	exs := make([]prometheus.Exemplar, len(xs))
	for i, x := range xs {
		exs[i] = prometheus.Exemplar{
			Value:     x.Duration.Seconds(),
			Labels:    prometheus.Labels{"trace_id": x.TraceID.String(), "span_id": x.SpanID.String()},
			Timestamp: x.Time,
		}
	}
	wm, err := prometheus.NewMetricWithExemplars(m, exs...)
	if err != nil {
		return m // cannot happen with these labels; the histogram is still worth sending
	}
	return wm
}

func quantileLabel(q float64) string {
	if q == 50 {
		return "0.5"
	}
	return "0.99"
}

// convert returns the cumulative bucket counts of h (in microseconds) at
// c.bounds (in seconds), reusing the previous scrape's result when h is
// the same, unchanged histogram. Called with c.mu held.
func (c *Collector) convert(h *hdrhistogram.Histogram) cached {
	if cv, ok := c.cache[h]; ok && cv.total == h.TotalCount() {
		return cv
	}
	snap := h.Export()
	g := newGeometry(snap.LowestTrackableValue, snap.SignificantFigures)
	cv := cached{total: h.TotalCount(), buckets: make([]uint64, len(c.bounds))}
	// walk the counts in value order; each bound gets the running total of
	// the values whose equivalence range starts at or below it.
	var run uint64
	k := 0
	limits := make([]int64, len(c.bounds))
	for i, b := range c.bounds {
		limits[i] = int64(math.Floor(b*1e6 + 1e-6)) // seconds -> µs
	}
	for idx, n := range snap.Counts {
		if n == 0 {
			continue
		}
		v := g.valueAt(idx)
		for k < len(limits) && v > limits[k] {
			cv.buckets[k] = run
			k++
		}
		run += uint64(n)
	}
	for ; k < len(limits); k++ {
		cv.buckets[k] = run
	}
	return cv
}

// geometry maps a flat counts index of an HdrHistogram to the lowest value
// of its equivalence range (hdrhistogram-go's layout).
type geometry struct {
	unitMag, halfMag int
}

func newGeometry(lowest, digits int64) geometry {
	if lowest < 1 {
		lowest = 1
	}
	unitMag := bits.Len64(uint64(lowest)) - 1
	largest := 2 * math.Pow10(int(digits))
	subMag := int(math.Ceil(math.Log2(largest)))
	halfMag := subMag - 1
	if halfMag < 0 {
		halfMag = 0
	}
	return geometry{unitMag: unitMag, halfMag: halfMag}
}

func (g geometry) valueAt(idx int) int64 {
	half := 1 << g.halfMag
	bucket := idx>>g.halfMag - 1
	sub := idx&(half-1) + half
	if bucket < 0 {
		sub -= half
		bucket = 0
	}
	return int64(sub) << uint(bucket+g.unitMag)
}

// Handler serves the Collector over src, plus the Go runtime and process
// metrics, from a private registry.
func Handler(src Source) http.Handler { return HandlerWith(src, Options{}) }

// HandlerWith is Handler with options.
func HandlerWith(src Source, o Options) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(src, o))
	reg.MustRegister(collectors.NewGoCollector())
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// OpenMetrics, when the scraper asks for it, carries the exemplars.
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, EnableOpenMetrics: true})
}
