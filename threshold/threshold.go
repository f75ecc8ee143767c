package threshold

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/golocust/golocust/internal/timespan"
)

// Kind is the kind of quantity a metric measures; it decides the unit of
// Threshold.Bound and Result.Measured.
type Kind int

const (
	// Duration values are nanoseconds.
	Duration Kind = iota
	// Ratio values are fractions in [0, 1].
	Ratio
	// Rate values are events per second.
	Rate
	// Count values are event counts.
	Count
)

// Op is a comparison operator.
type Op int

// The comparison operators.
const (
	Less Op = iota
	LessEq
	Greater
	GreaterEq
)

func (o Op) String() string {
	switch o {
	case Less:
		return "<"
	case LessEq:
		return "<="
	case Greater:
		return ">"
	case GreaterEq:
		return ">="
	}
	return "?"
}

// holds reports whether "measured OP bound" is true.
func (o Op) holds(measured, bound float64) bool {
	switch o {
	case Less:
		return measured < bound
	case LessEq:
		return measured <= bound
	case Greater:
		return measured > bound
	case GreaterEq:
		return measured >= bound
	}
	return false
}

// Threshold is one parsed expression.
type Threshold struct {
	// Expr is the expression as given (trimmed).
	Expr string
	// Target is the request name the metric is read from: "METHOD NAME" or
	// "NAME"; empty means all requests (the Aggregated row).
	Target string
	// Metric is the canonical metric name, e.g. "p95", "p99.9", "avg",
	// "fail_ratio", "corrected_p99", "dropped_iterations".
	Metric string
	// Quantile is the percentile as a fraction in (0, 1] for the percentile
	// metrics (median included); 0 otherwise.
	Quantile float64
	// Corrected selects the coordinated-omission-corrected latencies.
	Corrected bool
	Op        Op
	// Bound is the limit in the unit of Kind (nanoseconds for durations).
	Bound float64
	Kind  Kind
	// Unit is the unit the bound was written in ("ms", "s", "%", ...; empty
	// for plain numbers). Measured values are shown in the same unit.
	Unit string
	// Baseline is set for a bound relative to the baseline run, such as
	// p95<baseline*1.10: the bound is Factor times the same metric of the
	// same target in the baseline (EvaluateAgainst), and Bound is 0 until
	// then.
	Baseline bool
	// Factor multiplies the baseline's value; 1 for a bare "baseline".
	Factor float64
}

// Example is shown in parse errors.
const Example = `p95<300ms, p99.9<1s, avg<100ms, fail_ratio<0.01, rps>500, "GET /item:p99<500ms"`

// ParseError is returned by Parse.
type ParseError struct {
	Expr string
	Msg  string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("invalid threshold %q: %s (examples: %s)", e.Expr, e.Msg, Example)
}

func perr(expr, format string, args ...any) error {
	return &ParseError{Expr: expr, Msg: fmt.Sprintf(format, args...)}
}

// simple metrics; percentiles are parsed separately.
var simpleMetrics = map[string]Kind{
	"avg":        Duration,
	"min":        Duration,
	"max":        Duration,
	"median":     Duration,
	"fail_ratio": Ratio,
	"rps":        Rate,
	"requests":   Count,
	"failures":   Count,
}

// extraMetrics are whole-run metrics that the snapshot does not hold; their
// values come from the extra map of EvaluateWith. Add new ones here.
var extraMetrics = map[string]Kind{
	"dropped_iterations": Count,
}

const metricList = "pNN (e.g. p95, p99.9), median, avg, min, max, corrected_pNN, fail_ratio, rps, requests, failures, dropped_iterations"

