package compare

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/golocust/golocust/stats"
)

// Defaults of Options.
const (
	DefaultConfidence    = 0.99
	DefaultMinChange     = 0.05
	DefaultMinFailChange = 0.001
)

// DefaultPercentiles are the percentiles compared when
// Options.Percentiles is empty.
var DefaultPercentiles = []float64{0.5, 0.95, 0.99}

// Options tune what counts as a change. The zero value means the defaults.
type Options struct {
	// Confidence is the confidence level of the verdict of each row, in
	// (0, 1); 0 means DefaultConfidence (99 %). The latency tests of a row
	// share it (each percentile's test runs at (1-Confidence)/len
	// (Percentiles), Bonferroni), so that a row of an unchanged endpoint is
	// flagged by chance at most 1 time in 100.
	Confidence float64
	// MinChange is the smallest relative change of a percentile that
	// counts, e.g. 0.05 for 5 %; 0 means DefaultMinChange. With hundreds
	// of thousands of samples a test rejects for a 0.5 % change that no
	// one would act on: a percentile is flagged only when the test rejects
	// AND it moved by at least this much.
	MinChange float64
	// MinFailChange is the smallest rise of the failure ratio (absolute,
	// e.g. 0.001 for 0.1 percentage point) that counts; 0 means
	// DefaultMinFailChange.
	MinFailChange float64
	// Percentiles are the latency percentiles compared, in (0, 1); empty
	// means DefaultPercentiles (p50, p95, p99).
	Percentiles []float64
}

func (o Options) withDefaults() Options {
	if o.Confidence == 0 {
		o.Confidence = DefaultConfidence
	}
	if o.MinChange == 0 {
		o.MinChange = DefaultMinChange
	}
	if o.MinFailChange == 0 {
		o.MinFailChange = DefaultMinFailChange
	}
	if len(o.Percentiles) == 0 {
		o.Percentiles = DefaultPercentiles
	}
	return o
}

// Validate says what is wrong with the options, if anything.
func (o Options) Validate() error {
	if o.Confidence != 0 && !(o.Confidence >= 0.5 && o.Confidence < 1) {
		return fmt.Errorf("confidence %v: want a level from 0.5 to below 1, e.g. 0.99 or 99%%", o.Confidence)
	}
	if o.MinChange < 0 || o.MinChange >= 10 || math.IsNaN(o.MinChange) {
		return fmt.Errorf("minimum change %v: want a relative change from 0 to below 10, e.g. 0.05 or 5%%", o.MinChange)
	}
	if o.MinFailChange < 0 || o.MinFailChange > 1 || math.IsNaN(o.MinFailChange) {
		return fmt.Errorf("minimum failure-ratio change %v: want a fraction from 0 to 1, e.g. 0.001", o.MinFailChange)
	}
	for _, p := range o.Percentiles {
		if !(p > 0 && p < 1) {
			return fmt.Errorf("percentile %v: want a fraction in (0, 1), e.g. 0.95", p)
		}
	}
	return nil
}

// Presence says which runs an endpoint is in.
type Presence int

// The presences of a row.
const (
	InBoth Presence = iota
	OnlyBaseline
	OnlyCurrent
)

// Side is one run's figures of a row.
type Side struct {
	Requests, Failures int64
	// Percentiles are Options.Percentiles of the service time.
	Percentiles []time.Duration
	// RPS is requests per second over the run (first to last request).
	RPS       float64
	FailRatio float64
}

// PercentileChange is the comparison of one percentile.
type PercentileChange struct {
	Q         float64
	Base, Cur time.Duration
	// Change is (Cur-Base)/Base; NaN when Base is 0.
	Change float64
	Test   Test
	// Slower and Faster are set when the test rejects and |Change| is at
	// least Options.MinChange.
	Slower, Faster bool
}

// Row compares one endpoint, or the Aggregated row.
type Row struct {
	Method, Name string
	Presence     Presence
	Base, Cur    Side
	Percentiles  []PercentileChange
	// RPSChange is the relative change of the throughput; NaN when the
	// baseline's was 0. Throughput follows from the load model (a closed
	// model slows down with the target), so it is shown, not tested.
	RPSChange float64
	// FailChange is Cur.FailRatio - Base.FailRatio (absolute).
	FailChange float64
	FailTest   Test
	// Slower: some percentile is significantly and materially slower.
	// Faster: some percentile is faster and none slower. MoreFailures: the
	// failure ratio rose significantly, by at least Options.MinFailChange.
	Slower, Faster, MoreFailures bool
}

// Aggregated reports whether r is the Aggregated row.
func (r *Row) Aggregated() bool { return r.Method == "" && r.Name == stats.AggregatedName }

// Regressed reports whether the row got significantly slower or failed
// significantly more often.
func (r *Row) Regressed() bool { return r.Slower || r.MoreFailures }

// Label is "METHOD name", or "Aggregated".
func (r *Row) Label() string {
	if r.Method == "" {
		return r.Name
	}
	return r.Method + " " + r.Name
}

// Verdict is a short word for the row: "slower", "more failures",
// "slower, more failures", "faster", "no significant change", "only in
// baseline" or "new".
func (r *Row) Verdict() string {
	switch r.Presence {
	case OnlyBaseline:
		return "only in baseline"
	case OnlyCurrent:
		return "new"
	}
	var v []string
	if r.Slower {
		v = append(v, "slower")
	}
	if r.MoreFailures {
		v = append(v, "more failures")
	}
	if len(v) == 0 && r.Faster {
		v = append(v, "faster")
	}
	if len(v) == 0 {
		return "no significant change"
	}
	return strings.Join(v, ", ")
}

