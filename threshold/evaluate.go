package threshold

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/golocust/golocust/stats"
)

// Result is the verdict of one threshold.
type Result struct {
	Threshold
	// Measured is the value read from the snapshot, in the unit of Kind
	// (nanoseconds for durations); 0 when Missing.
	Measured float64
	// Passed is true when "Measured Op Bound" holds. A Missing result never
	// passes.
	Passed bool
	// Missing is true when the metric could not be measured: the target
	// matched no request, a time or ratio metric saw no requests, or an
	// extra metric was not supplied. Message says which.
	Missing bool
	Message string
}

// MeasuredText is the measured value in the unit the bound was written in,
// e.g. "312.46ms", "0.5%", "1234"; "n/a" when Missing.
func (r Result) MeasuredText() string {
	if r.Missing {
		return "n/a"
	}
	return r.format(r.Measured)
}

// BoundText is the bound as written in the expression, normalised, e.g.
// "300ms".
func (r Result) BoundText() string { return r.format(r.Bound) }

// format renders v (in the unit of Kind) in the threshold's unit.
func (r Result) format(v float64) string {
	switch r.Kind {
	case Duration:
		unit := r.Unit
		d := time.Duration(1)
		for _, u := range durationUnits {
			if u.name == unit {
				d = u.d
			}
		}
		if unit == "" {
			unit, d = "ms", time.Millisecond
		}
		return num(v/float64(d)) + unit
	case Ratio:
		if r.Unit == "%" {
			return num(v*100) + "%"
		}
		return num(v)
	case Rate:
		return num(v) + "/s"
	}
	return num(v)
}