// Parse parses one expression. The error, a *ParseError, names the
// expression, says what was wrong and gives examples.
func Parse(expr string) (Threshold, error) {
	s := strings.TrimSpace(expr)
	if s == "" {
		return Threshold{}, perr(expr, "the expression is empty")
	}
	i := strings.LastIndexAny(s, "<>")
	if i < 0 {
		return Threshold{}, perr(expr, "no comparison operator: expected METRIC<BOUND, METRIC<=BOUND, METRIC>BOUND or METRIC>=BOUND")
	}
	t := Threshold{Expr: s}
	rhs := s[i+1:]
	greater := s[i] == '>'
	if strings.HasPrefix(rhs, "=") {
		rhs = rhs[1:]
		t.Op = map[bool]Op{false: LessEq, true: GreaterEq}[greater]
	} else {
		t.Op = map[bool]Op{false: Less, true: Greater}[greater]
	}
	lhs := strings.TrimSpace(s[:i])
	rhs = strings.TrimSpace(rhs)
	if lhs == "" {
		return Threshold{}, perr(expr, "missing metric before %q; metrics are %s", t.Op.String(), metricList)
	}
	metric := lhs
	if j := strings.LastIndexByte(lhs, ':'); j >= 0 {
		t.Target = strings.TrimSpace(lhs[:j])
		metric = strings.TrimSpace(lhs[j+1:])
		if t.Target == "" {
			return Threshold{}, perr(expr, "empty request name before ':'; write NAME:METRIC or \"METHOD NAME:METRIC\"")
		}
	}
	if err := t.parseMetric(expr, metric); err != nil {
		return Threshold{}, err
	}
	if len(rhs) >= len("baseline") && strings.EqualFold(rhs[:len("baseline")], "baseline") {
		if err := t.parseBaseline(expr, rhs); err != nil {
			return Threshold{}, err
		}
		return t, nil
	}
	if err := t.parseBound(expr, rhs); err != nil {
		return Threshold{}, err
	}
	return t, nil
}

// MustParse is Parse that panics on error, for tests and fixed
// expressions.
func MustParse(expr string) Threshold {
	t, err := Parse(expr)
	if err != nil {
		panic(err)
	}
	return t
}

