package threshold

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/internal/timespan"
	"github.com/golocust/golocust/stats"
)

func TestParseGood(t *testing.T) {
	ms := float64(time.Millisecond)
	cases := []struct {
		expr   string
		target string
		metric string
		q      float64
		op     Op
		bound  float64
		kind   Kind
		unit   string
	}{
		{"p95<300ms", "", "p95", 0.95, Less, 300 * ms, Duration, "ms"},
		{"  p99.9 < 1s ", "", "p99.9", 0.999, Less, 1000 * ms, Duration, "s"},
		{"P99.99<=2.5s", "", "p99.99", 0.9999, LessEq, 2500 * ms, Duration, "s"},
		{"p100<1m", "", "p100", 1, Less, 60000 * ms, Duration, "m"},
		{"avg<100ms", "", "avg", 0, Less, 100 * ms, Duration, "ms"},
		{"max<2s", "", "max", 0, Less, 2000 * ms, Duration, "s"},
		{"min>=10us", "", "min", 0, GreaterEq, 0.01 * ms, Duration, "us"},
		{"min>500µs", "", "min", 0, Greater, 0.5 * ms, Duration, "µs"},
		{"min>500μs", "", "min", 0, Greater, 0.5 * ms, Duration, "µs"},
		{"median<50ns", "", "median", 0.5, Less, 50, Duration, "ns"},
		{"fail_ratio<0.01", "", "fail_ratio", 0, Less, 0.01, Ratio, ""},
		{"fail_ratio<=1%", "", "fail_ratio", 0, LessEq, 0.01, Ratio, "%"},
		{"rps>500", "", "rps", 0, Greater, 500, Rate, ""},
		{"rps>=12.5/s", "", "rps", 0, GreaterEq, 12.5, Rate, "/s"},
		{"failures<10", "", "failures", 0, Less, 10, Count, ""},
		{"requests>1e3", "", "requests", 0, Greater, 1000, Count, ""},
		{"dropped_iterations<1", "", "dropped_iterations", 0, Less, 1, Count, ""},
		{"corrected_p99<1s", "", "corrected_p99", 0.99, Less, 1000 * ms, Duration, "s"},
		{"GET /item:p99<500ms", "GET /item", "p99", 0.99, Less, 500 * ms, Duration, "ms"},
		{"/item:fail_ratio<0.5", "/item", "fail_ratio", 0, Less, 0.5, Ratio, ""},
		{"GET http://h:8080/a:b: p95 < 1s", "GET http://h:8080/a:b", "p95", 0.95, Less, 1000 * ms, Duration, "s"},
		{"/search?q=<x>:max<1s", "/search?q=<x>", "max", 0, Less, 1000 * ms, Duration, "s"},
		{"Aggregated:requests>=1", "Aggregated", "requests", 0, GreaterEq, 1, Count, ""},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			th, err := Parse(c.expr)
			require.NoError(t, err)
			assert.Equal(t, strings.TrimSpace(c.expr), th.Expr)
			assert.Equal(t, c.target, th.Target)
			assert.Equal(t, c.metric, th.Metric)
			assert.InDelta(t, c.q, th.Quantile, 1e-12)
			assert.Equal(t, c.op, th.Op)
			assert.InDelta(t, c.bound, th.Bound, 1e-6)
			assert.Equal(t, c.kind, th.Kind)
			assert.Equal(t, c.unit, th.Unit)
		})
	}
}

func TestParseBad(t *testing.T) {
	cases := []struct {
		expr string
		want string // part of the message
	}{
		{"", "empty"},
		{"   ", "empty"},
		{"p95", "no comparison operator"},
		{"p95=300ms", "no comparison operator"},
		{"<300ms", "missing metric"},
		{"p95<", "missing bound"},
		{"p95<300", "needs a time unit"},
		{"p95<300 parsecs", "unknown time unit"},
		{"p95<fast", "not a number"},
		{"p95<-1ms", "negative"},
		{"p95<1e308s", "longer than the largest accepted span, 8760h (365 days)"},
		{"p95<8761h", "longer than the largest accepted span"},
		{"p95<NaNms", "not a number"},
		{"p95<Infms", "not a number"},
		{"p0<1s", "(0, 100]"},
		{"p101<1s", "(0, 100]"},
		{"p9.9.9<1s", "(0, 100]"},
		{"pfoo<1s", "unknown metric"},
		{"p<1s", "unknown metric"},
		{"latency<1s", "unknown metric"},
		{"fail_ratio<2", "fraction"},
		{"fail_ratio<150%", "above 100%"},
		{"fail_ratio<1ms", "plain fraction"},
		{"rps>5ms", "per second"},
		{"failures<10s", "count"},
		{":p95<1s", "empty request name"},
		{"GET /a:<1s", "missing metric"},
		{"GET /a:dropped_iterations<1", "whole-run metric"},
		{"p95<<1s", "unknown metric"},
		{"p95>=<1s", "unknown metric"},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			_, err := Parse(c.expr)
			require.Error(t, err)
			var pe *ParseError
			require.True(t, errors.As(err, &pe))
			assert.Equal(t, c.expr, pe.Expr)
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), "examples: p95<300ms")
			assert.Contains(t, err.Error(), strconv.Quote(c.expr))
		})
	}
}

