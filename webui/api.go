package webui

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/webui/audit"
)

// MaxRows is the number of stats rows and error rows /stats/requests sends
// (plus the Aggregated row), as in Locust.
const MaxRows = 500

// slowStats: when building /stats/requests takes longer, the answer is
// cached for statsCacheTTL.
const (
	slowStats     = 5 * time.Millisecond
	statsCacheTTL = 2 * time.Second
)

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding JSON: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	b, err := staticFS.ReadFile("static/index.html")
	if err != nil {
		http.Error(w, "index missing", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

// swarm answers POST /swarm: start a test, or edit the running one.
func (s *Server) swarm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "message": "could not read the form: " + err.Error()})
		return
	}
	c := s.o.Controller
	state := c.State()
	edit := state == StateRunning || state == StateSpawning
	action := audit.Start
	if edit {
		action = audit.Edit
	}
	var params []CustomParam
	if s.o.Params != nil {
		params = s.o.Params()
	}
	req, ferr := parseSwarm(r.PostForm, c.ClassNames(), s.shapeNames(), edit)
	if ferr == nil && !edit {
		req.Params = formParams(r.PostForm, params)
	}
	if ferr != nil {
		s.record(r, audit.Event{Action: action, Outcome: audit.Refused, Reason: ferr.Error(), Detail: formDetail(maskSecrets(r.PostForm, params))})
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "message": ferr.Error(), "field": ferr.Field})
		return
	}
	if c.IsMaster() && activeWorkers(c.Workers()) == 0 {
		s.record(r, audit.Event{Action: action, Outcome: audit.Failed, Reason: ErrNoWorkers.Error(), Detail: startDetail(req)})
		writeJSON(w, http.StatusConflict, map[string]any{"success": false, "message": ErrNoWorkers.Error()})
		return
	}
	if err := c.Start(req); err != nil {
		outcome := audit.Failed
		if errors.Is(err, ErrInvalid) {
			outcome = audit.Refused
		}
		s.record(r, audit.Event{Action: action, Outcome: outcome, Reason: err.Error(), Detail: startDetail(req)})
		ans := map[string]any{"success": false, "message": err.Error()}
		code := http.StatusInternalServerError
		var fe *FieldError
		switch {
		case errors.As(err, &fe):
			ans["field"] = fe.Field
			code = http.StatusBadRequest
		case errors.Is(err, ErrInvalid):
			code = http.StatusBadRequest
		case errors.Is(err, ErrNoWorkers), errors.Is(err, ErrConflict):
			code = http.StatusConflict
		default:
			s.log.Error("starting the test from the web UI", zap.Error(err))
		}
		writeJSON(w, code, ans)
		return
	}
	s.dropCache()
	s.record(r, audit.Event{Action: action, Detail: startDetail(req)})
	msg := "Swarming started"
	if req.Shape != "" {
		msg = "Swarming started using shape class '" + req.Shape + "'"
	}
	if edit {
		msg = "Load test updated"
	}
	ans := map[string]any{"success": true, "message": msg, "host": c.Host()}
	if req.RunTime > 0 {
		ans["run_time"] = int64(req.RunTime / time.Second)
	}
	if len(req.Classes) > 0 {
		ans["user_classes"] = req.Classes
	}
	if req.Shape != "" {
		ans["shape_class"] = req.Shape
	}
	writeJSON(w, http.StatusOK, ans)
}

func activeWorkers(ws []WorkerInfo) int {
	n := 0
	for _, w := range ws {
		if w.State != StateMissing {
			n++
		}
	}
	return n
}

func (s *Server) stop(w http.ResponseWriter, r *http.Request) {
	if err := s.o.Controller.Stop(); err != nil {
		s.record(r, audit.Event{Action: audit.Stop, Outcome: audit.Failed, Reason: err.Error()})
		code := http.StatusInternalServerError
		if errors.Is(err, ErrConflict) {
			code = http.StatusConflict
		}
		writeJSON(w, code, map[string]any{"success": false, "message": err.Error()})
		return
	}
	s.dropCache()
	s.record(r, audit.Event{Action: audit.Stop})
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "message": "Test stopped"})
}

// reset answers "ok" as Locust does.
func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	s.o.Controller.ResetStats()
	s.dropCache()
	s.record(r, audit.Event{Action: audit.Reset})
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, "ok")
}

// ms converts a duration to float milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// finite keeps NaN and Inf out of the JSON.
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

