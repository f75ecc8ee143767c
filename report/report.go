package report

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/golocust/golocust/internal/uplot"
	"time"

	"github.com/golocust/golocust/compare"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/threshold"
)

// Percentiles are the columns of the Response Time Statistics table
// (Locust's PERCENTILES_FOR_HTML_REPORT).
var Percentiles = []float64{0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1}

// Data is everything the report shows.
type Data struct {
	// Title defaults to "Locust Test Report".
	Title string
	// Start and End bound the run; End defaults to the snapshot's last
	// request.
	Start, End time.Time
	// Host is the target host (-H).
	Host string
	// Script names what ran (the program or scenario); optional.
	Script string
	// Users is the user count to show (the peak or the final target).
	Users int
	// Classes are the user classes with their users and task ratios.
	Classes []Class
	// Snapshot is the final (on a master: merged) statistics.
	Snapshot *stats.Snapshot
	// History is the time series behind the charts.
	History []stats.HistoryPoint
	// Thresholds are the evaluated thresholds, if any.
	Thresholds []threshold.Result
	// Baseline compares the run with a baseline run (--baseline), if any.
	Baseline *compare.Report
	// Version is golocust's version, shown in the footer; optional.
	Version string
	// Generated is when the report was made; zero: time.Now.
	Generated time.Time
}

// Class is one user class in the final ratio.
type Class struct {
	Name string
	// Users is how many users of the class ran at the end (or at the peak).
	Users int
	// Share is the class's share of all users in [0, 1]; when every class
	// has Share 0 the shares are computed from Users.
	Share float64
	// Tasks are the class's task shares (each level sums to 1).
	Tasks []TaskShare
}

// TaskShare is a task's share of its set; Nested holds the shares inside
// a nested task set. It mirrors user.TaskShare.
type TaskShare struct {
	Name   string
	Share  float64
	Nested []TaskShare
}

//go:embed assets/report.css assets/report.js assets/report.html
var assets embed.FS

var (
	pageTemplate *template.Template
	script       string
	style        string
	// ContentSecurityPolicy is the policy of the report page: its inline
	// script and style by hash, inline data images, nothing else. A server
	// sending the report (GET /stats/report) must send it as the
	// Content-Security-Policy header instead of a stricter site-wide one.
	ContentSecurityPolicy string
)

func mustRead(name string) string {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// classicUPlot turns the vendored ES module into a classic script that
// defines the global-free local uPlot inside the report's one inline
// script (modules cannot be imported from a file:// page without a server).
func classicUPlot(esm string) string {
	esm = strings.Replace(esm, "\nexport { uPlot as default };", "\n", 1)
	esm = strings.ReplaceAll(esm, "\nexport function ", "\nfunction ")
	return "var uPlot = (function () {\n\"use strict\";\n" + esm + "\nreturn uPlot;\n})();\n"
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func init() {
	script = classicUPlot(uplot.ESM) + mustRead("report.js")
	style = uplot.CSS + "\n" + mustRead("report.css")
	ContentSecurityPolicy = "default-src 'none'; script-src " + hash(script) + "; style-src " + hash(style) +
		"; img-src data:; base-uri 'none'; form-action 'none'"
	pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
		"num": fmtNum,
		"pct": func(v float64) string { return strconv.FormatFloat(round(v*100, 1), 'f', 1, 64) + "%" },
	}).Parse(mustRead("report.html")))
}

// round rounds half away from zero to d decimals.
func round(v float64, d int) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	p := math.Pow10(d)
	return math.Round(v*p) / p
}

// fmtNum prints a number as its JSON encoding does.
func fmtNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 2) }

// Row is one line of the statistics tables, as embedded in the JSON block
// (times in milliseconds, rounded to 2 decimals as in Locust's UI).
type Row struct {
	Method      string    `json:"method"`
	Name        string    `json:"name"`
	Requests    int64     `json:"num_requests"`
	Failures    int64     `json:"num_failures"`
	Avg         float64   `json:"avg_response_time"`
	Min         float64   `json:"min_response_time"`
	Max         float64   `json:"max_response_time"`
	Median      float64   `json:"median_response_time"`
	AvgSize     float64   `json:"avg_content_length"`
	RPS         float64   `json:"total_rps"`
	FailPerSec  float64   `json:"total_fail_per_sec"`
	Percentiles []float64 `json:"response_time_percentiles"` // at Percentiles
	// Exemplars are the slowest traced requests (--traceparent), slowest
	// first; empty when none was traced.
	Exemplars []ExemplarRow `json:"exemplars"`
	P99       float64       `json:"-"`
	IsTotal   bool          `json:"-"`
}

