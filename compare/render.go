package compare

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/golocust/golocust/stats"
)

// Method names the statistical tests, for the table's title and the JSON.
const Method = "quantile test (Mood's, per percentile) and two-proportion z-test (failure ratio)"

// WriteTable prints the comparison as a table, one line per endpoint and
// Aggregated last:
//
//	Name            reqs        p50 ms              p95 ms              p99 ms              req/s              fail %       verdict
//	GET /cart       1200/1180   5.21→5.23 +0%       5.62→5.70 +1%       6.1→6.4 +5%         400→393 -2%        0→0          no significant change
//	GET /checkout   1200/1010   5.21→6.26 +20%*     ...
//
// A * marks a percentile change that is significant and at least
// Options.MinChange; the last line says how many endpoints regressed.
func WriteTable(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Comparison with the baseline%s (%s)\n", r.nameSuffix(), r.Settings())
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(r.Header(), "\t"))
	for i := range r.Rows {
		cells := r.Cells(i)
		cells[0] = printable(cells[0])
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
	b.WriteString(printable(r.Summary()) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Settings says what the verdicts mean: "99% confidence; changes under 5%
// ignored".
func (r *Report) Settings() string {
	return pct(r.Options.Confidence) + " confidence; changes under " + pct(r.Options.MinChange) + " ignored"
}

// Summary is the table's last line: which endpoints regressed, or that
// none did.
func (r *Report) Summary() string {
	regs := r.Regressions()
	if len(regs) == 0 {
		return "No endpoint got significantly slower or failed more often."
	}
	names := make([]string, len(regs))
	for i := range regs {
		names[i] = regs[i].Label() + " (" + regs[i].Verdict() + ")"
	}
	return fmt.Sprintf("%d endpoint(s) regressed: %s", len(regs), strings.Join(names, ", "))
}

// Header is the table's header: Name, reqs base/now, one column per
// compared percentile, req/s, fail % and verdict.
func (r *Report) Header() []string {
	head := []string{"Name", "reqs base/now"}
	for _, q := range r.Options.Percentiles {
		head = append(head, "p"+strings.TrimSuffix(stats.PercentileLabel(q), "%")+" ms")
	}
	return append(head, "req/s", "fail %", "verdict")
}

// Cells is row i of the table as text, one cell per Header column, e.g.
// "GET /checkout", "1200/1010", "5.21→6.26 +20%*", ...; a * marks a change
// that counts (significant and at least Options.MinChange).
func (r *Report) Cells(i int) []string {
	row := &r.Rows[i]
	cells := []string{row.Label()}
	switch row.Presence {
	case OnlyBaseline:
		cells = append(cells, fmt.Sprintf("%d/-", row.Base.Requests))
	case OnlyCurrent:
		cells = append(cells, fmt.Sprintf("-/%d", row.Cur.Requests))
	default:
		cells = append(cells, fmt.Sprintf("%d/%d", row.Base.Requests, row.Cur.Requests))
	}
	for j := range r.Options.Percentiles {
		cells = append(cells, row.percentileCell(j))
	}
	return append(cells,
		row.pair(func(s Side) string { return num(s.RPS) }, row.RPSChange, false),
		row.pair(func(s Side) string { return num(100 * s.FailRatio) }, math.NaN(), row.MoreFailures),
		row.Verdict())
}

func (r *Report) nameSuffix() string {
	switch {
	case r.BaseName != "" && r.CurName != "":
		return " " + printable(r.BaseName) + " (now: " + printable(r.CurName) + ")"
	case r.BaseName != "":
		return " " + printable(r.BaseName)
	}
	return ""
}

func (row *Row) percentileCell(j int) string {
	switch row.Presence {
	case OnlyBaseline:
		return msText(row.Base.Percentiles[j]) + "→-"
	case OnlyCurrent:
		return "-→" + msText(row.Cur.Percentiles[j])
	}
	pc := row.Percentiles[j]
	s := msText(pc.Base) + "→" + msText(pc.Cur) + " " + changeText(pc.Change)
	if pc.Slower || pc.Faster {
		s += "*"
	}
	return s
}

func (row *Row) pair(f func(Side) string, change float64, flagged bool) string {
	var s string
	switch row.Presence {
	case OnlyBaseline:
		s = f(row.Base) + "→-"
	case OnlyCurrent:
		s = "-→" + f(row.Cur)
	default:
		s = f(row.Base) + "→" + f(row.Cur)
		if !math.IsNaN(change) {
			s += " " + changeText(change)
		}
	}
	if flagged {
		s += "*"
	}
	return s
}

// msText is a duration in milliseconds with 3 significant digits at most.
func msText(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v >= 100:
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	case v >= 10:
		return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
	}
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

func changeText(c float64) string {
	if math.IsNaN(c) {
		return "(new)"
	}
	return fmt.Sprintf("%+.0f%%", 100*c)
}

func pct(f float64) string { return strconv.FormatFloat(math.Round(f*1000)/10, 'f', -1, 64) + "%" }

func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 2, 64)
}