type statsRow struct {
	Method             string  `json:"method"`
	Name               string  `json:"name"`
	NumRequests        int64   `json:"num_requests"`
	NumFailures        int64   `json:"num_failures"`
	MinResponseTime    float64 `json:"min_response_time"`
	MaxResponseTime    float64 `json:"max_response_time"`
	CurrentRPS         float64 `json:"current_rps"`
	CurrentFailPerSec  float64 `json:"current_fail_per_sec"`
	AvgResponseTime    float64 `json:"avg_response_time"`
	MedianResponseTime float64 `json:"median_response_time"`
	TotalRPS           float64 `json:"total_rps"`
	TotalFailPerSec    float64 `json:"total_fail_per_sec"`
	P95                float64 `json:"response_time_percentile_0.95"`
	P99                float64 `json:"response_time_percentile_0.99"`
	AvgContentLength   float64 `json:"avg_content_length"`
	// Exemplars are the slowest traced requests (--traceparent), slowest
	// first: the table shows them when the p99 or max is clicked.
	Exemplars []exemplarRow `json:"exemplars,omitempty"`
}

// exemplarRow is one traced request of a row; AtP99 marks those at or
// above its p99.
type exemplarRow struct {
	TraceID      string  `json:"trace_id"`
	SpanID       string  `json:"span_id"`
	ResponseTime float64 `json:"response_time"`
	AtP99        bool    `json:"at_p99"`
}

func exemplarRows(e *stats.Entry) []exemplarRow {
	if len(e.Exemplars) == 0 {
		return nil
	}
	at := len(e.ExemplarsAtPercentile(0.99))
	out := make([]exemplarRow, len(e.Exemplars))
	for i, x := range e.Exemplars {
		out[i] = exemplarRow{TraceID: x.TraceID.String(), SpanID: x.SpanID.String(), ResponseTime: ms(x.Duration), AtP99: i < at}
	}
	return out
}

func newRow(e *stats.Entry, now time.Time) statsRow {
	r := statsRow{Method: e.Method, Name: e.Name, NumRequests: e.NumRequests, NumFailures: e.NumFailures}
	if e.NumRequests > 0 {
		r.MinResponseTime = ms(e.Min)
		r.MaxResponseTime = ms(e.Max)
		r.AvgResponseTime = ms(e.Avg())
		p50, p95, p99 := rowPercentiles(e)
		r.MedianResponseTime, r.P95, r.P99 = ms(p50), ms(p95), ms(p99)
		r.AvgContentLength = finite(e.AvgSize())
		r.TotalRPS = finite(e.TotalRPS())
		r.TotalFailPerSec = finite(e.TotalFailPerSec())
	}
	r.CurrentRPS = finite(e.CurrentRPS(now))
	r.CurrentFailPerSec = finite(e.CurrentFailPerSec(now))
	r.Exemplars = exemplarRows(e)
	return r
}

// rowPercentiles returns the median, p95 and p99 of e exactly as
// e.Median and e.Percentile do, but in one pass over the histogram instead
// of three: /stats/requests computes them for up to 500 names every 2 s.
// It repeats the stats package's rank rule (Locust's: the median is the
// lower middle value; the p-quantile is the (floor(n*p)+1)-th smallest
// value, clamped to [Min, Max]); TestRowPercentilesMatchStats checks that
// both agree.
func rowPercentiles(e *stats.Entry) (p50, p95, p99 time.Duration) {
	if e.Hist == nil || e.Hist.TotalCount() == 0 {
		return e.Median(), e.Percentile(0.95), e.Percentile(0.99)
	}
	n := e.Hist.TotalCount()
	rank := func(p float64) int64 { return min(max(int64(float64(n)*p)+1, 1), n) }
	// hdrhistogram maps percentile q to rank int(q/100*n + 0.5), so
	// q = (r - 0.25)/n*100 lands on rank r.
	q := func(r int64) float64 { return (float64(r) - 0.25) / float64(n) * 100 }
	var qs [3]float64
	qs[0], qs[1], qs[2] = q((n-1)/2+1), q(rank(0.95)), q(rank(0.99))
	v := e.Hist.ValueAtPercentilesSlice(qs[:])
	clamp := func(us int64) time.Duration {
		return min(max(time.Duration(us)*time.Microsecond, e.Min), e.Max)
	}
	return clamp(v[0]), clamp(v[1]), clamp(v[2])
}

type errorRow struct {
	Method      string `json:"method"`
	Name        string `json:"name"`
	Error       string `json:"error"`
	Occurrences int64  `json:"occurrences"`
	FirstSeen   string `json:"first_seen,omitempty"`
	LastSeen    string `json:"last_seen,omitempty"`
}

func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

