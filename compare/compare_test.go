package compare

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
)

// entry builds an entry of n lognormal latencies (median in µs, shape
// sigma) scaled by factor, from its own seeded source.
func entry(name string, n int, medianUs, sigma, factor float64, seed uint64) *stats.Entry {
	rng := rand.New(rand.NewPCG(seed, 7))
	e := &stats.Entry{Method: "GET", Name: name, Hist: stats.NewHistogram()}
	for i := range n {
		us := int64(medianUs * math.Exp(sigma*rng.NormFloat64()) * factor)
		us = max(us, 1)
		d := time.Duration(us) * time.Microsecond
		if i == 0 || d < e.Min {
			e.Min = d
		}
		e.Max = max(e.Max, d)
		e.TotalTime += d
		e.NumRequests++
		require.NoError(nil, e.Hist.RecordValue(us))
	}
	return e
}

func snapshot(es ...*stats.Entry) *stats.Snapshot {
	s := &stats.Snapshot{Total: &stats.Entry{Name: stats.AggregatedName}}
	for _, e := range es {
		s.Entries = append(s.Entries, e)
		s.Total.Merge(e)
	}
	return s
}

// The documented false-positive rate: each percentile's test at level α
// rejects about α of the time when nothing changed. With α = 1 % and 100
// seeded trials the expected count is 1; more than 5 has a probability
// under 0.1 % (binomial), so a count above it means the test is biased.
func TestQuantileTestRejectsAtItsLevelWhenNothingChanged(t *testing.T) {
	for _, q := range []float64{0.5, 0.95, 0.99} {
		rejected := 0
		for trial := range 100 {
			a := entry("/x", 3000, 5000, 0.3, 1, uint64(2*trial))
			b := entry("/x", 3000, 5000, 0.3, 1, uint64(2*trial+1))
			if QuantileTest(a.Hist, b.Hist, q, 0.01).Significant {
				rejected++
			}
		}
		t.Logf("p%v: %d of 100 rejected at α=1%%", q*100, rejected)
		assert.LessOrEqual(t, rejected, 5, "p%v: rejections in 100 trials at α=1%%", q*100)
	}
}

// A row's verdict is documented to flag an unchanged endpoint (slower or
// faster) at most 1 % of the time; in 100 seeded trials more than 3 flags
// (probability under 2 % for a rate of 1 %) would break that promise.
func TestCompareFlagsNothingWhenTheDistributionIsTheSame(t *testing.T) {
	slower, faster := 0, 0
	for trial := range 100 {
		base := snapshot(entry("/x", 3000, 5000, 0.3, 1, uint64(2*trial)))
		cur := snapshot(entry("/x", 3000, 5000, 0.3, 1, uint64(2*trial+1)))
		rep := Compare(base, cur, Options{})
		require.Len(t, rep.Rows, 2)
		if rep.Regressed() {
			slower++
		}
		if rep.Rows[0].Faster {
			faster++
		}
	}
	t.Logf("of 100 unchanged endpoints: %d flagged slower, %d faster", slower, faster)
	assert.LessOrEqual(t, slower+faster, 3)
}

func TestCompareFlagsATwentyPercentSlowerEndpoint(t *testing.T) {
	for trial := range 100 {
		base := snapshot(entry("/x", 3000, 5000, 0.3, 1, uint64(2*trial)))
		cur := snapshot(entry("/x", 3000, 5000, 0.3, 1.2, uint64(2*trial+1)))
		rep := Compare(base, cur, Options{})
		row := rep.Row("GET /x")
		require.NotNil(t, row)
		assert.True(t, row.Slower, "trial %d", trial)
		assert.True(t, row.Percentiles[0].Slower, "trial %d: p50", trial)
		assert.InDelta(t, 0.2, row.Percentiles[0].Change, 0.05, "trial %d: p50 change", trial)
		assert.Equal(t, "slower", row.Verdict())
		assert.True(t, rep.Regressed())

		// And the other way round it is faster, not a regression.
		back := Compare(cur, base, Options{})
		assert.True(t, back.Rows[0].Faster, "trial %d", trial)
		assert.False(t, back.Regressed(), "trial %d", trial)
	}
}