func TestListFlag(t *testing.T) {
	var l List
	require.NoError(t, l.Set("p95<1s"))
	require.NoError(t, l.Set("GET /a:fail_ratio<1%"))
	require.Error(t, l.Set("nope"))
	assert.Len(t, l, 2)
	assert.Equal(t, "p95<1s, GET /a:fail_ratio<1%", l.String())
	ths, err := ParseAll([]string{"p95<1s", "bad"})
	assert.Nil(t, ths)
	assert.ErrorContains(t, err, `"bad"`)
	assert.Panics(t, func() { MustParse("x") })
}

// fixed clock for registries.
func clock(start time.Time) (func() time.Time, func(time.Duration)) {
	now := start
	return func() time.Time { return now }, func(d time.Duration) { now = now.Add(d) }
}

func sampleSnapshot(t *testing.T) *stats.Snapshot {
	t.Helper()
	now, advance := clock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	r := stats.NewRegistry(stats.Options{Now: now})
	// GET /item: 1..100 ms, 2 failures; POST /item: 200 ms x 10; GET /x:y: 5 ms
	for i := 1; i <= 100; i++ {
		var err error
		if i%50 == 0 {
			err = errors.New("boom")
		}
		r.Record(stats.Sample{Method: "GET", Name: "/item", Duration: time.Duration(i) * time.Millisecond, Size: 10, Err: err})
		advance(100 * time.Millisecond)
	}
	for range 10 {
		r.Record(stats.Sample{Method: "POST", Name: "/item", Duration: 200 * time.Millisecond})
	}
	r.Record(stats.Sample{Method: "GET", Name: "/x:y", Duration: 5 * time.Millisecond})
	return r.Snapshot()
}

func TestEvaluate(t *testing.T) {
	snap := sampleSnapshot(t)
	require.EqualValues(t, 111, snap.Total.NumRequests)
	span := snap.LastRequest.Sub(snap.Start).Seconds()
	require.Greater(t, span, 0.0)
	cases := []struct {
		expr     string
		passed   bool
		missing  bool
		measured float64
	}{
		{"GET /item:p95<100ms", true, false, -1},
		{"GET /item:p95<95ms", false, false, -1},
		{"GET /item:p95<=96.1ms", true, false, -1},
		{"GET /item:max<100ms", false, false, 100e6},
		{"GET /item:min>=1ms", true, false, 1e6},
		{"GET /item:avg<50ms", false, false, 50.5e6},
		{"GET /item:median<=51.1ms", true, false, -1},
		{"GET /item:fail_ratio<0.02", false, false, 0.02},
		{"GET /item:fail_ratio<=2%", true, false, 0.02},
		{"GET /item:failures<3", true, false, 2},
		{"GET /item:requests>=100", true, false, 100},
		{"POST /item:p50<200ms", false, false, 200e6},
		// name without method: GET and POST /item merged exactly
		{"/item:requests>109", true, false, 110},
		{"/item:max<=200ms", true, false, 200e6},
		{"/item:p95<100ms", false, false, 200e6},
		{"/item:p90<=101ms", true, false, -1},
		{"/item:min<2ms", true, false, 1e6},
		// names with colons
		{"GET /x:y:max<6ms", true, false, 5e6},
		{"/x:y:requests<2", true, false, 1},
		// aggregate
		{"requests>110", true, false, 111},
		{"failures<=1", false, false, 2},
		{"max<1s", true, false, 200e6},
		{"Aggregated:failures<3", true, false, 2},
		{"rps>0", true, false, 111 / span},
		// missing
		{"GET /nope:p95<1s", false, true, 0},
		{"DELETE /item:p95<1s", false, true, 0},
		{"GET /nope:requests<1", false, true, 0},
		{"corrected_p99<1s", false, true, 0},
		{"dropped_iterations<1", false, true, 0},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			r := MustParse(c.expr).Evaluate(snap, nil)
			assert.Equal(t, c.passed, r.Passed, r.String())
			assert.Equal(t, c.missing, r.Missing, r.String())
			if c.missing {
				assert.NotEmpty(t, r.Message)
				assert.Contains(t, r.String(), "FAILED")
				return
			}
			want := c.measured
			if want < 0 { // a percentile that depends on the stats' rank rule: read it back
				e := Lookup(snap, r.Target)
				require.NotNil(t, e)
				want = float64(e.Percentile(r.Quantile))
			}
			// HDR keeps 3 significant digits: allow 0.1 %.
			assert.InDelta(t, want, r.Measured, math.Abs(want)*0.001+1e-9, r.String())
		})
	}
}