type requestsReport struct {
	Stats                []statsRow         `json:"stats"`
	Errors               []errorRow         `json:"errors"`
	TotalRPS             float64            `json:"total_rps"`
	TotalFailPerSec      float64            `json:"total_fail_per_sec"`
	TotalAvgResponseTime float64            `json:"total_avg_response_time"`
	FailRatio            float64            `json:"fail_ratio"`
	CurrentPercentiles   map[string]float64 `json:"current_response_time_percentiles"`
	State                string             `json:"state"`
	UserCount            int                `json:"user_count"`
	WorkerCount          int                `json:"worker_count"`
	Workers              []WorkerInfo       `json:"workers"`
	Host                 string             `json:"host"`
	NumEntries           int                `json:"num_entries"` // names before the row cap
	NumErrors            int                `json:"num_errors"`  // error groups before the cap
	Truncated            bool               `json:"truncated"`   // stats or errors capped at MaxRows
	NumExceptions        int                `json:"num_exceptions"`
	// Iterations and DroppedIterations are set when the load model counts
	// them (arrival rate, iteration limit).
	Iterations        *int64 `json:"iterations,omitempty"`
	DroppedIterations *int64 `json:"dropped_iterations,omitempty"`
	// ShapeDriven tells that a load shape sets the user count of this
	// run (the Edit button is then hidden); ShapeClass names the shape
	// chosen in the form, if any.
	ShapeDriven bool   `json:"shape_driven"`
	ShapeClass  string `json:"shape_class,omitempty"`
	// GeneratorLag is set when paced or arrival-rate iterations had an
	// intended start: the generator's own lag beside the corrected latency.
	GeneratorLag *lagReport `json:"generator_lag,omitempty"`
	// EndedUsers counts the users that ended before the run stopped them,
	// by reason.
	EndedUsers map[string]int64 `json:"users_ended_early,omitempty"`
}

// lagReport is the generator's lag and the corrected latency, in ms.
type lagReport struct {
	P50          float64 `json:"p50"`
	P99          float64 `json:"p99"`
	CorrectedP50 float64 `json:"corrected_p50"`
	CorrectedP99 float64 `json:"corrected_p99"`
}

// buildRequests renders /stats/requests.
func (s *Server) buildRequests() ([]byte, error) {
	c := s.o.Controller
	snap := c.Snapshot()
	now := s.o.Now()
	rep := requestsReport{
		Stats:              make([]statsRow, 0, min(len(snapEntries(snap)), MaxRows)+1),
		Errors:             []errorRow{},
		CurrentPercentiles: map[string]float64{"response_time_percentile_0.5": 0, "response_time_percentile_0.95": 0},
		State:              c.State(),
		UserCount:          c.UserCount(),
		Workers:            c.Workers(),
		Host:               c.Host(),
	}
	if rep.Workers == nil {
		rep.Workers = []WorkerInfo{}
	}
	rep.WorkerCount = len(rep.Workers)
	if s.o.LoadModel != nil {
		li := s.o.LoadModel()
		if li.Counted {
			rep.Iterations, rep.DroppedIterations = &li.Iterations, &li.Dropped
		}
		rep.ShapeDriven, rep.ShapeClass = li.ShapeDriven, li.Shape
	}
	if snap != nil {
		rep.NumEntries, rep.NumErrors, rep.NumExceptions = len(snap.Entries), len(snap.Errors), len(snap.Exceptions)
		for i, e := range snap.Entries {
			if i == MaxRows {
				rep.Truncated = true
				break
			}
			rep.Stats = append(rep.Stats, newRow(e, now))
		}
		for i, e := range snap.Errors {
			if i == MaxRows {
				rep.Truncated = true
				break
			}
			rep.Errors = append(rep.Errors, errorRow{Method: e.Method, Name: e.Name, Error: e.Message, Occurrences: e.Occurrences,
				FirstSeen: isoTime(e.FirstSeen), LastSeen: isoTime(e.LastSeen)})
		}
		if snap.Lag != nil && snap.Lag.TotalCount() > 0 {
			lag := &lagReport{
				P50: float64(snap.Lag.ValueAtQuantile(50)) / 1000, // microseconds
				P99: float64(snap.Lag.ValueAtQuantile(99)) / 1000,
			}
			if t := snap.Total; t != nil && t.CorrectedHist != nil && t.CorrectedHist.TotalCount() > 0 {
				lag.CorrectedP50, lag.CorrectedP99 = ms(t.CorrectedPercentile(0.5)), ms(t.CorrectedPercentile(0.99))
			}
			rep.GeneratorLag = lag
		}
		rep.EndedUsers = snap.EndedUsers
		if t := snap.Total; t != nil {
			row := newRow(t, now)
			row.Method, row.Name = "", "Aggregated"
			rep.Stats = append(rep.Stats, row)
			rep.TotalRPS, rep.TotalFailPerSec = row.CurrentRPS, row.CurrentFailPerSec
			rep.TotalAvgResponseTime = math.Round(row.AvgResponseTime*100) / 100
			rep.FailRatio = finite(t.FailRatio())
			rep.CurrentPercentiles["response_time_percentile_0.5"] = ms(t.CurrentPercentile(0.5))
			rep.CurrentPercentiles["response_time_percentile_0.95"] = ms(t.CurrentPercentile(0.95))
		}
	}
	return json.Marshal(&rep)
}