// ExemplarRow is one of a row's slowest traced requests: the trace id to
// open in a tracing tool and its response time in ms. AtP99 marks those at
// or above the row's p99 (all of them are at or below its max).
type ExemplarRow struct {
	TraceID      string  `json:"trace_id"`
	SpanID       string  `json:"span_id"`
	ResponseTime float64 `json:"response_time"`
	AtP99        bool    `json:"at_p99"`
}

// ErrorRow is one failure group.
type ErrorRow struct {
	Method      string `json:"method"`
	Name        string `json:"name"`
	Error       string `json:"error"`
	Occurrences int64  `json:"occurrences"`
	FirstSeen   string `json:"first_seen"`
	LastSeen    string `json:"last_seen"`
}

// ExceptionRow is one exception group.
type ExceptionRow struct {
	Count     int64  `json:"count"`
	Message   string `json:"msg"`
	Traceback string `json:"traceback"`
	Nodes     string `json:"nodes"`
}

// History is the chart data: parallel arrays, times in unix seconds,
// response times in milliseconds.
type History struct {
	Time       []float64 `json:"time"`
	Users      []int     `json:"users"`
	RPS        []float64 `json:"rps"`
	FailPerSec []float64 `json:"fail_per_sec"`
	P50        []float64 `json:"p50"`
	P95        []float64 `json:"p95"`
	Avg        []float64 `json:"avg"`
}

// JSONData is the content of the report's JSON block
// (<script type="application/json" id="report-data">).
type JSONData struct {
	Title       string             `json:"title"`
	Start       string             `json:"start"`
	End         string             `json:"end"`
	DurationSec float64            `json:"duration_seconds"`
	Host        string             `json:"host"`
	Script      string             `json:"script,omitempty"`
	Users       int                `json:"users"`
	Classes     []ClassJSON        `json:"classes"`
	Percentiles []float64          `json:"percentiles"`
	Stats       []Row              `json:"stats"` // the Aggregated row is last
	Errors      []ErrorRow         `json:"errors"`
	Exceptions  []ExceptionRow     `json:"exceptions"`
	History     History            `json:"history"`
	Thresholds  []threshold.Result `json:"thresholds"`
}

// ClassJSON is a class in the JSON block.
type ClassJSON struct {
	Name  string      `json:"name"`
	Users int         `json:"users"`
	Share float64     `json:"share"`
	Tasks []TaskShare `json:"tasks"`
}

// MarshalJSON writes {"name", "share", "tasks"}.
func (t TaskShare) MarshalJSON() ([]byte, error) {
	n := t.Nested
	if n == nil {
		n = []TaskShare{}
	}
	return json.Marshal(struct {
		Name   string      `json:"name"`
		Share  float64     `json:"share"`
		Nested []TaskShare `json:"tasks"`
	}{t.Name, t.Share, n})
}

type pageView struct {
	Title, Span, Host, Script, Version, Generated string
	Users                                         int
	Classes                                       []Class
	TotalRatio                                    []TaskShare
	Stats                                         []Row
	PercentileLabels                              []string
	Errors                                        []ErrorRow
	Exceptions                                    []ExceptionRow
	HasHistory                                    bool
	Traced                                        []Row // the rows with exemplars
	Thresholds                                    []threshold.Result
	AllPassed                                     bool
	FailedCount                                   int
	// Lag is the generator's lag beside the corrected latency ("" when no
	// iteration had an intended start); Ended the users that ended early.
	Lag   string
	Ended []endedRow
	// Baseline is the comparison with --baseline; nil without one.
	Baseline *baselineView
	CSP      string
	Style    template.CSS
	Code     template.JS
	JSON     template.JS
}

// baselineView is the comparison with the baseline as the page shows it.
type baselineView struct {
	File, Settings, Summary string
	Regressed               bool
	Header                  []string
	Rows                    []baselineRow
}

type baselineRow struct {
	Cells     []string
	Regressed bool
	Total     bool
}

func baselineOf(rep *compare.Report) *baselineView {
	if rep == nil {
		return nil
	}
	v := &baselineView{File: rep.BaseName, Settings: rep.Settings(), Summary: rep.Summary(), Regressed: rep.Regressed(), Header: rep.Header()}
	for i := range rep.Rows {
		v.Rows = append(v.Rows, baselineRow{Cells: rep.Cells(i), Regressed: rep.Rows[i].Regressed(), Total: rep.Rows[i].Aggregated()})
	}
	return v
}

