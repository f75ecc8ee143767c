package stats

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	locustStatsHeader   = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
	locustHistoryHeader = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size"
	locustFailHeader    = "Method,Name,Error,Occurrences,First Seen,Last Seen"
	locustExcHeader     = "Count,Message,Traceback,Nodes"
)

// sampleRegistry has two names with requests, one name reset to zero
// requests, a failure and an exception.
func sampleRegistry(t *testing.T) (*Registry, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	r := NewRegistry(Options{Now: clk.Now})
	r.Record(Sample{Method: "GET", Name: "/empty", Duration: time.Millisecond})
	r.Reset()
	for i := range 10 {
		r.Record(Sample{Method: "GET", Name: "/b", Duration: time.Duration(i+1) * 10 * time.Millisecond, Size: 100})
		r.Record(Sample{Method: "POST", Name: "/a", Duration: 1500 * time.Microsecond, Size: 10})
		clk.Add(time.Second)
	}
	r.Record(Sample{Method: "POST", Name: "/a", Duration: 2500 * time.Microsecond, Err: errors.New(`HTTP 500, "oops"`)})
	r.RecordException("panic: boom", "goroutine 1:\nmain.f()")
	clk.Add(2 * time.Second)
	return r, clk
}

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err)
	return rows
}

func TestCSVHeadersAreLocusts(t *testing.T) {
	r, clk := sampleRegistry(t)
	s := r.Snapshot()
	var b bytes.Buffer
	require.NoError(t, WriteStatsCSV(&b, s))
	assert.Equal(t, locustStatsHeader+"\r\n", b.String()[:strings.Index(b.String(), "\n")+1])
	b.Reset()
	require.NoError(t, WriteHistoryCSVHeader(&b))
	assert.Equal(t, locustHistoryHeader+"\r\n", b.String())
	b.Reset()
	require.NoError(t, WriteFailuresCSV(&b, s))
	assert.True(t, strings.HasPrefix(b.String(), locustFailHeader+"\r\n"))
	b.Reset()
	require.NoError(t, WriteExceptionsCSV(&b, s))
	assert.True(t, strings.HasPrefix(b.String(), locustExcHeader+"\r\n"))
	_ = clk
}

func TestStatsCSVRows(t *testing.T) {
	r, _ := sampleRegistry(t)
	s := r.Snapshot()
	var b bytes.Buffer
	require.NoError(t, WriteStatsCSV(&b, s))
	rows := readCSV(t, b.Bytes())
	require.Len(t, rows, 5)
	// Sorted by name then method, Aggregated last with an empty Type.
	assert.Equal(t, []string{"POST", "/a"}, rows[1][:2])
	assert.Equal(t, []string{"GET", "/b"}, rows[2][:2])
	assert.Equal(t, []string{"GET", "/empty"}, rows[3][:2])
	assert.Equal(t, []string{"", "Aggregated"}, rows[4][:2])

	a := rows[1]
	assert.Equal(t, "11", a[2])
	assert.Equal(t, "1", a[3])
	assert.Equal(t, "1", a[4], "median in whole ms")
	assert.Equal(t, "1.5909090909090908", a[5], "exact average")
	assert.Equal(t, "1.5", a[6])
	assert.Equal(t, "2.5", a[7])
	assert.Equal(t, "9.090909090909092", a[8])
	assert.Equal(t, "2", a[len(a)-1], "100% from the histogram, never above max")

	bRow := rows[2]
	assert.Equal(t, "50", bRow[4])
	assert.Equal(t, "55.0", bRow[5])
	assert.Equal(t, "10.0", bRow[6])
	assert.Equal(t, "100.0", bRow[7])
	assert.Equal(t, []string{"60", "70", "80", "90", "100", "100", "100", "100", "100", "100", "100"}, bRow[11:])

	empty := rows[3]
	assert.Equal(t, []string{"0", "0", "0", "0.0", "0", "0", "0", "0.0", "0.0"}, empty[2:11])
	for _, v := range empty[11:] {
		assert.Equal(t, "N/A", v)
	}
	// Requests/s: totals over the run (snapshot span), summing to Aggregated.
	span := s.LastRequest.Sub(s.Start).Seconds()
	assert.Equal(t, pyFloat(21/span), rows[4][9])
	assert.Equal(t, pyFloat(1/span), rows[4][10])
	assert.Equal(t, "21", rows[4][2])
}

func TestHistoryCSVRows(t *testing.T) {
	r, clk := sampleRegistry(t)
	s := r.Snapshot()
	now := clk.Now()
	var b bytes.Buffer
	require.NoError(t, WriteHistoryCSVRows(&b, s, 42, now, false))
	rows := readCSV(t, b.Bytes())
	require.Len(t, rows, 1, "aggregated only")
	row := rows[0]
	require.Len(t, row, 24)
	assert.Equal(t, []string{itoa(now.Unix()), "42", "", "Aggregated"}, row[:4])
	assert.Regexp(t, `^\d+\.\d{6}$`, row[4])
	assert.Equal(t, "100", row[16], "cumulative 100%")
	assert.Equal(t, "21", row[17])

	b.Reset()
	require.NoError(t, WriteHistoryCSVRows(&b, s, 42, now, true))
	rows = readCSV(t, b.Bytes())
	require.Len(t, rows, 4, "every name, then aggregated")
	assert.Equal(t, "/a", rows[0][3])
	assert.Equal(t, "N/A", rows[2][6], "no requests: N/A")
	// Current window: the last 10 s of /b are 20..100 ms (10 ms fell out).
	assert.Equal(t, "100", rows[1][16])
	// current RPS: seconds [now-12, now-2) hold one /b each -> 1.0 (window starts at the start)
	assert.Equal(t, "1.000000", rows[1][4])
}