func snapEntries(s *stats.Snapshot) []*stats.Entry {
	if s == nil {
		return nil
	}
	return s.Entries
}

func (s *Server) dropCache() {
	s.statsMu.Lock()
	s.cache = nil
	s.statsMu.Unlock()
}

// requests answers GET /stats/requests. The answer is cached for 2 s only
// when building it was slow (many names on a busy master).
func (s *Server) requests(w http.ResponseWriter, r *http.Request) {
	s.statsMu.Lock()
	b := s.cache
	if b != nil && time.Now().After(s.cacheExp) {
		b, s.cache = nil, nil
	}
	s.statsMu.Unlock()
	if b == nil {
		start := time.Now()
		var err error
		if b, err = s.buildRequests(); err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"success": false, "message": err.Error()})
			return
		}
		if took := time.Since(start); took > slowStats {
			s.statsMu.Lock()
			s.cache, s.cacheExp = b, time.Now().Add(statsCacheTTL)
			s.statsMu.Unlock()
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// fileName follows Locust: Locust_<YYYY-MM-DD-HHhMM>_<name>[_<host>]_<kind>.<ext>
func (s *Server) fileName(kind, ext string) string {
	name := "Locust_" + s.o.Now().Format("2006-01-02-15h04") + "_" + s.o.Name
	if h := s.o.Controller.Host(); h != "" {
		h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
		name += "_" + h
	}
	name = unsafeFileChars.ReplaceAllString(name, "_")
	if kind != "" {
		name += "_" + kind
	}
	return name + "." + ext
}

func (s *Server) attachment(w http.ResponseWriter, ctype, file string, write func(io.Writer) error) {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		http.Error(w, "writing "+file+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+file+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) snapshot() *stats.Snapshot {
	if snap := s.o.Controller.Snapshot(); snap != nil {
		return snap
	}
	return &stats.Snapshot{Total: &stats.Entry{Name: "Aggregated"}}
}

func (s *Server) requestsCSV(w http.ResponseWriter, r *http.Request) {
	snap := s.snapshot()
	s.attachment(w, "text/csv; charset=utf-8", s.fileName("requests", "csv"), func(w io.Writer) error { return stats.WriteStatsCSV(w, snap) })
}

func (s *Server) requestsJSON(w http.ResponseWriter, r *http.Request) {
	snap := s.snapshot()
	s.attachment(w, "application/json", s.fileName("requests", "json"), func(w io.Writer) error { return stats.WriteJSON(w, snap) })
}

func (s *Server) failuresCSV(w http.ResponseWriter, r *http.Request) {
	snap := s.snapshot()
	s.attachment(w, "text/csv; charset=utf-8", s.fileName("failures", "csv"), func(w io.Writer) error { return stats.WriteFailuresCSV(w, snap) })
}

func (s *Server) exceptionsCSV(w http.ResponseWriter, r *http.Request) {
	snap := s.snapshot()
	s.attachment(w, "text/csv; charset=utf-8", s.fileName("exceptions", "csv"), func(w io.Writer) error { return stats.WriteExceptionsCSV(w, snap) })
}

func (s *Server) fullHistoryCSV(w http.ResponseWriter, r *http.Request) {
	if s.o.FullHistoryCSV == "" {
		http.Error(w, "Server was not started with option to generate full history.", http.StatusNotFound)
		return
	}
	s.attachment(w, "text/csv; charset=utf-8", s.fileName("requests_full_history", "csv"), func(w io.Writer) error {
		f, err := os.Open(s.o.FullHistoryCSV)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	})
}

func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	if s.o.Report == nil {
		http.Error(w, "The HTML report is not available.", http.StatusNotFound)
		return
	}
	var buf bytes.Buffer
	if err := s.o.Report(&buf); err != nil {
		http.Error(w, "writing the report: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.o.ReportCSP != "" {
		// The report is self-contained: its inline script and style are
		// allowed by hash in its own policy, not by the UI's.
		w.Header().Set("Content-Security-Policy", s.o.ReportCSP)
	}
	if r.URL.Query().Get("download") != "" {
		w.Header().Set("Content-Disposition", `attachment; filename="`+s.fileName("", "html")+`"`)
	}
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if s.o.Metrics == nil {
		http.NotFound(w, r)
		return
	}
	s.o.Metrics.ServeHTTP(w, r)
}

type exceptionRow struct {
	Count     int64  `json:"count"`
	Msg       string `json:"msg"`
	Traceback string `json:"traceback"`
	Nodes     string `json:"nodes"`
}

func (s *Server) exceptions(w http.ResponseWriter, r *http.Request) {
	snap := s.snapshot()
	rows := make([]exceptionRow, 0, min(len(snap.Exceptions), MaxRows))
	for i, e := range snap.Exceptions {
		if i == MaxRows {
			break
		}
		rows = append(rows, exceptionRow{Count: e.Count, Msg: e.Message, Traceback: e.Traceback, Nodes: strings.Join(e.Nodes, ", ")})
	}
	writeJSON(w, http.StatusOK, map[string]any{"exceptions": rows})
}

func (s *Server) tasks(w http.ResponseWriter, r *http.Request) {
	t := s.o.Controller.TaskRatio()
	if t.PerClass == nil {
		t.PerClass = map[string]Ratio{}
	}
	if t.Total == nil {
		t.Total = map[string]Ratio{}
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	l := s.o.Controller.Logs()
	if l.Master == nil {
		l.Master = []string{}
	}
	if l.Workers == nil {
		l.Workers = map[string][]string{}
	}
	writeJSON(w, http.StatusOK, l)
}

func (s *Server) workerCount(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]int{"worker_count": len(s.o.Controller.Workers())})
}

type historyPoint struct {
	Time       float64 `json:"time"` // unix seconds
	UserCount  int     `json:"user_count"`
	RPS        float64 `json:"rps"`
	FailPerSec float64 `json:"fail_per_sec"`
	P50        float64 `json:"response_time_percentile_0.5"`
	P95        float64 `json:"response_time_percentile_0.95"`
	Avg        float64 `json:"avg_response_time"`
}

// history answers GET /stats/history: the chart points, oldest first.
func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	h := s.o.Controller.History()
	out := make([]historyPoint, len(h))
	for i, p := range h {
		out[i] = historyPoint{Time: float64(p.Time.UnixMilli()) / 1000, UserCount: p.UserCount, RPS: finite(p.RPS), FailPerSec: finite(p.FailPerSec),
			P50: ms(p.P50), P95: ms(p.P95), Avg: ms(p.AvgResponse)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"history": out})
}