// With 200,000 samples a 2 % shift is statistically certain, and too small
// to act on: the minimum change keeps it out, and lowering it lets it in.
func TestASignificantButSmallChangeIsNotFlagged(t *testing.T) {
	base := snapshot(entry("/x", 200000, 5000, 0.3, 1, 1))
	cur := snapshot(entry("/x", 200000, 5000, 0.3, 1.02, 2))
	rep := Compare(base, cur, Options{})
	p50 := rep.Rows[0].Percentiles[0]
	assert.True(t, p50.Test.Significant, "z=%v", p50.Test.Z)
	assert.False(t, rep.Regressed())
	assert.Equal(t, "no significant change", rep.Rows[0].Verdict())

	rep = Compare(base, cur, Options{MinChange: 0.01})
	assert.True(t, rep.Regressed())
}

func TestFailureRatioIsFlaggedWhenItRoseSignificantly(t *testing.T) {
	mk := func(fails int64) *stats.Snapshot {
		e := entry("/x", 10000, 5000, 0.3, 1, 3)
		e.NumFailures = fails
		return snapshot(e)
	}
	rep := Compare(mk(10), mk(100), Options{})
	assert.True(t, rep.Rows[0].MoreFailures)
	assert.Equal(t, "more failures", rep.Rows[0].Verdict())
	assert.True(t, rep.Regressed())

	rep = Compare(mk(10), mk(14), Options{})
	assert.False(t, rep.Rows[0].MoreFailures, "10 vs 14 of 10,000 is noise")
	rep = Compare(mk(0), mk(0), Options{})
	assert.False(t, rep.Rows[0].MoreFailures)
	assert.True(t, rep.Rows[0].FailTest.TooFew)
}

func TestEndpointsInOneRunOnlyAreListedAsSuch(t *testing.T) {
	base := snapshot(entry("/old", 100, 5000, 0.3, 1, 1), entry("/same", 100, 5000, 0.3, 1, 2))
	cur := snapshot(entry("/new", 100, 5000, 0.3, 1, 3), entry("/same", 100, 5000, 0.3, 1, 4))
	rep := Compare(base, cur, Options{})
	require.Len(t, rep.Rows, 4)
	assert.Equal(t, "only in baseline", rep.Row("/old").Verdict())
	assert.Equal(t, "new", rep.Row("/new").Verdict())
	assert.Equal(t, OnlyCurrent, rep.Row("/new").Presence)
	assert.True(t, rep.Rows[3].Aggregated())
	assert.False(t, rep.Regressed())

	var b bytes.Buffer
	require.NoError(t, WriteTable(&b, rep))
	out := b.String()
	assert.Contains(t, out, "GET /old")
	assert.Contains(t, out, "100/-")
	assert.Contains(t, out, "-/100")
	assert.Contains(t, out, "only in baseline")
	assert.Contains(t, out, "No endpoint got significantly slower")
}

func TestTheTableMarksTheRegressedEndpoint(t *testing.T) {
	base := snapshot(entry("/cart", 3000, 5000, 0.3, 1, 1), entry("/checkout", 3000, 5000, 0.3, 1, 2))
	cur := snapshot(entry("/cart", 3000, 5000, 0.3, 1, 3), entry("/checkout", 3000, 5000, 0.3, 1.2, 4))
	rep := Compare(base, cur, Options{})
	rep.BaseName = "main.json"
	var b bytes.Buffer
	require.NoError(t, WriteTable(&b, rep))
	out := b.String()
	t.Log("\n" + out)
	lines := strings.Split(out, "\n")
	assert.Contains(t, lines[0], "main.json (99% confidence; changes under 5% ignored)")
	for _, l := range lines {
		if strings.HasPrefix(l, "GET /checkout") {
			assert.Contains(t, l, "slower")
			assert.Contains(t, l, "*")
		}
		if strings.HasPrefix(l, "GET /cart") {
			assert.Contains(t, l, "no significant change")
			assert.NotContains(t, l, "*")
		}
	}
	assert.Contains(t, out, "1 endpoint(s) regressed: GET /checkout (slower)")
}

