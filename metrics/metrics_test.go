package metrics

import (
	"bytes"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/threshold"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const weirdName = "<img src=x onerror=alert(1)> \"quoted\"\nnew line\\"

// record fills a registry and returns the samples per (method, name).
func record(t *testing.T, r *stats.Registry) map[[2]string][]time.Duration {
	t.Helper()
	rnd := rand.New(rand.NewPCG(3, 4))
	out := map[[2]string][]time.Duration{}
	add := func(method, name string, d time.Duration, err error) {
		r.Record(stats.Sample{Method: method, Name: name, Duration: d, Size: 100, Err: err})
		out[[2]string{method, name}] = append(out[[2]string{method, name}], d)
	}
	for i := range 2000 {
		var err error
		if i%100 == 0 {
			err = errors.New("boom")
		}
		// 0.2 ms .. 3 s, log-uniform, on whole microseconds
		us := int64(math.Exp(math.Log(200) + rnd.Float64()*(math.Log(3e6)-math.Log(200))))
		add("GET", "/item", time.Duration(us)*time.Microsecond, err)
	}
	for i := range 300 {
		add("POST", "/cart", time.Duration(40+i)*time.Millisecond, nil)
	}
	for range 7 {
		add("GET", weirdName, 2*time.Millisecond, errors.New("bad"))
	}
	return out
}

func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/plain")
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	require.NoError(t, err, string(body))
	return fams
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func byLabels(t *testing.T, fams map[string]*dto.MetricFamily, name string) map[[2]string]*dto.Metric {
	t.Helper()
	f := fams[name]
	require.NotNil(t, f, name)
	out := map[[2]string]*dto.Metric{}
	for _, m := range f.GetMetric() {
		l := labels(m)
		out[[2]string{l["method"], l["name"]}] = m
	}
	return out
}

func TestScrapeEqualsStats(t *testing.T) {
	reg := stats.NewRegistry(stats.Options{})
	samples := record(t, reg)
	reg.RecordException("panic: x", "stack")
	reg.RecordException("panic: x", "stack")
	snap := reg.Snapshot()
	ths := threshold.Evaluate([]threshold.Threshold{
		threshold.MustParse("p95<5s"), threshold.MustParse("GET /item:max<1s"), threshold.MustParse("p95<5s"),
		threshold.MustParse("GET /nope:p95<1s"),
	}, snap)
	src := Funcs{
		SnapshotFunc:     func() *stats.Snapshot { return snap },
		UserCountsFunc:   func() map[string]int { return map[string]int{"Shopper": 7, "Admin": 1} },
		WorkerStatesFunc: func() map[string]int { return map[string]int{"running": 2, "missing": 1} },
		ThresholdsFunc:   func() []threshold.Result { return ths },
	}
	fams := scrape(t, Handler(src))

	reqs := byLabels(t, fams, "locust_requests_total")
	fails := byLabels(t, fams, "locust_failures_total")
	sizes := byLabels(t, fams, "locust_response_bytes_total")
	hist := byLabels(t, fams, "locust_response_time_seconds")
	assert.Equal(t, dto.MetricType_COUNTER, fams["locust_requests_total"].GetType())
	assert.Equal(t, dto.MetricType_HISTOGRAM, fams["locust_response_time_seconds"].GetType())
	require.Len(t, reqs, len(snap.Entries), "no Aggregated series")
	for _, e := range snap.Entries {
		k := [2]string{e.Method, e.Name}
		require.Contains(t, reqs, k, "%q", e.Name)
		assert.InDelta(t, float64(e.NumRequests), reqs[k].GetCounter().GetValue(), 0, e.Name)
		assert.InDelta(t, float64(e.NumFailures), fails[k].GetCounter().GetValue(), 0, e.Name)
		assert.InDelta(t, float64(e.TotalBytes), sizes[k].GetCounter().GetValue(), 0, e.Name)

		h := hist[k].GetHistogram()
		assert.Equal(t, uint64(e.NumRequests), h.GetSampleCount())
		assert.InDelta(t, e.TotalTime.Seconds(), h.GetSampleSum(), 1e-6)
		require.Len(t, h.GetBucket(), len(DefaultBuckets)+1)
		inf := h.GetBucket()[len(DefaultBuckets)]
		assert.True(t, math.IsInf(inf.GetUpperBound(), 1))
		assert.Equal(t, uint64(e.NumRequests), inf.GetCumulativeCount())
		for i, b := range h.GetBucket()[:len(DefaultBuckets)] {
			assert.InDelta(t, DefaultBuckets[i], b.GetUpperBound(), 1e-12)
			// expected: the samples at or below the bound; HDR keeps 3
			// significant digits, so a sample just above a bound (within
			// 0.1 %) may count in it.
			lo, hi := 0, 0
			for _, d := range samples[k] {
				s := d.Seconds()
				if s <= b.GetUpperBound() {
					lo++
				}
				if s <= b.GetUpperBound()*1.001 {
					hi++
				}
			}
			got := int(b.GetCumulativeCount())
			assert.True(t, got >= lo && got <= hi, "%s le=%v: %d not in [%d, %d]", e.Name, b.GetUpperBound(), got, lo, hi)
		}
	}
	var total float64
	for _, m := range reqs {
		total += m.GetCounter().GetValue()
	}
	assert.InDelta(t, float64(snap.Total.NumRequests), total, 0, "the series add up to the Aggregated row")
	assert.InDelta(t, 2, fams["locust_exceptions_total"].GetMetric()[0].GetCounter().GetValue(), 0)

	gauge := func(fam, label string) map[string]float64 {
		out := map[string]float64{}
		require.NotNil(t, fams[fam], fam)
		for _, m := range fams[fam].GetMetric() {
			out[labels(m)[label]] = m.GetGauge().GetValue()
		}
		return out
	}
	assert.Equal(t, map[string]float64{"Shopper": 7, "Admin": 1}, gauge("locust_users", "class"))
	assert.Equal(t, map[string]float64{"running": 2, "missing": 1}, gauge("locust_workers", "state"))
	assert.Equal(t, map[string]float64{"p95<5s": 1, "GET /item:max<1s": 0, "GET /nope:p95<1s": 0},
		gauge("locust_threshold_passed", "threshold"), "duplicates are exported once")
	vals := gauge("locust_threshold_value", "threshold")
	assert.InDelta(t, snap.Total.Percentile(0.95).Seconds(), vals["p95<5s"], 1e-9)
	assert.NotContains(t, vals, "GET /nope:p95<1s", "missing values are not exported")

	// the Go and process collectors are there too
	assert.Contains(t, fams, "go_goroutines")
}

func TestSeriesCap(t *testing.T) {
	reg := stats.NewRegistry(stats.Options{})
	for i, name := range []string{"/a", "/b", "/c", "/d"} {
		for range i + 1 {
			reg.Record(stats.Sample{Method: "GET", Name: name, Duration: time.Duration(i+1) * time.Millisecond})
		}
	}
	snap := reg.Snapshot()
	fams := scrape(t, HandlerWith(Funcs{SnapshotFunc: func() *stats.Snapshot { return snap }}, Options{MaxSeries: 2}))
	reqs := byLabels(t, fams, "locust_requests_total")
	require.Len(t, reqs, 3)
	assert.InDelta(t, 1, reqs[[2]string{"GET", "/a"}].GetCounter().GetValue(), 0)
	assert.InDelta(t, 2, reqs[[2]string{"GET", "/b"}].GetCounter().GetValue(), 0)
	assert.InDelta(t, 7, reqs[[2]string{"", OtherName}].GetCounter().GetValue(), 0)
	h := byLabels(t, fams, "locust_response_time_seconds")[[2]string{"", OtherName}].GetHistogram()
	assert.Equal(t, uint64(7), h.GetSampleCount())
	for _, b := range h.GetBucket() {
		switch b.GetUpperBound() {
		case 0.0025:
			assert.Equal(t, uint64(0), b.GetCumulativeCount())
		case 0.005:
			assert.Equal(t, uint64(7), b.GetCumulativeCount())
		}
	}
}

func TestEmptySource(t *testing.T) {
	fams := scrape(t, Handler(Funcs{}))
	assert.NotContains(t, fams, "locust_requests_total")
	assert.NotContains(t, fams, "locust_users")
	// an empty registry: no series, exceptions 0
	reg := stats.NewRegistry(stats.Options{})
	fams = scrape(t, Handler(Funcs{SnapshotFunc: reg.Snapshot}))
	assert.NotContains(t, fams, "locust_requests_total")
	assert.InDelta(t, 0, fams["locust_exceptions_total"].GetMetric()[0].GetCounter().GetValue(), 0)
}

// TestConvertMatchesDistribution checks the index arithmetic against
// hdrhistogram's own iteration, for several geometries.
func TestConvertMatchesDistribution(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	bounds := []float64{0.000001, 0.00005, 0.001, 0.0021, 0.01, 0.1, 0.5, 1, 10, 100, 3600}
	for _, g := range []struct {
		lowest, highest int64
		digits          int
	}{{1, 3_600_000_000, 3}, {1, 1_000_000, 2}, {1, 100_000_000, 4}, {1000, 3_600_000_000, 3}} {
		h := hdrhistogram.New(g.lowest, g.highest, g.digits)
		for range 5000 {
			v := int64(math.Exp(rnd.Float64() * math.Log(float64(g.highest))))
			require.NoError(t, h.RecordValue(v))
		}
		c := NewCollector(Funcs{}, Options{Buckets: bounds})
		got := c.convert(h)
		require.Equal(t, h.TotalCount(), got.total)
		for k, b := range bounds {
			limit := int64(math.Floor(b*1e6 + 1e-6))
			var want uint64
			for _, bar := range h.Distribution() {
				if bar.Count > 0 && bar.From <= limit {
					want += uint64(bar.Count)
				}
			}
			assert.Equal(t, want, got.buckets[k], "geometry %+v, bound %v", g, b)
		}
	}
}

func TestConvertCache(t *testing.T) {
	reg := stats.NewRegistry(stats.Options{})
	reg.Record(stats.Sample{Method: "GET", Name: "/", Duration: 3 * time.Millisecond})
	snap := reg.Snapshot()
	c := NewCollector(Funcs{SnapshotFunc: func() *stats.Snapshot { return snap }}, Options{})
	r := prometheus.NewRegistry()
	r.MustRegister(c)
	_, err := r.Gather()
	require.NoError(t, err)
	require.Len(t, c.cache, 1)
	first := c.cache[snap.Entries[0].Hist]
	_, err = r.Gather()
	require.NoError(t, err)
	second := c.cache[snap.Entries[0].Hist]
	assert.Same(t, &first.buckets[0], &second.buckets[0], "an unchanged histogram is not converted again")
}

func BenchmarkCollect(b *testing.B) {
	reg := stats.NewRegistry(stats.Options{})
	rnd := rand.New(rand.NewPCG(1, 1))
	for i := range 50 {
		for range 200 {
			reg.Record(stats.Sample{Method: "GET", Name: "/n" + string(rune('a'+i%26)) + string(rune('a'+i/26)),
				Duration: time.Duration(rnd.IntN(2_000_000)) * time.Microsecond})
		}
	}
	snap := reg.Snapshot()
	r := prometheus.NewRegistry()
	c := NewCollector(Funcs{SnapshotFunc: func() *stats.Snapshot { return snap }}, Options{})
	r.MustRegister(c)
	b.ReportAllocs()
	for b.Loop() {
		c.mu.Lock()
		c.cache = map[*hdrhistogram.Histogram]cached{} // measure the conversion, not the cache
		c.mu.Unlock()
		if _, err := r.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrentScrapes gathers from several goroutines while requests
// are recorded (run with -race).
func TestConcurrentScrapes(t *testing.T) {
	reg := stats.NewRegistry(stats.Options{})
	r := prometheus.NewRegistry()
	r.MustRegister(NewCollector(Funcs{SnapshotFunc: reg.Snapshot}, Options{}))
	done := make(chan struct{})
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				if _, err := r.Gather(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range 3000 {
		reg.Record(stats.Sample{Method: "GET", Name: "/" + string(rune('a'+i%5)), Duration: time.Duration(i) * time.Microsecond})
	}
	close(done)
	for range 3 {
		require.NoError(t, <-errs)
	}
	fams, err := r.Gather()
	require.NoError(t, err)
	var total float64
	for _, f := range fams {
		if f.GetName() == "locust_requests_total" {
			for _, m := range f.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	assert.InDelta(t, 3000, total, 0)
}

func TestScrapeShowsGeneratorLagAndEndedUsers(t *testing.T) {
	reg := stats.NewRegistry(stats.Options{})
	for i := range 100 {
		reg.RecordLag(time.Duration(i+1) * 100 * time.Microsecond) // 0.1 .. 10 ms
		reg.Record(stats.Sample{Method: "GET", Name: "/", Duration: time.Millisecond, Corrected: time.Millisecond + time.Duration(i+1)*100*time.Microsecond})
	}
	reg.RecordUserEnd("A: OnStart returned user.ErrStopUser")
	fams := scrape(t, Handler(Funcs{SnapshotFunc: reg.Snapshot}))
	lag := map[string]float64{}
	for _, m := range fams["locust_generator_lag_seconds"].GetMetric() {
		lag[labels(m)["quantile"]] = m.GetGauge().GetValue()
	}
	assert.InDelta(t, 0.005, lag["0.5"], 0.0001)
	assert.InDelta(t, 0.0099, lag["0.99"], 0.0001)
	corr := fams["locust_corrected_response_time_seconds"].GetMetric()
	require.Len(t, corr, 2)
	ended := fams["locust_users_ended_early_total"].GetMetric()
	require.Len(t, ended, 1)
	assert.Equal(t, "A: OnStart returned user.ErrStopUser", labels(ended[0])["reason"])
	assert.InDelta(t, 1, ended[0].GetCounter().GetValue(), 0)
}