// num formats with up to 2 decimals from 1 up and 4 significant digits
// below 1, trimming trailing zeros.
func num(v float64) string {
	a := v
	if a < 0 {
		a = -a
	}
	switch {
	case a == 0:
		return "0"
	case a >= 1:
		return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
}

// Name is what the threshold measures, for messages: "p95 of GET /item" or
// "p95" for all requests.
func (t Threshold) Name() string {
	if t.Target == "" {
		return t.Metric
	}
	return t.Metric + " of " + strconv.Quote(t.Target)
}

// String is one line: `p95<300ms: p95 = 312.46ms, FAILED`.
func (r Result) String() string {
	switch {
	case r.Missing:
		return fmt.Sprintf("%s: FAILED, %s", r.Expr, r.Message)
	case r.Passed:
		return fmt.Sprintf("%s: %s = %s, passed", r.Expr, r.Name(), r.MeasuredText())
	default:
		return fmt.Sprintf("%s: %s = %s, FAILED (must be %s %s)", r.Expr, r.Name(), r.MeasuredText(), r.Op, r.BoundText())
	}
}

// jsonResult is the JSON shape of a Result; durations are in milliseconds
// as everywhere in Locust's JSON.
type jsonResult struct {
	Expr         string  `json:"expr"`
	Target       string  `json:"target"`
	Metric       string  `json:"metric"`
	Op           string  `json:"op"`
	Unit         string  `json:"unit"`
	Bound        float64 `json:"bound"`
	Measured     float64 `json:"measured"`
	BoundText    string  `json:"bound_text"`
	MeasuredText string  `json:"measured_text"`
	Passed       bool    `json:"passed"`
	Missing      bool    `json:"missing"`
	Message      string  `json:"message,omitempty"`
}

// MarshalJSON writes expr, target, metric, op, unit ("ms" for durations,
// "ratio", "per_second" or "count"), bound and measured in that unit,
// bound_text, measured_text, passed, missing and message.
func (r Result) MarshalJSON() ([]byte, error) {
	j := jsonResult{
		Expr: r.Expr, Target: r.Target, Metric: r.Metric, Op: r.Op.String(),
		Bound: r.Bound, Measured: r.Measured,
		BoundText: r.BoundText(), MeasuredText: r.MeasuredText(),
		Passed: r.Passed, Missing: r.Missing, Message: r.Message,
	}
	switch r.Kind {
	case Duration:
		j.Unit = "ms"
		j.Bound /= float64(time.Millisecond)
		j.Measured /= float64(time.Millisecond)
	case Ratio:
		j.Unit = "ratio"
	case Rate:
		j.Unit = "per_second"
	case Count:
		j.Unit = "count"
	}
	return json.Marshal(j)
}

// Evaluate judges every threshold against snap. It is EvaluateWith without
// extra metrics.
func Evaluate(ths []Threshold, snap *stats.Snapshot) []Result {
	return EvaluateWith(ths, snap, nil)
}

// EvaluateWith judges every threshold against snap. extra supplies the
// whole-run metrics that a snapshot does not hold, keyed by metric name
// (e.g. "dropped_iterations"); a threshold on an extra metric that is not
// in the map fails as Missing. A baseline threshold fails as Missing too:
// use EvaluateAgainst.
func EvaluateWith(ths []Threshold, snap *stats.Snapshot, extra map[string]float64) []Result {
	return EvaluateAgainst(ths, snap, nil, extra)
}

// EvaluateAgainst is EvaluateWith with a baseline run (nil for none): a
// threshold such as p95<baseline*1.10 reads the same metric of the same
// target from base and multiplies it by the factor to get its bound.
func EvaluateAgainst(ths []Threshold, snap, base *stats.Snapshot, extra map[string]float64) []Result {
	out := make([]Result, len(ths))
	for i, t := range ths {
		out[i] = t.EvaluateAgainst(snap, base, extra)
	}
	return out
}

// Evaluate judges one threshold (see EvaluateWith).
func (t Threshold) Evaluate(snap *stats.Snapshot, extra map[string]float64) Result {
	return t.EvaluateAgainst(snap, nil, extra)
}

// EvaluateAgainst judges one threshold (see EvaluateAgainst).
func (t Threshold) EvaluateAgainst(snap, base *stats.Snapshot, extra map[string]float64) Result {
	r := Result{Threshold: t}
	if _, ok := extraMetrics[t.Metric]; ok {
		v, ok := extra[t.Metric]
		if !ok {
			return r.missing(fmt.Sprintf("%s was not measured in this run", t.Metric))
		}
		return r.judge(v)
	}
	v, msg := t.measure(snap)
	if msg != "" {
		return r.missing(msg)
	}
	if t.Baseline {
		if base == nil {
			return r.missing("no baseline to compare with: pass --baseline FILE (Config.Baseline.File), a --json-file of an earlier run")
		}
		b, msg := t.measure(base)
		if msg != "" {
			return r.missing("in the baseline: " + msg)
		}
		r.Bound = t.Factor * b
	}
	return r.judge(v)
}

// measure reads the threshold's metric from snap; msg says why it could
// not.
func (t Threshold) measure(snap *stats.Snapshot) (v float64, msg string) {
	if snap == nil || snap.Total == nil {
		return 0, "no statistics were recorded"
	}
	e := Lookup(snap, t.Target)
	if e == nil {
		return 0, fmt.Sprintf("no requests named %q were recorded", t.Target)
	}
	if e.NumRequests == 0 && (t.Kind == Duration || t.Kind == Ratio) {
		what := "any request"
		if t.Target != "" {
			what = strconv.Quote(t.Target)
		}
		return 0, fmt.Sprintf("no requests were recorded for %s, so %s cannot be measured", what, t.Metric)
	}
	switch t.Metric {
	case "avg":
		v = float64(e.Avg())
	case "min":
		v = float64(e.Min)
	case "max":
		v = float64(e.Max)
	case "fail_ratio":
		v = e.FailRatio()
	case "rps":
		v = RPS(snap, e)
	case "requests":
		v = float64(e.NumRequests)
	case "failures":
		v = float64(e.NumFailures)
	default: // percentiles and median
		if t.Corrected {
			if e.CorrectedHist == nil || e.CorrectedHist.TotalCount() == 0 {
				return 0, "no corrected latencies were recorded (only paced and arrival-rate users record them)"
			}
			v = float64(e.CorrectedPercentile(t.Quantile))
		} else {
			v = float64(e.Percentile(t.Quantile))
		}
	}
	return v, ""
}

func (r Result) missing(msg string) Result {
	r.Missing, r.Passed, r.Message = true, false, msg
	return r
}

func (r Result) judge(v float64) Result {
	r.Measured = v
	r.Passed = r.Op.holds(v, r.Bound)
	return r
}

// RPS is the requests per second of e over the whole run: its requests
// divided by the span of the snapshot (first to last request), as the
// report and the console's final table compute it.
func RPS(snap *stats.Snapshot, e *stats.Entry) float64 { return snap.RunRPS(e) }

// Lookup finds the entry a target names: "" or "Aggregated" is the total;
// otherwise the entry whose "METHOD NAME" equals target, else the entries
// named target (any method), merged. Nil when nothing matches.
func Lookup(snap *stats.Snapshot, target string) *stats.Entry {
	if snap == nil {
		return nil
	}
	if target == "" || target == stats.AggregatedName {
		return snap.Total
	}
	for _, e := range snap.Entries {
		if len(e.Method)+1+len(e.Name) == len(target) && target[:len(e.Method)] == e.Method &&
			target[len(e.Method)] == ' ' && target[len(e.Method)+1:] == e.Name {
			return e
		}
	}
	var found []*stats.Entry
	for _, e := range snap.Entries {
		if e.Name == target {
			found = append(found, e)
		}
	}
	switch len(found) {
	case 0:
		return nil
	case 1:
		return found[0]
	}
	return mergeEntries(found)
}

// mergeEntries adds entries up exactly (histograms merged, not averaged).
func mergeEntries(es []*stats.Entry) *stats.Entry {
	m := &stats.Entry{Name: es[0].Name}
	for _, e := range es {
		m.Merge(e)
	}
	return m
}

// AllPassed reports whether every result passed (true for none).
func AllPassed(rs []Result) bool {
	for _, r := range rs {
		if !r.Passed {
			return false
		}
	}
	return true
}

// Failed returns the results that did not pass.
func Failed(rs []Result) []Result {
	var out []Result
	for _, r := range rs {
		if !r.Passed {
			out = append(out, r)
		}
	}
	return out
}

// AbortBreaches returns the failed results that justify stopping a run
// early (--threshold-abort): it leaves out Missing results (nothing
// measured yet) and lower bounds on counts (requests>N, failures>=N, ...),
// which only grow and so may still pass by the end of the run.
func AbortBreaches(rs []Result) []Result {
	var out []Result
	for _, r := range rs {
		if r.Passed || r.Missing {
			continue
		}
		if r.Kind == Count && (r.Op == Greater || r.Op == GreaterEq) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// ExitCode is the process exit code of a run in which a threshold failed
// (beside 0 success, 1 failures or errors, 2 usage errors).
const ExitCode = 3
