package stats

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Console table widths (Locust's STATS_TYPE_WIDTH and STATS_NAME_WIDTH).
const consoleTypeWidth = 8

// ConsoleNameWidth is the width of the Name column of the console tables
// (Locust's STATS_NAME_WIDTH; Locust sizes it to the terminal width minus
// 80, at most 80).
var ConsoleNameWidth = 60

// Exact CSV headers of Locust's files.
var (
	statsCSVHeader = []string{"Type", "Name", "Request Count", "Failure Count", "Median Response Time",
		"Average Response Time", "Min Response Time", "Max Response Time", "Average Content Size",
		"Requests/s", "Failures/s"}
	historyCSVHeader = []string{"Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s"}
	historyCSVTail   = []string{"Total Request Count", "Total Failure Count", "Total Median Response Time",
		"Total Average Response Time", "Total Min Response Time", "Total Max Response Time",
		"Total Average Content Size"}
	failuresCSVHeader   = []string{"Method", "Name", "Error", "Occurrences", "First Seen", "Last Seen"}
	exceptionsCSVHeader = []string{"Count", "Message", "Traceback", "Nodes"}
)

// PercentileLabel formats a percentile as Locust does: an integer
// percentage without decimals, otherwise rounded to 6 decimals ("99.9%").
func PercentileLabel(p float64) string {
	v := p * 100
	if r := math.Round(v); math.Abs(v-r) < 1e-9 {
		return strconv.FormatInt(int64(r), 10) + "%"
	}
	return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64) + "%"
}

func percentileLabels() []string {
	out := make([]string, len(ReportPercentiles))
	for i, p := range ReportPercentiles {
		out[i] = PercentileLabel(p)
	}
	return out
}

// ms converts a duration to float milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// intMs is a duration in whole milliseconds, truncated (Python's int()),
// so that a percentile never prints above the exact maximum.
func intMs(d time.Duration) int64 { return int64(d / time.Millisecond) }