func TestFailuresAndExceptionsCSV(t *testing.T) {
	r, clk := sampleRegistry(t)
	s := r.Snapshot()
	var b bytes.Buffer
	require.NoError(t, WriteFailuresCSV(&b, s))
	rows := readCSV(t, b.Bytes())
	require.Len(t, rows, 2)
	seen := clk.Now().Add(-2 * time.Second).UTC().Format("2006-01-02T15:04:05Z")
	assert.Equal(t, []string{"POST", "/a", `HTTP 500, "oops"`, "1", seen, seen}, rows[1])
	b.Reset()
	require.NoError(t, WriteExceptionsCSV(&b, s))
	rows = readCSV(t, b.Bytes())
	require.Len(t, rows, 2)
	assert.Equal(t, []string{"1", "panic: boom", "goroutine 1:\nmain.f()", ""}, rows[1])
}

func TestJSON(t *testing.T) {
	r, _ := sampleRegistry(t)
	s := r.Snapshot()
	var b bytes.Buffer
	require.NoError(t, WriteJSON(&b, s))
	var list []map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &list))
	require.Len(t, list, 2, "names without requests and the Aggregated row are left out")
	a := list[0]
	assert.Equal(t, "/a", a["name"])
	assert.Equal(t, "POST", a["method"])
	assert.Equal(t, 11.0, a["num_requests"])
	assert.Equal(t, 1.0, a["num_failures"])
	assert.Equal(t, 2.5, a["max_response_time"])
	assert.Equal(t, 1.5, a["min_response_time"])
	assert.InDelta(t, 17.5, a["total_response_time"], 1e-9)
	assert.Equal(t, map[string]any{"1.5": 10.0, "2.5": 1.0}, a["response_times"])
	pcts := a["response_time_percentiles"].(map[string]any)
	assert.Equal(t, 2.5, pcts["1"], "from HDR, clamped to max")
	assert.Equal(t, 1.5, pcts["0.5"])
	assert.Contains(t, b.String(), "\n    {\n        \"name\"", "indented like Locust's")
}

func TestConsoleTables(t *testing.T) {
	r, clk := sampleRegistry(t)
	s := r.Snapshot()
	var b bytes.Buffer
	WriteConsoleStats(&b, s, clk.Now(), false)
	lines := strings.Split(b.String(), "\n")
	require.GreaterOrEqual(t, len(lines), 7)
	assert.Equal(t, "Type     Name"+strings.Repeat(" ", 54)+"# reqs      # fails |    Avg     Min     Max    Med |   req/s  failures/s", lines[0])
	assert.Equal(t, "--------|--------------------------------------------------------|-------|-------------|-------|-------|-------|-------|--------|-----------", lines[1])
	assert.Equal(t, "POST     /a"+strings.Repeat(" ", 60)+"11     1(9.09%) |      1       1       2      1 |    1.00        0.00", lines[2])
	assert.True(t, strings.HasPrefix(lines[6], "         Aggregated  "), lines[6])
	assert.Len(t, lines[0], 140)
	assert.Len(t, lines[2], 140)

	b.Reset()
	WritePercentileTable(&b, s)
	lines = strings.Split(b.String(), "\n")
	assert.Equal(t, "Response time percentiles (exact to 3 significant digits)", lines[0])
	assert.Equal(t, "Type     Name                                                              50%    66%    75%    80%    90%    95%    98%    99%  99.9% 99.99%   100% # reqs", lines[1])
	assert.Equal(t, "POST     /a                                                                  1      1      1      1      1      2      2      2      2      2      2     11", lines[3])
	assert.Len(t, lines, 9, "header, 2 separators, 2 names (the empty one left out), aggregated, blank")

	b.Reset()
	WriteErrorReport(&b, s)
	lines = strings.Split(b.String(), "\n")
	assert.Equal(t, "Error report", lines[0])
	assert.True(t, strings.HasPrefix(lines[3], `1                  POST /a: HTTP 500, "oops"`), lines[3])
}

func TestPercentileLabels(t *testing.T) {
	assert.Equal(t, []string{"50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"}, percentileLabels())
}

func TestHistoryRing(t *testing.T) {
	h := NewHistory(3)
	for i := range 5 {
		h.Append(HistoryPoint{UserCount: i})
	}
	pts := h.Points()
	require.Len(t, pts, 3)
	assert.Equal(t, []int{2, 3, 4}, []int{pts[0].UserCount, pts[1].UserCount, pts[2].UserCount})
	h.Reset()
	assert.Empty(t, h.Points())
	var zero History
	zero.Append(HistoryPoint{UserCount: 1})
	assert.Equal(t, 1, zero.Len())
}

func TestPointFrom(t *testing.T) {
	r, clk := sampleRegistry(t)
	s := r.Snapshot()
	p := PointFrom(s, 7, clk.Now())
	assert.Equal(t, 7, p.UserCount)
	assert.InDelta(t, 2.0, p.RPS, 1e-9)
	assert.Greater(t, p.P95, p.P50)
	assert.Equal(t, s.Total.Avg(), p.AvgResponse)
}