// Report is the comparison of two runs: one row per endpoint (sorted by
// name, then method), then the Aggregated row.
type Report struct {
	// BaseName and CurName name the two runs in the table and the JSON
	// (e.g. the files); either may be empty.
	BaseName, CurName string
	Options           Options
	Rows              []Row
}

// Regressed reports whether an endpoint (not the Aggregated row) got
// significantly slower or failed significantly more often: the verdict
// behind --compare's exit code 3.
func (r *Report) Regressed() bool { return len(r.Regressions()) > 0 }

// Regressions returns the endpoint rows that regressed.
func (r *Report) Regressions() []Row {
	var out []Row
	for _, row := range r.Rows {
		if !row.Aggregated() && row.Regressed() {
			out = append(out, row)
		}
	}
	return out
}

// Row returns the row of "METHOD name" (or of the name alone when one
// method has it, or "Aggregated"), or nil.
func (r *Report) Row(target string) *Row {
	var byName *Row
	n := 0
	for i := range r.Rows {
		row := &r.Rows[i]
		if row.Label() == target {
			return row
		}
		if row.Name == target {
			byName = row
			n++
		}
	}
	if n == 1 {
		return byName
	}
	return nil
}

// Compare compares cur with base per endpoint and for Aggregated. The
// histograms of both must have golocust's geometry (any stats.Snapshot
// and any run read by Load have it).
func Compare(base, cur *stats.Snapshot, opts Options) *Report {
	o := opts.withDefaults()
	rep := &Report{Options: o}
	type key struct{ method, name string }
	bases := map[key]*stats.Entry{}
	for _, e := range base.Entries {
		if e.NumRequests > 0 || e.NumFailures > 0 {
			bases[key{e.Method, e.Name}] = e
		}
	}
	seen := map[key]bool{}
	for _, e := range cur.Entries {
		if e.NumRequests == 0 && e.NumFailures == 0 {
			continue
		}
		k := key{e.Method, e.Name}
		seen[k] = true
		rep.Rows = append(rep.Rows, compareEntries(o, base, cur, bases[k], e))
	}
	for k, e := range bases {
		if !seen[k] {
			rep.Rows = append(rep.Rows, compareEntries(o, base, cur, e, nil))
		}
	}
	sort.Slice(rep.Rows, func(i, j int) bool {
		a, b := rep.Rows[i], rep.Rows[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Method < b.Method
	})
	if base.Total != nil && cur.Total != nil {
		rep.Rows = append(rep.Rows, compareEntries(o, base, cur, base.Total, cur.Total))
	}
	return rep
}

func side(snap *stats.Snapshot, e *stats.Entry, ps []float64) Side {
	return Side{
		Requests: e.NumRequests, Failures: e.NumFailures,
		Percentiles: e.Percentiles(ps...),
		RPS:         snap.RunRPS(e),
		FailRatio:   e.FailRatio(),
	}
}

func relChange(base, cur float64) float64 {
	if base == 0 {
		if cur == 0 {
			return 0
		}
		return math.NaN()
	}
	return (cur - base) / base
}

func compareEntries(o Options, baseSnap, curSnap *stats.Snapshot, b, c *stats.Entry) Row {
	var row Row
	switch {
	case b == nil:
		row = Row{Method: c.Method, Name: c.Name, Presence: OnlyCurrent, Cur: side(curSnap, c, o.Percentiles)}
		return row
	case c == nil:
		row = Row{Method: b.Method, Name: b.Name, Presence: OnlyBaseline, Base: side(baseSnap, b, o.Percentiles)}
		return row
	}
	row = Row{Method: c.Method, Name: c.Name, Base: side(baseSnap, b, o.Percentiles), Cur: side(curSnap, c, o.Percentiles)}
	alpha := 1 - o.Confidence
	perTest := alpha / float64(len(o.Percentiles))
	hists := newPair(b.Hist, c.Hist)
	for i, q := range o.Percentiles {
		pc := PercentileChange{Q: q, Base: row.Base.Percentiles[i], Cur: row.Cur.Percentiles[i]}
		pc.Change = relChange(float64(pc.Base), float64(pc.Cur))
		pc.Test = hists.test(q, perTest)
		material := !math.IsNaN(pc.Change) && math.Abs(pc.Change) >= o.MinChange
		if pc.Test.Significant && material {
			pc.Slower = pc.Test.Z > 0 && pc.Change > 0
			pc.Faster = pc.Test.Z < 0 && pc.Change < 0
		}
		row.Slower = row.Slower || pc.Slower
		row.Faster = row.Faster || pc.Faster
		row.Percentiles = append(row.Percentiles, pc)
	}
	if row.Slower {
		row.Faster = false
	}
	row.RPSChange = relChange(row.Base.RPS, row.Cur.RPS)
	row.FailChange = row.Cur.FailRatio - row.Base.FailRatio
	row.FailTest = FailureTest(b.NumFailures, max(b.NumRequests, b.NumFailures), c.NumFailures, max(c.NumRequests, c.NumFailures), alpha)
	row.MoreFailures = row.FailTest.Significant && row.FailTest.Z > 0 && row.FailChange >= o.MinFailChange
	return row
}