// printable escapes control characters, so that an endpoint name cannot
// rewrite the terminal.
func printable(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			q := strconv.QuoteToASCII(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

// The JSON shape of a Report (the "baseline" section of the JSON output):
// durations in milliseconds as everywhere in Locust's JSON; a change that
// has no value (from a baseline of 0) is null.
type (
	jsonReport struct {
		File          string    `json:"file,omitempty"`
		Method        string    `json:"method"`
		Confidence    float64   `json:"confidence"`
		MinChange     float64   `json:"min_change"`
		MinFailChange float64   `json:"min_fail_change"`
		Regressed     bool      `json:"regressed"`
		Rows          []jsonRow `json:"rows"`
	}
	jsonRow struct {
		Method       string           `json:"method"`
		Name         string           `json:"name"`
		Presence     string           `json:"presence"`
		Verdict      string           `json:"verdict"`
		Slower       bool             `json:"slower"`
		Faster       bool             `json:"faster"`
		MoreFailures bool             `json:"more_failures"`
		Baseline     *jsonSide        `json:"baseline"`
		Current      *jsonSide        `json:"current"`
		Percentiles  []jsonPercentile `json:"percentiles,omitempty"`
		RPSChange    *float64         `json:"rps_change,omitempty"`
		FailChange   *float64         `json:"fail_ratio_change,omitempty"`
		FailTest     *jsonTest        `json:"fail_ratio_test,omitempty"`
	}
	jsonSide struct {
		Requests    int64              `json:"num_requests"`
		Failures    int64              `json:"num_failures"`
		RPS         float64            `json:"rps"`
		FailRatio   float64            `json:"fail_ratio"`
		Percentiles map[string]float64 `json:"response_time_percentiles"`
	}
	jsonPercentile struct {
		Percentile float64  `json:"percentile"`
		BaselineMs float64  `json:"baseline"`
		CurrentMs  float64  `json:"current"`
		Change     *float64 `json:"change"`
		jsonTest
		Slower bool `json:"slower"`
		Faster bool `json:"faster"`
	}
	jsonTest struct {
		Z           float64 `json:"z"`
		P           float64 `json:"p_value"`
		Significant bool    `json:"significant"`
		TooFew      bool    `json:"too_few_samples"`
	}
)

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (s Side) json(ps []float64) *jsonSide {
	j := &jsonSide{Requests: s.Requests, Failures: s.Failures, RPS: s.RPS, FailRatio: s.FailRatio, Percentiles: map[string]float64{}}
	for i, q := range ps {
		if i < len(s.Percentiles) {
			j.Percentiles[strconv.FormatFloat(q, 'f', -1, 64)] = ms(s.Percentiles[i])
		}
	}
	return j
}

func (t Test) json() jsonTest {
	j := jsonTest(t)
	if math.IsNaN(j.Z) || math.IsInf(j.Z, 0) {
		j.Z = 0
	}
	return j
}

// MarshalJSON writes the report: the options, "regressed" and one object
// per row with both sides, each percentile's change and test, and the
// failure ratio's.
func (r *Report) MarshalJSON() ([]byte, error) {
	j := jsonReport{File: r.BaseName, Method: Method, Confidence: r.Options.Confidence, MinChange: r.Options.MinChange,
		MinFailChange: r.Options.MinFailChange, Regressed: r.Regressed(), Rows: []jsonRow{}}
	for i := range r.Rows {
		row := &r.Rows[i]
		jr := jsonRow{Method: row.Method, Name: row.Name, Verdict: row.Verdict(), Slower: row.Slower, Faster: row.Faster, MoreFailures: row.MoreFailures}
		switch row.Presence {
		case OnlyBaseline:
			jr.Presence, jr.Baseline = "only_baseline", row.Base.json(r.Options.Percentiles)
		case OnlyCurrent:
			jr.Presence, jr.Current = "only_current", row.Cur.json(r.Options.Percentiles)
		default:
			jr.Presence = "both"
			jr.Baseline, jr.Current = row.Base.json(r.Options.Percentiles), row.Cur.json(r.Options.Percentiles)
			for _, pc := range row.Percentiles {
				jr.Percentiles = append(jr.Percentiles, jsonPercentile{Percentile: pc.Q, BaselineMs: ms(pc.Base), CurrentMs: ms(pc.Cur),
					Change: finite(pc.Change), jsonTest: pc.Test.json(), Slower: pc.Slower, Faster: pc.Faster})
			}
			jr.RPSChange, jr.FailChange = finite(row.RPSChange), finite(row.FailChange)
			ft := row.FailTest.json()
			jr.FailTest = &ft
		}
		j.Rows = append(j.Rows, jr)
	}
	return json.Marshal(j)
}