func TestEvaluateExtraAndEmpty(t *testing.T) {
	ths := []Threshold{MustParse("dropped_iterations<1"), MustParse("p95<1s"), MustParse("requests<1"), MustParse("fail_ratio<0.1")}
	empty := stats.NewRegistry(stats.Options{}).Snapshot()
	rs := EvaluateWith(ths, empty, map[string]float64{"dropped_iterations": 0})
	require.Len(t, rs, 4)
	assert.True(t, rs[0].Passed)
	assert.True(t, rs[1].Missing, "a time metric over no requests cannot pass")
	assert.Contains(t, rs[1].Message, "no requests were recorded")
	assert.True(t, rs[2].Passed, "a count over no requests is 0")
	assert.True(t, rs[3].Missing)
	assert.False(t, AllPassed(rs))
	assert.Len(t, Failed(rs), 2)

	rs = EvaluateWith(ths[:1], empty, map[string]float64{"dropped_iterations": 3})
	assert.False(t, rs[0].Passed)
	assert.Equal(t, "3", rs[0].MeasuredText())

	rs = Evaluate(ths[1:2], nil)
	assert.True(t, rs[0].Missing)
	assert.True(t, AllPassed(nil))
}

func TestCorrected(t *testing.T) {
	r := stats.NewRegistry(stats.Options{})
	for i := 1; i <= 100; i++ {
		r.Record(stats.Sample{Method: "GET", Name: "/", Duration: time.Millisecond, Corrected: time.Duration(i) * 10 * time.Millisecond})
	}
	snap := r.Snapshot()
	res := Evaluate([]Threshold{MustParse("corrected_p99<500ms"), MustParse("p99<500ms")}, snap)
	assert.False(t, res[0].Passed)
	assert.InDelta(t, float64(snap.Total.CorrectedPercentile(0.99)), res[0].Measured, 0)
	assert.InDelta(t, 990e6, res[0].Measured, 10e6+990e3, "the 99th or 100th value")
	assert.True(t, res[1].Passed)
}

func TestAbortBreaches(t *testing.T) {
	snap := sampleSnapshot(t)
	ths, err := ParseAll([]string{"requests>1000", "failures>=5", "failures<1", "max<1ms", "p95<1s", "GET /nope:p95<1s"})
	require.NoError(t, err)
	rs := Evaluate(ths, snap)
	var got []string
	for _, r := range AbortBreaches(rs) {
		got = append(got, r.Expr)
	}
	assert.Equal(t, []string{"failures<1", "max<1ms"}, got)
}

func TestResultTextAndJSON(t *testing.T) {
	snap := sampleSnapshot(t)
	rs := Evaluate([]Threshold{MustParse("GET /item:max<0.09s"), MustParse("fail_ratio<5%"), MustParse("GET /zz:avg<1ms")}, snap)
	assert.Equal(t, "0.1s", rs[0].MeasuredText())
	assert.Equal(t, "0.09s", rs[0].BoundText())
	assert.Equal(t, `GET /item:max<0.09s: max of "GET /item" = 0.1s, FAILED (must be < 0.09s)`, rs[0].String())
	assert.Equal(t, "1.8%", rs[1].MeasuredText())
	assert.Equal(t, `fail_ratio<5%: fail_ratio = 1.8%, passed`, rs[1].String())

	b, err := json.Marshal(rs)
	require.NoError(t, err)
	var got []map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	require.Len(t, got, 3)
	assert.Equal(t, "ms", got[0]["unit"])
	assert.InDelta(t, 90, got[0]["bound"], 1e-9)
	assert.InDelta(t, 100, got[0]["measured"], 1e-9)
	assert.Equal(t, false, got[0]["passed"])
	assert.Equal(t, "ratio", got[1]["unit"])
	assert.Equal(t, true, got[1]["passed"])
	assert.Equal(t, true, got[2]["missing"])
	assert.Contains(t, got[2]["message"], `no requests named "GET /zz"`)
}