// ParseAll parses every expression and returns the first error.
func ParseAll(exprs []string) ([]Threshold, error) {
	out := make([]Threshold, 0, len(exprs))
	for _, e := range exprs {
		t, err := Parse(e)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func (t *Threshold) parseMetric(expr, m string) error {
	m = strings.ToLower(m)
	if m == "" {
		return perr(expr, "missing metric after ':'; metrics are %s", metricList)
	}
	if k, ok := simpleMetrics[m]; ok {
		t.Metric, t.Kind = m, k
		if m == "median" {
			t.Quantile = 0.5
		}
		return nil
	}
	if k, ok := extraMetrics[m]; ok {
		if t.Target != "" {
			return perr(expr, "%s is a whole-run metric and takes no request name; write %s<N", m, m)
		}
		t.Metric, t.Kind = m, k
		return nil
	}
	p := m
	if rest, ok := strings.CutPrefix(p, "corrected_"); ok {
		t.Corrected = true
		p = rest
	}
	if len(p) < 2 || p[0] != 'p' {
		return perr(expr, "unknown metric %q; metrics are %s", m, metricList)
	}
	digits := p[1:]
	for _, c := range digits {
		if (c < '0' || c > '9') && c != '.' {
			return perr(expr, "unknown metric %q; metrics are %s", m, metricList)
		}
	}
	v, err := strconv.ParseFloat(digits, 64)
	if err != nil || !(v > 0 && v <= 100) {
		return perr(expr, "percentile %q must be a number in (0, 100], e.g. p95 or p99.9", m)
	}
	t.Quantile = v / 100
	t.Kind = Duration
	t.Metric = "p" + strconv.FormatFloat(v, 'f', -1, 64)
	if t.Corrected {
		t.Metric = "corrected_" + t.Metric
	}
	return nil
}

// maxFactor bounds the factor of a baseline bound, so that the bound stays
// finite whatever the baseline measured.
const maxFactor = 1000

// parseBaseline parses "baseline" or "baseline*FACTOR" (FACTOR a plain
// number or a percentage: baseline*1.1, baseline*110%).
func (t *Threshold) parseBaseline(expr, rhs string) error {
	if _, ok := extraMetrics[t.Metric]; ok {
		return perr(expr, "%s is not in a baseline file; compare it with a fixed bound, e.g. %s<10", t.Metric, t.Metric)
	}
	rest := strings.TrimSpace(rhs[len("baseline"):])
	t.Baseline, t.Factor = true, 1
	if rest == "" {
		return nil
	}
	f, ok := strings.CutPrefix(rest, "*")
	if !ok {
		return perr(expr, "after baseline write *FACTOR, e.g. %s<baseline*1.10", t.Metric)
	}
	f = strings.TrimSpace(f)
	scale := 1.0
	if num, pct := strings.CutSuffix(f, "%"); pct {
		f, scale = strings.TrimSpace(num), 100
	}
	v, err := strconv.ParseFloat(f, 64)
	if f == "" || err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return perr(expr, "the factor %q after baseline* is not a number, e.g. %s<baseline*1.10", f, t.Metric)
	}
	if v /= scale; v < 0 || v > maxFactor {
		return perr(expr, "the factor %v after baseline* must be from 0 to %d", v, maxFactor)
	}
	t.Factor = v
	return nil
}

var durationUnits = []struct {
	name string
	d    time.Duration
}{
	{"ns", time.Nanosecond}, {"us", time.Microsecond}, {"µs", time.Microsecond}, {"μs", time.Microsecond},
	{"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour},
}

// splitNumber splits "12.5ms" into "12.5" and "ms".
func splitNumber(s string) (num, unit string) {
	i := 0
	for i < len(s) {
		c := s[i]
		if (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '-' ||
			((c == 'e' || c == 'E') && i > 0 && i+1 < len(s) && (s[i+1] == '-' || s[i+1] == '+' || (s[i+1] >= '0' && s[i+1] <= '9'))) {
			i++
			continue
		}
		break
	}
	return s[:i], strings.TrimSpace(s[i:])
}

func (t *Threshold) parseBound(expr, rhs string) error {
	if rhs == "" {
		return perr(expr, "missing bound after %q", t.Op.String())
	}
	num, unit := splitNumber(rhs)
	v, err := strconv.ParseFloat(num, 64)
	if num == "" || err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return perr(expr, "bound %q is not a number", rhs)
	}
	if v < 0 {
		return perr(expr, "bound %q is negative", rhs)
	}
	t.Unit = unit
	switch t.Kind {
	case Duration:
		if unit == "" {
			return perr(expr, "%s needs a time unit (ns, us, ms, s, m, h), e.g. %s<300ms", t.Metric, t.Metric)
		}
		for _, u := range durationUnits {
			if u.name == unit {
				t.Bound = v * float64(u.d)
				if t.Bound > float64(timespan.Max) {
					return perr(expr, "bound %q is longer than the largest accepted span, %s", rhs, timespan.MaxText)
				}
				if u.name == "μs" {
					t.Unit = "µs"
				}
				return nil
			}
		}
		return perr(expr, "unknown time unit %q; use ns, us, ms, s, m or h", unit)
	case Ratio:
		switch unit {
		case "":
			if v > 1 {
				return perr(expr, "%s is a fraction in [0, 1] (or a percentage with %%), got %s", t.Metric, num)
			}
			t.Bound = v
		case "%":
			if v > 100 {
				return perr(expr, "percentage %s%% is above 100%%", num)
			}
			t.Bound = v / 100
		default:
			return perr(expr, "%s takes a plain fraction or a percentage, e.g. %s<0.01 or %s<1%%", t.Metric, t.Metric, t.Metric)
		}
	case Rate:
		if unit != "" && unit != "/s" {
			return perr(expr, "%s is per second and takes a plain number, e.g. %s>500", t.Metric, t.Metric)
		}
		t.Bound = v
	case Count:
		if unit != "" {
			return perr(expr, "%s is a count and takes a plain number, e.g. %s<10", t.Metric, t.Metric)
		}
		t.Bound = v
	}
	return nil
}

// String returns the expression.
func (t Threshold) String() string { return t.Expr }

// List is a repeatable command-line flag of thresholds (flag.Value).
type List []Threshold

// Set parses and appends one expression.
func (l *List) Set(s string) error {
	t, err := Parse(s)
	if err != nil {
		return err
	}
	*l = append(*l, t)
	return nil
}

// String joins the expressions with commas.
func (l *List) String() string {
	if l == nil {
		return ""
	}
	s := make([]string, len(*l))
	for i, t := range *l {
		s[i] = t.Expr
	}
	return strings.Join(s, ", ")
}