// pyFloat formats a float as Python's repr does for ordinary magnitudes.
func pyFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	a := math.Abs(f)
	if a != 0 && (a < 1e-4 || a >= 1e16) {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		// Python writes 1e-05, Go 1e-05 as well; keep as is.
		return s
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// msOrZero prints a float millisecond value, or "0" for an entry without
// requests (Locust's "min or 0" and initial max of 0).
func msOrZero(e *Entry, d time.Duration) string {
	if e.NumRequests == 0 {
		return "0"
	}
	return pyFloat(ms(d))
}

// avgSizeField is Locust's avg_content_length: an int 0 without requests
// (ZeroDivisionError), a float otherwise.
func avgSizeField(e *Entry) string {
	if e.NumRequests == 0 {
		return "0"
	}
	return pyFloat(e.AvgSize())
}

func rowsOf(s *Snapshot) []*Entry {
	rows := make([]*Entry, 0, len(s.Entries)+1)
	rows = append(rows, s.Entries...)
	if s.Total != nil {
		rows = append(rows, s.Total)
	}
	return rows
}

func percentileFields(e *Entry, current bool) []string {
	out := make([]string, len(ReportPercentiles))
	var vs []time.Duration
	if !current {
		vs = e.Percentiles(ReportPercentiles...)
	}
	for i, p := range ReportPercentiles {
		switch {
		case e.NumRequests == 0:
			out[i] = "N/A"
		case current:
			out[i] = strconv.FormatInt(intMs(e.CurrentPercentile(p)), 10)
		default:
			out[i] = strconv.FormatInt(intMs(vs[i]), 10)
		}
	}
	return out
}

func newCSV(w io.Writer) *csv.Writer {
	c := csv.NewWriter(w)
	c.UseCRLF = true // Python's csv module ends rows with \r\n
	return c
}

// WriteStatsCSV writes Locust's *_stats.csv: the header, one row per name
// sorted by (name, method), then the Aggregated row (empty Type). Times are
// milliseconds: Median and the percentiles are whole milliseconds from the
// HDR histogram (clamped to [Min, Max], so never above Max); Average, Min
// and Max are exact. Requests/s and Failures/s are totals over the run.
// Percentiles are N/A for a name without requests.
func WriteStatsCSV(w io.Writer, s *Snapshot) error {
	c := newCSV(w)
	if err := c.Write(append(append([]string{}, statsCSVHeader...), percentileLabels()...)); err != nil {
		return err
	}
	for _, e := range rowsOf(s) {
		row := []string{
			CSVCell(e.Method), CSVCell(e.Name),
			strconv.FormatInt(e.NumRequests, 10),
			strconv.FormatInt(e.NumFailures, 10),
			strconv.FormatInt(intMs(e.Median()), 10),
			pyFloat(e.avgMs()),
			msOrZero(e, e.Min),
			msOrZero(e, e.Max),
			avgSizeField(e),
			pyFloat(perSec(e.NumRequests, s.Start, s.LastRequest)),
			pyFloat(perSec(e.NumFailures, s.Start, s.LastRequest)),
		}
		if err := c.Write(append(row, percentileFields(e, false)...)); err != nil {
			return err
		}
	}
	c.Flush()
	return c.Error()
}

// WriteHistoryCSVHeader writes the header of Locust's *_stats_history.csv.
func WriteHistoryCSVHeader(w io.Writer) error {
	c := newCSV(w)
	h := append(append(append([]string{}, historyCSVHeader...), percentileLabels()...), historyCSVTail...)
	if err := c.Write(h); err != nil {
		return err
	}
	c.Flush()
	return c.Error()
}

// WriteHistoryCSVRows appends the rows of one *_stats_history.csv tick
// (Locust appends one every second): only the Aggregated row with
// cumulative percentiles, or with fullHistory a row for every name and then
// Aggregated, with current-window percentiles. Requests/s and Failures/s
// are the current values with 6 decimals; Timestamp is unix seconds.
func WriteHistoryCSVRows(w io.Writer, s *Snapshot, userCount int, now time.Time, fullHistory bool) error {
	c := newCSV(w)
	var rows []*Entry
	if fullHistory {
		rows = append(rows, s.Entries...)
	}
	if s.Total != nil {
		rows = append(rows, s.Total)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	uc := strconv.Itoa(userCount)
	for _, e := range rows {
		row := []string{ts, uc, CSVCell(e.Method), CSVCell(e.Name),
			strconv.FormatFloat(windowAvg(e.ReqPerSec, s.Start, now), 'f', 6, 64),
			strconv.FormatFloat(windowAvg(e.FailPerSec, s.Start, now), 'f', 6, 64),
		}
		row = append(row, percentileFields(e, fullHistory)...)
		row = append(row,
			strconv.FormatInt(e.NumRequests, 10),
			strconv.FormatInt(e.NumFailures, 10),
			strconv.FormatInt(intMs(e.Median()), 10),
			pyFloat(e.avgMs()),
			msOrZero(e, e.Min),
			msOrZero(e, e.Max),
			avgSizeField(e),
		)
		if err := c.Write(row); err != nil {
			return err
		}
	}
	c.Flush()
	return c.Error()
}

func isoUTC(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// WriteFailuresCSV writes Locust's *_failures.csv, most frequent first;
// First Seen and Last Seen are ISO 8601 UTC.
func WriteFailuresCSV(w io.Writer, s *Snapshot) error {
	c := newCSV(w)
	if err := c.Write(failuresCSVHeader); err != nil {
		return err
	}
	for _, e := range s.Errors {
		if err := c.Write([]string{CSVCell(e.Method), CSVCell(e.Name), CSVCell(e.Message), strconv.FormatInt(e.Occurrences, 10),
			isoUTC(e.FirstSeen), isoUTC(e.LastSeen)}); err != nil {
			return err
		}
	}
	c.Flush()
	return c.Error()
}

// WriteExceptionsCSV writes Locust's *_exceptions.csv, most frequent first.
func WriteExceptionsCSV(w io.Writer, s *Snapshot) error {
	c := newCSV(w)
	if err := c.Write(exceptionsCSVHeader); err != nil {
		return err
	}
	for _, x := range s.Exceptions {
		if err := c.Write([]string{strconv.FormatInt(x.Count, 10), CSVCell(x.Message), CSVCell(x.Traceback),
			CSVCell(strings.Join(x.Nodes, ", "))}); err != nil {
			return err
		}
	}
	c.Flush()
	return c.Error()
}

// jsonEntry is one element of the --json output: the keys of Locust's
// serialized StatsEntry (times in milliseconds, timestamps in unix seconds,
// response_times keyed by the HDR bucket in milliseconds), plus percentiles
// and averages computed from the HDR histogram.
type jsonEntry struct {
	Name                 string             `json:"name"`
	Method               string             `json:"method"`
	LastRequestTimestamp *float64           `json:"last_request_timestamp"`
	StartTime            float64            `json:"start_time"`
	NumRequests          int64              `json:"num_requests"`
	NumNoneRequests      int64              `json:"num_none_requests"`
	NumFailures          int64              `json:"num_failures"`
	TotalResponseTime    float64            `json:"total_response_time"`
	MaxResponseTime      float64            `json:"max_response_time"`
	MinResponseTime      *float64           `json:"min_response_time"`
	TotalContentLength   int64              `json:"total_content_length"`
	ResponseTimes        map[string]int64   `json:"response_times"`
	NumReqsPerSec        map[string]int64   `json:"num_reqs_per_sec"`
	NumFailPerSec        map[string]int64   `json:"num_fail_per_sec"`
	AvgResponseTime      float64            `json:"avg_response_time"`
	MedianResponseTime   float64            `json:"median_response_time"`
	AvgContentLength     float64            `json:"avg_content_length"`
	Percentiles          map[string]float64 `json:"response_time_percentiles"`
	// Exemplars are the slowest traced requests, slowest first (empty
	// without --traceparent).
	Exemplars []jsonExemplar `json:"exemplars"`
	// HDR and HDRCorrected are the histograms (microseconds) in
	// HdrHistogram's compressed V2 base64 encoding, so that a later run
	// can compare against this one exactly (package compare).
	HDR          string `json:"hdr,omitempty"`
	HDRCorrected string `json:"hdr_corrected,omitempty"`
}

// jsonExemplar is one of an entry's exemplars in the --json output: the
// trace id to look up in a tracing tool and the response time in ms.
type jsonExemplar struct {
	TraceID      string  `json:"trace_id"`
	SpanID       string  `json:"span_id"`
	ResponseTime float64 `json:"response_time"`
}

func exemplarsJSON(xs []Exemplar) []jsonExemplar {
	out := make([]jsonExemplar, len(xs))
	for i, x := range xs {
		out[i] = jsonExemplar{TraceID: x.TraceID.String(), SpanID: x.SpanID.String(), ResponseTime: ms(x.Duration)}
	}
	return out
}

func unixSec(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

func secondsJSON(m map[int64]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[strconv.FormatInt(k, 10)] = v
	}
	return out
}

// WriteJSON writes the per-name stats list (the Aggregated row is not
// included, as in Locust's --json), indented by 4 spaces. Names without
// requests or failures are left out.
func WriteJSON(w io.Writer, s *Snapshot) error {
	list := make([]jsonEntry, 0, len(s.Entries))
	for _, e := range s.Entries {
		if e.NumRequests == 0 && e.NumFailures == 0 {
			continue
		}
		j := jsonEntry{
			Name: e.Name, Method: e.Method,
			StartTime:          unixSec(e.Start),
			NumRequests:        e.NumRequests,
			NumFailures:        e.NumFailures,
			TotalResponseTime:  ms(e.TotalTime),
			MaxResponseTime:    ms(e.Max),
			TotalContentLength: e.TotalBytes,
			ResponseTimes:      map[string]int64{},
			NumReqsPerSec:      secondsJSON(e.ReqPerSec),
			NumFailPerSec:      secondsJSON(e.FailPerSec),
			AvgResponseTime:    e.avgMs(),
			MedianResponseTime: ms(e.Median()),
			AvgContentLength:   e.AvgSize(),
			Percentiles:        map[string]float64{},
			Exemplars:          exemplarsJSON(e.Exemplars),
		}
		if !e.LastRequest.IsZero() {
			v := unixSec(e.LastRequest)
			j.LastRequestTimestamp = &v
		}
		if e.NumRequests > 0 {
			v := ms(e.Min)
			j.MinResponseTime = &v
		}
		if e.Hist != nil {
			for _, b := range e.Hist.Distribution() {
				if b.Count > 0 {
					j.ResponseTimes[strconv.FormatFloat(float64(b.From)/1000, 'f', -1, 64)] += b.Count
				}
			}
		}
		for i, v := range e.Percentiles(ReportPercentiles...) {
			j.Percentiles[strconv.FormatFloat(ReportPercentiles[i], 'f', -1, 64)] = ms(v)
		}
		var err error
		if j.HDR, err = EncodeHistogram(e.Hist); err != nil {
			return err
		}
		if j.HDRCorrected, err = EncodeHistogram(e.CorrectedHist); err != nil {
			return err
		}
		list = append(list, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	return enc.Encode(list)
}

// WriteConsoleStats writes Locust's console stats table: Type, Name,
// # reqs, # fails (with the ratio), Avg, Min, Max, Med (ms), req/s and
// failures/s — current values while running, totals when final.
func WriteConsoleStats(w io.Writer, s *Snapshot, now time.Time, final bool) {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	nameW := ConsoleNameWidth - consoleTypeWidth + 4
	fmt.Fprintf(bw, "%-*s %-*s %7s %12s |%7s %7s %7s%7s | %7s %11s\n", consoleTypeWidth, "Type", nameW, "Name",
		"# reqs", "# fails", "Avg", "Min", "Max", "Med", "req/s", "failures/s")
	sep := strings.Repeat("-", consoleTypeWidth) + "|" + strings.Repeat("-", nameW) + "|" + strings.Repeat("-", 7) + "|" +
		strings.Repeat("-", 13) + "|" + strings.Repeat("-", 7) + "|" + strings.Repeat("-", 7) + "|" + strings.Repeat("-", 7) +
		"|" + strings.Repeat("-", 7) + "|" + strings.Repeat("-", 8) + "|" + strings.Repeat("-", 11)
	line := func(e *Entry) {
		typ := ""
		if e.Method != "" {
			typ = e.Method + " "
		}
		var rps, fps float64
		if final {
			rps, fps = perSec(e.NumRequests, s.Start, s.LastRequest), perSec(e.NumFailures, s.Start, s.LastRequest)
		} else {
			rps, fps = windowAvg(e.ReqPerSec, s.Start, now), windowAvg(e.FailPerSec, s.Start, now)
		}
		fails := fmt.Sprintf("%d(%.2f%%)", e.NumFailures, e.FailRatio()*100)
		fmt.Fprintf(bw, "%-*s %-*s %7d %12s |%7d %7d %7d%7d | %7.2f %11.2f\n", consoleTypeWidth, typ, nameW, e.Name,
			e.NumRequests, fails, int64(e.avgMs()), intMs(e.Min), intMs(e.Max), intMs(e.Median()), rps, fps)
	}
	fmt.Fprintln(bw, sep)
	for _, e := range s.Entries {
		line(e)
	}
	fmt.Fprintln(bw, sep)
	if s.Total != nil {
		line(s.Total)
	}
	fmt.Fprintln(bw)
}

// WritePercentileTable writes Locust's response time percentiles table
// (whole milliseconds; names without requests are left out). Like
// Locust's, the header puts "50%" over the third column. Locust titles it
// "(approximated)" because it buckets response times; these come from an
// HDR histogram and are exact to 3 significant digits, and the title says
// so.
func WritePercentileTable(w io.Writer, s *Snapshot) {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	n := len(ReportPercentiles)
	fmt.Fprintln(bw, "Response time percentiles (exact to 3 significant digits)")
	hdr := []any{"Type", "Name"}
	for _, l := range percentileLabels() {
		hdr = append(hdr, l)
	}
	hdr = append(hdr, "# reqs")
	tpl := "%-" + strconv.Itoa(consoleTypeWidth) + "s %-" + strconv.Itoa(ConsoleNameWidth) + "s %8s " +
		strings.TrimSuffix(strings.Repeat("%6s ", n), " ") + "\n"
	fmt.Fprintf(bw, tpl, hdr...)
	sep := strings.Repeat("-", consoleTypeWidth) + "|" + strings.Repeat("-", ConsoleNameWidth) + "|" +
		strings.Repeat("-", 8) + "|" + strings.TrimSuffix(strings.Repeat(strings.Repeat("-", 6)+"|", n), "|")
	rowTpl := "%-" + strconv.Itoa(consoleTypeWidth) + "s %-" + strconv.Itoa(ConsoleNameWidth) + "s %8d " +
		strings.TrimSuffix(strings.Repeat("%6d ", n), " ") + "\n"
	line := func(e *Entry) {
		args := []any{e.Method, e.Name}
		for _, v := range e.Percentiles(ReportPercentiles...) {
			args = append(args, intMs(v))
		}
		args = append(args, e.NumRequests)
		fmt.Fprintf(bw, rowTpl, args...)
	}
	fmt.Fprintln(bw, sep)
	for _, e := range s.Entries {
		if e.NumRequests > 0 {
			line(e)
		}
	}
	fmt.Fprintln(bw, sep)
	if s.Total != nil && s.Total.NumRequests > 0 {
		line(s.Total)
	}
	fmt.Fprintln(bw)
}

// WriteErrorReport writes Locust's "Error report": occurrences and
// "METHOD name: error" per group, most frequent first.
func WriteErrorReport(w io.Writer, s *Snapshot) {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	fmt.Fprintln(bw, "Error report")
	fmt.Fprintf(bw, "%-18s %-100s\n", "# occurrences", "Error")
	sep := strings.Repeat("-", 18) + "|" + strings.Repeat("-", 80+ConsoleNameWidth-19)
	fmt.Fprintln(bw, sep)
	for _, e := range s.Errors {
		fmt.Fprintf(bw, "%-18d %-100s\n", e.Occurrences, e.Method+" "+e.Name+": "+e.Message)
	}
	fmt.Fprintln(bw, sep)
	fmt.Fprintln(bw)
}