func TestWriteSummary(t *testing.T) {
	snap := sampleSnapshot(t)
	rs := Evaluate([]Threshold{MustParse("p95<1s"), MustParse("GET /item:max<50ms"), MustParse("x\x1b[2J:p95<1s")}, snap)
	var b strings.Builder
	require.NoError(t, WriteSummary(&b, rs))
	out := b.String()
	assert.Contains(t, out, "Thresholds:\n")
	assert.Contains(t, out, "  PASS  p95<1s")
	assert.Contains(t, out, `FAIL  GET /item:max<50ms`)
	assert.Contains(t, out, `max of "GET /item" = 100ms (must be < 50ms)`)
	assert.Contains(t, out, `not measured: no requests named`)
	assert.NotContains(t, out, "\x1b", "control characters are escaped")
	assert.True(t, strings.HasSuffix(out, "1 of 3 thresholds held, 2 breached\n"), out)

	b.Reset()
	require.NoError(t, WriteSummary(&b, nil))
	assert.Empty(t, b.String())
}

// TestDistributedMergedPercentile: two workers with very different latency
// spreads send deltas to a master; the threshold must judge the true p95 of
// all samples, not the average of the workers' p95s.
func TestDistributedMergedPercentile(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	workerA := stats.NewRegistry(stats.Options{})
	workerB := stats.NewRegistry(stats.Options{})
	master := stats.NewRegistry(stats.Options{})
	var all []time.Duration
	record := func(r *stats.Registry, d time.Duration) {
		r.Record(stats.Sample{Method: "GET", Name: "/item", Duration: d})
		all = append(all, d)
	}
	for range 3 { // three report intervals
		for range 3000 { // fast worker: 1..50 ms
			record(workerA, time.Duration(1000+rnd.IntN(49000))*time.Microsecond)
		}
		for range 400 { // slow worker: 300..900 ms
			record(workerB, time.Duration(300000+rnd.IntN(600000))*time.Microsecond)
		}
		master.Merge(workerA.TakeDelta())
		master.Merge(workerB.TakeDelta())
	}
	slices.Sort(all)
	n := len(all)
	// the true p95 is the sample at rank 0.95n; rank rules differ by one
	// sample, so accept the neighbours, widened by HDR's 0.1 %.
	rank := int(math.Ceil(0.95*float64(n))) - 1
	truth := all[rank]
	lo, hi := float64(all[rank-1])*0.999, float64(all[rank+1])*1.001

	// what a per-worker evaluation (k6-style) would see
	pA := float64(0)
	pB := float64(0)
	{
		a := stats.NewRegistry(stats.Options{})
		b := stats.NewRegistry(stats.Options{})
		for _, d := range all {
			if d < 300*time.Millisecond {
				a.Record(stats.Sample{Method: "GET", Name: "/item", Duration: d})
			} else {
				b.Record(stats.Sample{Method: "GET", Name: "/item", Duration: d})
			}
		}
		pA = float64(a.Snapshot().Total.Percentile(0.95))
		pB = float64(b.Snapshot().Total.Percentile(0.95))
	}

	snap := master.Snapshot()
	require.EqualValues(t, n, snap.Total.NumRequests)
	for _, expr := range []string{"p95<1s", "GET /item:p95<1s", "/item:p95<1s"} {
		r := MustParse(expr).Evaluate(snap, nil)
		assert.True(t, r.Measured >= lo && r.Measured <= hi, "%s: merged p95 %v, truth %v", expr, time.Duration(r.Measured), truth)
		assert.Greater(t, math.Abs(r.Measured-(pA+pB)/2), float64(100*time.Millisecond), "not an average of per-worker p95s")
	}
	// A bound between the averaged p95 and the true one: only the exact
	// merge catches the breach.
	bound := time.Duration((pA+pB)/2+float64(truth)) / 2
	th := MustParse("p95<" + bound.String())
	assert.Less(t, (pA+pB)/2, th.Bound)
	assert.False(t, th.Evaluate(snap, nil).Passed)
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"p95<300ms", "p99.9<1s", "GET /item:p99<500ms", "fail_ratio<1%", "rps>=5/s",
		"a:b:c:requests>1", "", "<", ">=", "p95<1e3s", "p1e2<1s", "corrected_p50<1ms", "x:dropped_iterations<1",
		"p95<baseline*1.10", "rps>baseline*0.95", "GET /item:p99<=baseline*110%", "fail_ratio<baseline", "avg<baseline*", "p95<baselinex",
		"dropped_iterations<baseline*2", "p95<BASELINE * 1e3", "max<baseline*-1"} {
		f.Add(s)
	}
	snap := stats.NewRegistry(stats.Options{}).Snapshot()
	reg := stats.NewRegistry(stats.Options{})
	reg.Record(stats.Sample{Method: "GET", Name: "/item", Duration: 120 * time.Millisecond, Corrected: 300 * time.Millisecond, Size: 10})
	reg.Record(stats.Sample{Method: "GET", Name: "/item", Duration: 3 * time.Millisecond, Err: errors.New("503")})
	full := reg.Snapshot()
	extra := map[string]float64{"dropped_iterations": 7}
	f.Fuzz(func(t *testing.T, s string) {
		th, err := Parse(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Expr != s || pe.Msg == "" {
				t.Fatalf("bad error for %q: %v", s, err)
			}
			return
		}
		if th.Metric == "" || th.Bound < 0 || math.IsNaN(th.Bound) || math.IsInf(th.Bound, 0) {
			t.Fatalf("bad threshold from %q: %+v", s, th)
		}
		if th.Quantile < 0 || th.Quantile > 1 {
			t.Fatalf("quantile out of range from %q: %+v", s, th)
		}
		if th.Kind == Duration && th.Bound > float64(timespan.Max) {
			t.Fatalf("duration bound beyond the largest span from %q: %+v", s, th)
		}
		if th.Kind == Ratio && th.Bound > 1 {
			t.Fatalf("ratio bound above 1 from %q: %+v", s, th)
		}
		// Measured against real data: finite and non-negative, and Passed
		// is the comparison it claims.
		if th.Baseline && (th.Factor < 0 || math.IsNaN(th.Factor) || math.IsInf(th.Factor, 0) || th.Bound != 0) {
			t.Fatalf("bad baseline threshold from %q: %+v", s, th)
		}
		if r := th.Evaluate(full, extra); th.Baseline && !r.Missing {
			t.Fatalf("%q: a baseline threshold without a baseline was judged: %+v", s, r)
		}
		// Against a baseline (the run itself): the bound is factor × the
		// same measure.
		if r := th.EvaluateAgainst(full, full, extra); !r.Missing {
			if math.IsNaN(r.Measured) || math.IsInf(r.Measured, 0) || r.Measured < 0 {
				t.Fatalf("%q measured %v", s, r.Measured)
			}
			if math.IsNaN(r.Bound) || math.IsInf(r.Bound, 0) || r.Bound < 0 {
				t.Fatalf("%q: bound %v", s, r.Bound)
			}
			if th.Baseline && r.Bound != th.Factor*r.Measured {
				t.Fatalf("%q: bound %v, want %v × %v", s, r.Bound, th.Factor, r.Measured)
			}
			if r.Passed != th.Op.holds(r.Measured, r.Bound) {
				t.Fatalf("%q: measured %v, bound %v, passed %v", s, r.Measured, r.Bound, r.Passed)
			}
		} else if r.Passed {
			t.Fatalf("%q: a missing metric passed", s)
		}
		// reparsing the canonical pieces yields the same threshold
		again, err := Parse(th.Expr)
		if err != nil || again != th {
			t.Fatalf("reparse of %q: %+v, %v", th.Expr, again, err)
		}
		r := th.Evaluate(snap, nil)
		_ = r.String()
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBaselineBoundsReadTheSameMetricFromTheBaseline(t *testing.T) {
	mk := func(lat time.Duration, n int) *stats.Snapshot {
		reg := stats.NewRegistry(stats.Options{})
		for range n {
			reg.Record(stats.Sample{Method: "GET", Name: "/checkout", Duration: lat})
			reg.Record(stats.Sample{Method: "GET", Name: "/cart", Duration: 10 * time.Millisecond})
		}
		return reg.Snapshot()
	}
	base := mk(100*time.Millisecond, 100)
	slower := mk(120*time.Millisecond, 100)
	for _, tc := range []struct {
		expr   string
		snap   *stats.Snapshot
		passed bool
		bound  float64
	}{
		{"GET /checkout:p95<baseline*1.10", slower, false, 1.1 * float64(100*time.Millisecond)},
		{"/checkout:p95<baseline*125%", slower, true, 1.25 * float64(100*time.Millisecond)},
		{"/cart:p95<baseline*1.10", slower, true, 1.1 * float64(10*time.Millisecond)},
		{"/checkout:p95<=baseline", base, true, float64(100 * time.Millisecond)},
		{"requests>=baseline*0.95", slower, true, 0.95 * 200},
		{"fail_ratio<=baseline", slower, true, 0},
	} {
		th := MustParse(tc.expr)
		require.True(t, th.Baseline, tc.expr)
		r := th.EvaluateAgainst(tc.snap, base, nil)
		assert.False(t, r.Missing, "%s: %s", tc.expr, r.Message)
		assert.Equal(t, tc.passed, r.Passed, "%s: %s", tc.expr, r)
		assert.InDelta(t, tc.bound, r.Bound, tc.bound*0.002+1e-9, tc.expr)
	}

	r := MustParse("p95<baseline*1.1").Evaluate(slower, nil)
	assert.True(t, r.Missing)
	assert.False(t, r.Passed)
	assert.Contains(t, r.Message, "no baseline to compare with: pass --baseline FILE")

	r = MustParse("/new:p95<baseline*1.1").EvaluateAgainst(slower, base, nil)
	assert.True(t, r.Missing)
	assert.Contains(t, r.Message, "no requests named \"/new\" were recorded")

	onlyCart := mk(0, 0)
	r = MustParse("/cart:p95<baseline*1.1").EvaluateAgainst(slower, onlyCart, nil)
	assert.True(t, r.Missing)
	assert.Contains(t, r.Message, "in the baseline: ")
}

func TestBaselineBoundErrorsSayWhatToWrite(t *testing.T) {
	for expr, says := range map[string]string{
		"p95<baseline/2":                "after baseline write *FACTOR, e.g. p95<baseline*1.10",
		"p95<baseline*fast":             `the factor "fast" after baseline* is not a number`,
		"p95<baseline*":                 `the factor "" after baseline* is not a number`,
		"rps>baseline*-1":               "must be from 0 to 1000",
		"dropped_iterations<baseline*2": "dropped_iterations is not in a baseline file",
	} {
		_, err := Parse(expr)
		assert.ErrorContains(t, err, says, expr)
	}
}

// rps>baseline*0.95, per name as for the other thresholds: each run lasts
// 10 s on a fake clock, so a name's throughput is its count / 10 s. The
// baseline had 100 /checkout and 100 /cart; the current run 90 /checkout
// (9/s < 0.95 × 10/s) and 110 /cart (11/s), 200 in all (20/s, as before).
func TestBaselineThroughputBoundIsPerName(t *testing.T) {
	mk := func(counts map[string]int) *stats.Snapshot {
		now, advance := clock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		r := stats.NewRegistry(stats.Options{Now: now})
		var names []string
		for name, n := range counts {
			for range n {
				names = append(names, name)
			}
		}
		step := 10 * time.Second / time.Duration(len(names)-1)
		for i, name := range names {
			if i > 0 {
				advance(step)
			}
			r.Record(stats.Sample{Method: "GET", Name: name, Duration: 10 * time.Millisecond})
		}
		snap := r.Snapshot()
		require.Equal(t, 10*time.Second, snap.LastRequest.Sub(snap.Start).Round(time.Millisecond), "the run spans 10 s")
		return snap
	}
	base := mk(map[string]int{"/checkout": 100, "/cart": 100})
	cur := mk(map[string]int{"/checkout": 90, "/cart": 110})
	for _, tc := range []struct {
		expr            string
		passed          bool
		measured, bound float64
	}{
		{"/checkout:rps>baseline*0.95", false, 9, 9.5},
		{"GET /checkout:rps>baseline*95%", false, 9, 9.5},
		{"/cart:rps>baseline*0.95", true, 11, 9.5},
		{"rps>baseline*0.95", true, 20, 19},
		{"/checkout:rps>baseline*0.85", true, 9, 8.5},
	} {
		r := MustParse(tc.expr).EvaluateAgainst(cur, base, nil)
		require.False(t, r.Missing, "%s: %s", tc.expr, r.Message)
		assert.Equal(t, tc.passed, r.Passed, "%s: %s", tc.expr, r)
		assert.InDelta(t, tc.measured, r.Measured, 1e-6, tc.expr) // the step 10 s / (n-1) is rounded to the ns
		assert.InDelta(t, tc.bound, r.Bound, 1e-6, tc.expr)
	}
}