// config answers GET /ui/config: what the page needs once at load.
func (s *Server) config(w http.ResponseWriter, r *http.Request) {
	c := s.o.Controller
	classes := c.ClassNames()
	if classes == nil {
		classes = []string{}
	}
	var load LoadInfo
	if s.o.LoadModel != nil {
		load = s.o.LoadModel()
	}
	form := s.o.Form
	host := form.Host
	if host == "" {
		host = c.Host()
	}
	runTime := ""
	if form.RunTime > 0 {
		runTime = formatTimespan(form.RunTime)
	}
	shapes := s.shapeNames()
	defModel, defDriven := load.Model, load.ShapeDriven
	if shapes != nil {
		defModel, defDriven = load.DefaultModel, load.DefaultShapeDriven
	}
	id := who(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"auth":           s.authOn,
		"account":        id.Name,
		"role":           id.Role.String(),
		"can_control":    id.Role.Allows(requiredRole(http.MethodPost, "/swarm")),
		"can_admin":      id.Role.Allows(requiredRole(http.MethodGet, "/audit")),
		"version":        s.o.Version,
		"host":           host,
		"users":          max(form.Users, 1),
		"spawn_rate":     cmp.Or(form.SpawnRate, 1),
		"run_time":       runTime,
		"custom_params":  customParams(s.o.Params),
		"state":          c.State(),
		"is_distributed": c.IsMaster(),
		"user_classes":   classes,
		"full_history":   s.o.FullHistoryCSV != "",
		"baseline":       s.o.Baseline != nil,
		"report":         s.o.Report != nil,
		"metrics":        s.o.Metrics != nil,
		"max_rows":       MaxRows,
		"load_model":     load.Model,
		"shape_driven":   load.ShapeDriven,
		"class_picker":   s.o.ClassPicker,
		// Locust's class-picker list: "Default", then the shapes.
		"available_shape_classes": availableShapes(shapes),
		"shape_class":             load.Shape,
		"default_load_model":      defModel,
		"default_shape_driven":    defDriven,
	})
}