type endedRow struct {
	Reason string
	Count  int64
}

// lagText describes the generator's lag and the corrected latency, in ms
// with microsecond precision.
func lagText(s *stats.Snapshot) string {
	if s == nil || s.Lag == nil || s.Lag.TotalCount() == 0 {
		return ""
	}
	f := func(us int64) string { return strconv.FormatFloat(float64(us)/1000, 'f', 3, 64) }
	out := fmt.Sprintf("p50 %s ms, p99 %s ms (intended to actual start of %d paced or arrival-rate iterations)",
		f(s.Lag.ValueAtQuantile(50)), f(s.Lag.ValueAtQuantile(99)), s.Lag.TotalCount())
	if t := s.Total; t != nil && t.CorrectedHist != nil && t.CorrectedHist.TotalCount() > 0 {
		out += fmt.Sprintf("; corrected latency p50 %s ms, p99 %s ms",
			f(t.CorrectedHist.ValueAtQuantile(50)), f(t.CorrectedHist.ValueAtQuantile(99)))
	}
	return out
}

func endedRows(s *stats.Snapshot) []endedRow {
	if s == nil {
		return nil
	}
	var out []endedRow
	for r, n := range s.EndedUsers {
		out = append(out, endedRow{r, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Reason < out[j].Reason })
	return out
}

func iso(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// Build computes the report's data (what the JSON block holds).
func Build(d Data) JSONData {
	snap := d.Snapshot
	if snap == nil {
		snap = &stats.Snapshot{Total: &stats.Entry{Name: stats.AggregatedName}}
	}
	end := d.End
	if end.IsZero() {
		end = snap.LastRequest
	}
	start := d.Start
	if start.IsZero() {
		start = snap.Start
	}
	j := JSONData{
		Title: d.Title, Start: iso(start), End: iso(end), Host: d.Host, Script: d.Script, Users: d.Users,
		Percentiles: Percentiles, Classes: []ClassJSON{}, Stats: []Row{}, Errors: []ErrorRow{},
		Exceptions: []ExceptionRow{}, Thresholds: d.Thresholds,
	}
	if j.Title == "" {
		j.Title = "Locust Test Report"
	}
	if !start.IsZero() && !end.IsZero() && end.After(start) {
		j.DurationSec = round(end.Sub(start).Seconds(), 3)
	}
	if j.Thresholds == nil {
		j.Thresholds = []threshold.Result{}
	}
	for _, c := range classes(d.Classes) {
		t := c.Tasks
		if t == nil {
			t = []TaskShare{}
		}
		j.Classes = append(j.Classes, ClassJSON{Name: c.Name, Users: c.Users, Share: c.Share, Tasks: t})
	}
	span := 0.0
	if !snap.Start.IsZero() && snap.LastRequest.After(snap.Start) {
		span = snap.LastRequest.Sub(snap.Start).Seconds()
	}
	row := func(e *stats.Entry, total bool) Row {
		r := Row{
			Method: e.Method, Name: e.Name, Requests: e.NumRequests, Failures: e.NumFailures,
			Avg: ms(e.Avg()), Min: ms(e.Min), Max: ms(e.Max), Median: ms(e.Median()),
			AvgSize: round(e.AvgSize(), 2), IsTotal: total,
			Percentiles: make([]float64, len(Percentiles)),
		}
		if span > 0 {
			r.RPS = round(float64(e.NumRequests)/span, 2)
			r.FailPerSec = round(float64(e.NumFailures)/span, 2)
		}
		for i, p := range Percentiles {
			r.Percentiles[i] = ms(e.Percentile(p))
		}
		r.P99 = ms(e.Percentile(0.99))
		atP99 := len(e.ExemplarsAtPercentile(0.99))
		r.Exemplars = make([]ExemplarRow, len(e.Exemplars))
		for i, x := range e.Exemplars {
			r.Exemplars[i] = ExemplarRow{TraceID: x.TraceID.String(), SpanID: x.SpanID.String(),
				ResponseTime: ms(x.Duration), AtP99: i < atP99}
		}
		return r
	}
	for _, e := range snap.Entries {
		j.Stats = append(j.Stats, row(e, false))
	}
	if snap.Total != nil {
		j.Stats = append(j.Stats, row(snap.Total, true))
	}
	for _, e := range snap.Errors {
		j.Errors = append(j.Errors, ErrorRow{Method: e.Method, Name: e.Name, Error: e.Message,
			Occurrences: e.Occurrences, FirstSeen: iso(e.FirstSeen), LastSeen: iso(e.LastSeen)})
	}
	for _, x := range snap.Exceptions {
		j.Exceptions = append(j.Exceptions, ExceptionRow{Count: x.Count, Message: x.Message,
			Traceback: x.Traceback, Nodes: strings.Join(x.Nodes, ", ")})
	}
	h := History{Time: []float64{}, Users: []int{}, RPS: []float64{}, FailPerSec: []float64{},
		P50: []float64{}, P95: []float64{}, Avg: []float64{}}
	for _, p := range d.History {
		h.Time = append(h.Time, float64(p.Time.UnixMilli())/1000)
		h.Users = append(h.Users, p.UserCount)
		h.RPS = append(h.RPS, round(p.RPS, 2))
		h.FailPerSec = append(h.FailPerSec, round(p.FailPerSec, 2))
		h.P50 = append(h.P50, ms(p.P50))
		h.P95 = append(h.P95, ms(p.P95))
		h.Avg = append(h.Avg, ms(p.AvgResponse))
	}
	j.History = h
	return j
}

// classes fills in the shares from the user counts when none is given,
// and sorts by share, largest first (then by name).
func classes(cs []Class) []Class {
	out := append([]Class(nil), cs...)
	var sum float64
	users := 0
	for _, c := range out {
		sum += c.Share
		users += c.Users
	}
	if sum == 0 && users > 0 {
		for i := range out {
			out[i].Share = float64(out[i].Users) / float64(users)
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Share != out[b].Share {
			return out[a].Share > out[b].Share
		}
		return out[a].Name < out[b].Name
	})
	return out
}

// totalRatio is Locust's "Total Ratio": each task's share of all task
// runs, that is its class's share times its share in the class; tasks of
// the same name in different classes are listed per class
// ("Class.task"), nested sets are scaled along.
func totalRatio(cs []Class) []TaskShare {
	var out []TaskShare
	var scale func(ts []TaskShare, f float64) []TaskShare
	scale = func(ts []TaskShare, f float64) []TaskShare {
		if len(ts) == 0 {
			return nil
		}
		r := make([]TaskShare, len(ts))
		for i, t := range ts {
			r[i] = TaskShare{Name: t.Name, Share: t.Share * f, Nested: scale(t.Nested, t.Share*f)}
		}
		return r
	}
	for _, c := range cs {
		for _, t := range scale(c.Tasks, c.Share) {
			t.Name = c.Name + "." + t.Name
			out = append(out, t)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Share > out[b].Share })
	return out
}

func fmtDuration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %dm %ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// Write writes the report as one self-contained HTML page.
func Write(w io.Writer, d Data) error {
	j := Build(d)
	blob, err := json.Marshal(j) // escapes <, >, &, U+2028 and U+2029
	if err != nil {
		return fmt.Errorf("report: encoding the data: %w", err)
	}
	cs := classes(d.Classes)
	generated := d.Generated
	if generated.IsZero() {
		generated = time.Now()
	}
	p := pageView{
		Title: j.Title, Host: d.Host, Script: d.Script, Version: d.Version, Users: d.Users,
		Generated: iso(generated), Classes: cs, TotalRatio: totalRatio(cs), Stats: j.Stats,
		Errors: j.Errors, Exceptions: j.Exceptions, HasHistory: len(d.History) > 0,
		Thresholds: d.Thresholds, AllPassed: threshold.AllPassed(d.Thresholds),
		FailedCount: len(threshold.Failed(d.Thresholds)),
		Lag:         lagText(d.Snapshot), Ended: endedRows(d.Snapshot), Baseline: baselineOf(d.Baseline),
		CSP: ContentSecurityPolicy, Style: template.CSS(style), Code: template.JS(script),
		JSON: template.JS(blob),
	}
	for _, r := range j.Stats {
		if len(r.Exemplars) > 0 {
			p.Traced = append(p.Traced, r)
		}
	}
	for _, q := range Percentiles {
		p.PercentileLabels = append(p.PercentileLabels, strconv.FormatFloat(q*100, 'f', -1, 64)+"%ile (ms)")
	}
	switch {
	case j.Start == "":
		p.Span = "no requests were made"
	case j.End == "":
		p.Span = j.Start
	default:
		p.Span = fmt.Sprintf("%s – %s (%s)", j.Start, j.End, fmtDuration(time.Duration(j.DurationSec*float64(time.Second))))
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, p); err != nil {
		return fmt.Errorf("report: rendering: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("report: writing: %w", err)
	}
	return nil
}
