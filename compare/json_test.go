package compare

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
)

// run records 300 requests per name, 10 ms apart on a fake clock, each
// at the name's latency ±10 %; failing names fail every 10th request.
func run(lat map[string]time.Duration, failing ...string) *stats.Snapshot {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	reg := stats.NewRegistry(stats.Options{Now: func() time.Time { return now }})
	for i := range 300 {
		for name, d := range lat {
			s := stats.Sample{Method: "GET", Name: name, Duration: d * time.Duration(90+i%21) / 100}
			for _, f := range failing {
				if f == name && i%10 == 0 {
					s.Err = errors.New("HTTP 500")
				}
			}
			reg.Record(s)
			now = now.Add(10 * time.Millisecond)
		}
	}
	return reg.Snapshot()
}

// The JSON of a comparison (the "baseline" section of --json and
// --json-file) carries both sides' figures, each percentile's change and
// test, and the failure ratio's, with the values of the Report; a row in
// one run only has that side alone.
func TestTheJSONCarriesBothSidesTheChangesAndTheTests(t *testing.T) {
	base := run(map[string]time.Duration{"/cart": 20 * time.Millisecond, "/checkout": 20 * time.Millisecond, "/old": 5 * time.Millisecond})
	cur := run(map[string]time.Duration{"/cart": 20 * time.Millisecond, "/checkout": 24 * time.Millisecond, "/new": 5 * time.Millisecond}, "/cart")
	rep := Compare(base, cur, Options{})
	rep.BaseName = "main.json"
	b, err := json.Marshal(rep)
	require.NoError(t, err)

	type side struct {
		Requests    int64              `json:"num_requests"`
		Failures    int64              `json:"num_failures"`
		RPS         float64            `json:"rps"`
		FailRatio   float64            `json:"fail_ratio"`
		Percentiles map[string]float64 `json:"response_time_percentiles"`
	}
	type test struct {
		Z           float64 `json:"z"`
		P           float64 `json:"p_value"`
		Significant bool    `json:"significant"`
		TooFew      bool    `json:"too_few_samples"`
	}
	var doc struct {
		File       string  `json:"file"`
		Method     string  `json:"method"`
		Confidence float64 `json:"confidence"`
		MinChange  float64 `json:"min_change"`
		Regressed  bool    `json:"regressed"`
		Rows       []struct {
			Method, Name, Presence, Verdict string
			Slower                          bool     `json:"slower"`
			MoreFailures                    bool     `json:"more_failures"`
			Baseline                        *side    `json:"baseline"`
			Current                         *side    `json:"current"`
			RPSChange                       *float64 `json:"rps_change"`
			FailChange                      *float64 `json:"fail_ratio_change"`
			FailTest                        *test    `json:"fail_ratio_test"`
			Percentiles                     []struct {
				Percentile float64  `json:"percentile"`
				Baseline   float64  `json:"baseline"`
				Current    float64  `json:"current"`
				Change     *float64 `json:"change"`
				test
				Slower bool `json:"slower"`
			} `json:"percentiles"`
		} `json:"rows"`
	}
	require.NoError(t, json.Unmarshal(b, &doc), string(b))
	assert.Equal(t, "main.json", doc.File)
	assert.Equal(t, Method, doc.Method)
	assert.Equal(t, 0.99, doc.Confidence)
	assert.Equal(t, 0.05, doc.MinChange)
	assert.True(t, doc.Regressed)
	require.Len(t, doc.Rows, 5, string(b))
	var names []string
	for _, r := range doc.Rows {
		names = append(names, r.Name)
	}
	assert.Equal(t, []string{"/cart", "/checkout", "/new", "/old", stats.AggregatedName}, names)

	for i, r := range doc.Rows {
		row := &rep.Rows[i]
		switch r.Name {
		case "/old":
			assert.Equal(t, "only_baseline", r.Presence)
			assert.Equal(t, "only in baseline", r.Verdict)
			require.NotNil(t, r.Baseline)
			assert.Nil(t, r.Current)
			assert.EqualValues(t, 300, r.Baseline.Requests)
			assert.InDelta(t, 5, r.Baseline.Percentiles["0.5"], 0.5)
			continue
		case "/new":
			assert.Equal(t, "only_current", r.Presence)
			assert.Equal(t, "new", r.Verdict)
			assert.Nil(t, r.Baseline)
			require.NotNil(t, r.Current)
			assert.EqualValues(t, 300, r.Current.Requests)
			continue
		}
		assert.Equal(t, "both", r.Presence, r.Name)
		require.NotNil(t, r.Baseline, r.Name)
		require.NotNil(t, r.Current, r.Name)
		assert.Equal(t, row.Verdict(), r.Verdict, r.Name)
		assert.Equal(t, row.Base.Requests, r.Baseline.Requests)
		assert.Equal(t, row.Cur.Failures, r.Current.Failures)
		assert.Positive(t, r.Baseline.RPS, r.Name)
		assert.InDelta(t, row.Base.RPS, r.Baseline.RPS, 1e-9)
		assert.InDelta(t, row.Cur.RPS, r.Current.RPS, 1e-9)
		require.NotNil(t, r.RPSChange, r.Name)
		assert.InDelta(t, row.RPSChange, *r.RPSChange, 1e-9)
		require.NotNil(t, r.FailChange, r.Name)
		assert.InDelta(t, row.FailChange, *r.FailChange, 1e-12)
		require.NotNil(t, r.FailTest, r.Name)
		assert.Equal(t, row.FailTest.P, r.FailTest.P)
		require.Len(t, r.Percentiles, 3, r.Name)
		for j, p := range r.Percentiles {
			pc := row.Percentiles[j]
			assert.Equal(t, pc.Q, p.Percentile)
			assert.InDelta(t, ms(pc.Base), p.Baseline, 1e-9)
			assert.InDelta(t, ms(pc.Cur), p.Current, 1e-9)
			assert.InDelta(t, ms(pc.Base), r.Baseline.Percentiles[map[float64]string{0.5: "0.5", 0.95: "0.95", 0.99: "0.99"}[pc.Q]], 1e-9)
			require.NotNil(t, p.Change)
			assert.InDelta(t, pc.Change, *p.Change, 1e-12)
			assert.Equal(t, pc.Test.P, p.P)
			assert.Equal(t, pc.Test.Significant, p.Significant)
			assert.Equal(t, pc.Slower, p.Slower)
		}
		switch r.Name {
		case "/checkout":
			// 20 → 24 ms at the median: +20 %, far beyond noise.
			assert.InDelta(t, 20, r.Baseline.Percentiles["0.5"], 0.5)
			assert.InDelta(t, 24, r.Current.Percentiles["0.5"], 0.5)
			assert.InDelta(t, 0.2, *r.Percentiles[0].Change, 0.03)
			assert.Less(t, r.Percentiles[0].P, 1e-6)
			assert.True(t, r.Percentiles[0].Slower)
			assert.True(t, r.Slower)
			assert.Equal(t, "slower", r.Verdict)
		case "/cart":
			// Same latency, 30 failures of 300 instead of none.
			assert.Zero(t, *r.Percentiles[0].Change)
			assert.False(t, r.Slower)
			assert.Zero(t, r.Baseline.FailRatio)
			assert.InDelta(t, 0.1, r.Current.FailRatio, 1e-12)
			assert.InDelta(t, 0.1, *r.FailChange, 1e-12)
			assert.True(t, r.FailTest.Significant)
			assert.Positive(t, r.FailTest.Z)
			assert.True(t, r.MoreFailures)
			assert.Equal(t, "more failures", r.Verdict)
		}
	}
}