// The JSON output carries each entry's histogram: reading it back gives the
// same counts, percentiles and extremes as the registry the file was
// written from.
func TestAWrittenRunReadsBackExactly(t *testing.T) {
	reg := stats.NewRegistry(stats.Options{})
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		d := time.Duration(1000+rng.IntN(50000)) * time.Microsecond
		reg.Record(stats.Sample{Method: "GET", Name: "/a", Duration: d, Corrected: d + time.Millisecond, Size: 10})
		reg.Record(stats.Sample{Method: "POST", Name: "/b", Duration: d / 2, Size: 20, Err: errIf(rng.IntN(10) == 0)})
	}
	want := reg.Snapshot()
	var b bytes.Buffer
	require.NoError(t, stats.WriteJSON(&b, want))
	got, err := Read(&b, "run.json")
	require.NoError(t, err)
	require.Len(t, got.Entries, 2)
	for i, w := range want.Entries {
		g := got.Entries[i]
		assert.Equal(t, w.Method+w.Name, g.Method+g.Name)
		assert.Equal(t, w.NumRequests, g.NumRequests)
		assert.Equal(t, w.NumFailures, g.NumFailures)
		assert.Equal(t, w.Max, g.Max)
		assert.Equal(t, w.Min, g.Min)
		assert.Equal(t, w.Hist.TotalCount(), g.Hist.TotalCount())
		assert.Equal(t, w.Percentiles(0.5, 0.95, 0.99, 0.999), g.Percentiles(0.5, 0.95, 0.99, 0.999))
		if w.CorrectedHist != nil {
			require.NotNil(t, g.CorrectedHist)
			assert.Equal(t, w.CorrectedPercentile(0.99), g.CorrectedPercentile(0.99))
		}
	}
	assert.Equal(t, want.Total.Percentiles(0.5, 0.99), got.Total.Percentiles(0.5, 0.99))
	assert.Equal(t, want.Total.NumRequests, got.Total.NumRequests)

	rep := Compare(want, got, Options{})
	for _, row := range rep.Rows {
		assert.Equal(t, "no significant change", row.Verdict(), row.Label())
		for _, pc := range row.Percentiles {
			assert.Zero(t, pc.Change, row.Label())
		}
	}
}

func errIf(b bool) error {
	if b {
		return errors.New("HTTP 500")
	}
	return nil
}

func TestReadSaysWhatIsWrongWithAFile(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		is         error
		says       string
	}{
		{"empty", "", ErrNotRun, "the file is empty"},
		{"text", "hello", ErrNotRun, "not JSON"},
		{"object without stats", `{"a": 1}`, ErrNotRun, `without a "stats" list`},
		{"not entries", `[1, 2]`, ErrNotRun, "pass a file written by --json-file"},
		{"other object list", `[{"x": 1}]`, ErrNotRun, `lacks "name", "method" or "num_requests"`},
		{"locust file", `[{"name": "/a", "method": "GET", "num_requests": 3, "response_times": {"5": 3}}]`, ErrNoHDR, "re-record the baseline with this version's --json-file"},
		{"bad hdr", `[{"name": "/a", "method": "GET", "num_requests": 3, "hdr": "AAAA"}]`, nil, `"GET /a": "hdr": not an HdrHistogram`},
		{"no requests", `[]`, nil, "recorded no requests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tc.data), "old.json")
			require.Error(t, err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.Contains(t, err.Error(), tc.says)
			assert.True(t, strings.HasPrefix(err.Error(), "old.json: "), err.Error())
		})
	}
	_, err := Load(filepath.Join(t.TempDir(), "missing.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), "missing.json")
}

func TestOptionsValidateNamesTheBadValue(t *testing.T) {
	assert.NoError(t, Options{}.Validate())
	assert.ErrorContains(t, Options{Confidence: 1}.Validate(), "confidence 1")
	assert.ErrorContains(t, Options{MinChange: -1}.Validate(), "minimum change -1")
	assert.ErrorContains(t, Options{Percentiles: []float64{1}}.Validate(), "percentile 1")
}
