package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/net/html"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/threshold"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const xssName = `<img src=x onerror=alert(1)>`

var t0 = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

// testData builds a run with three names (one malicious), failures, an
// exception, history, classes and thresholds.
func testData(t *testing.T) Data {
	t.Helper()
	now := t0
	reg := stats.NewRegistry(stats.Options{Now: func() time.Time { return now }})
	for i := 1; i <= 200; i++ {
		var err error
		if i%40 == 0 {
			err = errors.New("HTTP 500 <b>server error</b>")
		}
		reg.Record(stats.Sample{Method: "GET", Name: "/item", Duration: time.Duration(i)*time.Millisecond + 250*time.Microsecond, Size: 1234, Err: err})
		if i%4 == 0 {
			reg.Record(stats.Sample{Method: "POST", Name: "/cart", Duration: time.Duration(300+i) * time.Millisecond, Size: 17})
		}
		if i%10 == 0 {
			reg.Record(stats.Sample{Method: "GET", Name: xssName, Duration: 3 * time.Millisecond, Err: errors.New(xssName)})
		}
		now = now.Add(50 * time.Millisecond)
	}
	reg.RecordException("panic: "+xssName, "goroutine 1 [running]:\nmain.("+xssName+")\n\t/x.go:1")
	snap := reg.Snapshot()
	var hist []stats.HistoryPoint
	for i := range 3 {
		hist = append(hist, stats.HistoryPoint{
			Time: t0.Add(time.Duration(i*5) * time.Second), UserCount: 5 * (i + 1),
			RPS: 20 + float64(i), FailPerSec: float64(i) / 2,
			P50: time.Duration(10+i) * time.Millisecond, P95: time.Duration(100+i) * time.Millisecond,
			AvgResponse: 40 * time.Millisecond,
		})
	}
	ths, err := threshold.ParseAll([]string{"p95<1s", "GET /item:p99<150ms", xssName + ":max<1s", "GET /none:p50<1s"})
	require.NoError(t, err)
	return Data{
		Start: t0, End: t0.Add(10 * time.Second), Host: "http://127.0.0.1:8080/?q=" + xssName, Script: "shop " + xssName,
		Users: 15, Snapshot: snap, History: hist, Thresholds: threshold.Evaluate(ths, snap), Version: "v0.0.0-test",
		Generated: t0.Add(11 * time.Second),
		Classes: []Class{
			{Name: "Browser", Users: 10, Tasks: []TaskShare{{Name: "Browse", Share: 0.75}, {Name: "Nested", Share: 0.25,
				Nested: []TaskShare{{Name: "Inner", Share: 1}}}}},
			{Name: xssName, Users: 5, Tasks: []TaskShare{{Name: xssName, Share: 1}}},
		},
	}
}

func render(t *testing.T, d Data) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, Write(&b, d))
	return b.String()
}

// helpers over the parsed page

func find(n *html.Node, pred func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if pred(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func attr(n *html.Node, k string) string {
	for _, a := range n.Attr {
		if a.Key == k {
			return a.Val
		}
	}
	return ""
}

func byID(t *testing.T, doc *html.Node, id string) *html.Node {
	t.Helper()
	ns := find(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && attr(n, "id") == id })
	require.Len(t, ns, 1, "#%s", id)
	return ns[0]
}

func text(n *html.Node) string {
	var b strings.Builder
	for _, t := range find(n, func(n *html.Node) bool { return n.Type == html.TextNode }) {
		b.WriteString(t.Data)
	}
	return b.String()
}

func rows(t *testing.T, doc *html.Node, id string) [][]string {
	t.Helper()
	var out [][]string
	for _, tr := range find(byID(t, doc, id), func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "tr" }) {
		if tr.Parent.Data != "tbody" {
			continue
		}
		var cells []string
		for _, td := range find(tr, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "td" }) {
			cells = append(cells, text(td))
		}
		out = append(out, cells)
	}
	return out
}

// pageJSON reads the data block back (threshold results are written by
// their MarshalJSON, read here as plain fields).
type pageJSON struct {
	JSONData
	Thresholds []struct {
		Expr    string `json:"expr"`
		Passed  bool   `json:"passed"`
		Missing bool   `json:"missing"`
	} `json:"thresholds"`
	raw string
}

func parse(t *testing.T, page string) (*html.Node, pageJSON) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	require.NoError(t, err)
	var j pageJSON
	j.raw = text(byID(t, doc, "report-data"))
	require.NoError(t, json.Unmarshal([]byte(j.raw), &j))
	return doc, j
}

func n(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func TestNumbersMatchJSONAndSnapshot(t *testing.T) {
	d := testData(t)
	doc, j := parse(t, render(t, d))
	snap := d.Snapshot

	// the JSON equals the snapshot
	require.Len(t, j.Stats, len(snap.Entries)+1)
	span := snap.LastRequest.Sub(snap.Start).Seconds()
	for i, e := range append(append([]*stats.Entry{}, snap.Entries...), snap.Total) {
		r := j.Stats[i]
		assert.Equal(t, e.Method, r.Method)
		assert.Equal(t, e.Name, r.Name)
		assert.Equal(t, e.NumRequests, r.Requests)
		assert.Equal(t, e.NumFailures, r.Failures)
		assert.InDelta(t, float64(e.Avg())/1e6, r.Avg, 0.0051)
		assert.InDelta(t, float64(e.Min)/1e6, r.Min, 0.0051)
		assert.InDelta(t, float64(e.Max)/1e6, r.Max, 0.0051)
		assert.InDelta(t, e.AvgSize(), r.AvgSize, 0.0051)
		assert.InDelta(t, float64(e.NumRequests)/span, r.RPS, 0.0051)
		assert.InDelta(t, float64(e.NumFailures)/span, r.FailPerSec, 0.0051)
		require.Len(t, r.Percentiles, 8)
		for k, p := range Percentiles {
			assert.InDelta(t, float64(e.Percentile(p))/1e6, r.Percentiles[k], 0.0051, "p%v of %s", p, e.Name)
		}
	}
	assert.Equal(t, "Aggregated", j.Stats[len(j.Stats)-1].Name)
	assert.EqualValues(t, 200+50+20, j.Stats[len(j.Stats)-1].Requests)

	// the tables equal the JSON
	req := rows(t, doc, "requests")
	require.Len(t, req, len(j.Stats))
	for i, r := range j.Stats {
		assert.Equal(t, []string{r.Method, r.Name, strconv.FormatInt(r.Requests, 10), strconv.FormatInt(r.Failures, 10),
			n(r.Avg), n(r.Min), n(r.Max), n(r.AvgSize), n(r.RPS), n(r.FailPerSec)}, req[i])
	}
	pct := rows(t, doc, "percentiles")
	require.Len(t, pct, len(j.Stats))
	for i, r := range j.Stats {
		want := []string{r.Method, r.Name}
		for _, v := range r.Percentiles {
			want = append(want, n(v))
		}
		assert.Equal(t, want, pct[i])
	}
	heads := find(byID(t, doc, "percentiles"), func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "th" })
	var hs []string
	for _, h := range heads {
		hs = append(hs, text(h))
	}
	assert.Equal(t, []string{"Method", "Name", "50%ile (ms)", "60%ile (ms)", "70%ile (ms)", "80%ile (ms)", "90%ile (ms)",
		"95%ile (ms)", "99%ile (ms)", "100%ile (ms)"}, hs)

	fails := rows(t, doc, "failures")
	require.Len(t, fails, len(snap.Errors))
	require.Len(t, j.Errors, len(snap.Errors))
	for i, e := range snap.Errors {
		assert.Equal(t, []string{e.Method, e.Name, e.Message, strconv.FormatInt(e.Occurrences, 10)}, fails[i])
		assert.Equal(t, e.Message, j.Errors[i].Error)
	}
	exc := rows(t, doc, "exceptions")
	require.Len(t, exc, 1)
	assert.Equal(t, "1", exc[0][0])
	assert.Equal(t, snap.Exceptions[0].Traceback, exc[0][2])

	th := rows(t, doc, "thresholds")
	require.Len(t, th, 4)
	for i, r := range d.Thresholds {
		assert.Equal(t, r.Expr, th[i][0])
		assert.Equal(t, r.MeasuredText(), th[i][2])
		assert.Equal(t, r.Passed, strings.HasPrefix(th[i][4], "passed"), th[i])
		assert.Equal(t, r.Passed, j.Thresholds[i].Passed)
	}
	assert.True(t, j.Thresholds[0].Passed)
	assert.False(t, j.Thresholds[1].Passed, "p99 of /item is ~198ms")
	assert.True(t, j.Thresholds[2].Passed)
	assert.True(t, j.Thresholds[3].Missing)
	assert.Equal(t, "2 of 4 failed", text(byID(t, doc, "verdict")))

	// header
	assert.Equal(t, "2026-03-04T10:00:00Z – 2026-03-04T10:00:10Z (10s)", text(byID(t, doc, "span")))
	assert.Equal(t, d.Host, text(byID(t, doc, "host")))
	assert.Equal(t, "15", text(byID(t, doc, "users")))
	assert.Equal(t, "Browser (10), "+xssName+" (5)", text(byID(t, doc, "classes")))

	// history
	assert.Equal(t, []float64{float64(t0.Unix()), float64(t0.Unix() + 5), float64(t0.Unix() + 10)}, j.History.Time)
	assert.Equal(t, []int{5, 10, 15}, j.History.Users)
	assert.Equal(t, []float64{100, 101, 102}, j.History.P95)
	assert.Equal(t, []float64{0, 0.5, 1}, j.History.FailPerSec)

	// ratio: shares from the user counts; total = class share x task share
	perClass := strings.Join(strings.Fields(text(byID(t, doc, "ratio-per-class"))), " ")
	assert.Equal(t, "66.7% Browser 75.0% Browse 25.0% Nested 100.0% Inner 33.3% "+xssName+" 100.0% "+xssName, perClass)
	total := strings.Join(strings.Fields(text(byID(t, doc, "ratio-total"))), " ")
	assert.Equal(t, "50.0% Browser.Browse 33.3% "+xssName+"."+xssName+" 16.7% Browser.Nested 16.7% Inner", total)
	require.Len(t, j.Classes, 2)
	assert.InDelta(t, 2.0/3, j.Classes[0].Share, 1e-9)
}

func TestNamesAreEscaped(t *testing.T) {
	page := render(t, testData(t))
	assert.NotContains(t, page, xssName, "the raw markup never appears")
	assert.NotContains(t, page, "<b>server error</b>")
	assert.Contains(t, page, "&lt;img src=x onerror=alert(1)&gt;")
	assert.Contains(t, page, `\u003cimg src=x onerror=alert(1)\u003e`, "escaped in the JSON block")
	doc, j := parse(t, page)
	assert.Empty(t, find(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && (n.Data == "img" || n.Data == "b") }))
	scripts := find(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "script" })
	assert.Len(t, scripts, 2, "the data block and the one script")
	names := map[string]bool{}
	for _, r := range j.Stats {
		names[r.Name] = true
	}
	assert.True(t, names[xssName], "the JSON holds the name as it was")

	// a name that tries to close the data block
	d := testData(t)
	d.Snapshot.Entries[0].Name = "</script><script>alert(1)</script>"
	page = render(t, d)
	assert.Equal(t, 2, strings.Count(page, "</script>"))
	doc, j = parse(t, page)
	assert.Equal(t, "</script><script>alert(1)</script>", j.Stats[0].Name)
	assert.Len(t, find(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "script" }), 2)
}

func TestCSPHashesMatchInlineCode(t *testing.T) {
	page := render(t, testData(t))
	doc, _ := parse(t, page)
	metas := find(doc, func(n *html.Node) bool {
		return n.Type == html.ElementNode && n.Data == "meta" && attr(n, "http-equiv") == "Content-Security-Policy"
	})
	require.Len(t, metas, 1)
	csp := attr(metas[0], "content")
	assert.Equal(t, ContentSecurityPolicy, csp)
	assert.Contains(t, csp, "default-src 'none'")
	assert.NotContains(t, csp, "unsafe")

	sum := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
	}
	var code []string
	for _, s := range find(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "script" }) {
		if attr(s, "type") == "" {
			code = append(code, text(s))
		}
	}
	require.Len(t, code, 1)
	assert.Contains(t, csp, "script-src "+sum(code[0])+";")
	styles := find(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "style" })
	require.Len(t, styles, 1)
	assert.Contains(t, csp, "style-src "+sum(text(styles[0]))+";")
	// the vendored module became a classic script
	assert.False(t, regexp.MustCompile(`(?m)^\s*(export|import)\b`).MatchString(code[0]))
	assert.Contains(t, code[0], "var uPlot = (function () {")
	// no external references at all
	assert.NotRegexp(t, `(?i)(src|href)\s*=\s*["']?(https?:)?//`, page)
}

func TestEmptyRun(t *testing.T) {
	page := render(t, Data{})
	doc, j := parse(t, page)
	assert.Equal(t, "Locust Test Report", j.Title)
	require.Len(t, j.Stats, 1)
	assert.Equal(t, "Aggregated", j.Stats[0].Name)
	assert.Empty(t, j.Errors)
	assert.Equal(t, "No failures.", text(byID(t, doc, "failures")))
	byID(t, doc, "no-charts")
	assert.Equal(t, "no requests were made", text(byID(t, doc, "span")))
	assert.Empty(t, find(doc, func(n *html.Node) bool { return attr(n, "id") == "thresholds" || attr(n, "id") == "exceptions" }))
	assert.False(t, strings.Contains(j.raw, "null"), "empty lists are [] in the JSON: %s", j.raw)

	// a snapshot with no requests
	page = render(t, Data{Title: "Nightly", Snapshot: stats.NewRegistry(stats.Options{}).Snapshot()})
	_, j = parse(t, page)
	assert.Equal(t, "Nightly", j.Title)
	assert.Zero(t, j.Stats[0].Requests)
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	err := Write(failWriter{}, Data{})
	assert.ErrorContains(t, err, "disk full")
}

func TestReportShowsGeneratorLagAndEndedUsers(t *testing.T) {
	d := testData(t)
	page := render(t, d)
	assert.NotContains(t, page, `id="generator-lag"`, "nothing to say without lag")
	d.Snapshot.Lag = stats.NewHistogram()
	for i := range 100 {
		_ = d.Snapshot.Lag.RecordValue(int64(i+1) * 10) // microseconds
	}
	d.Snapshot.EndedUsers = map[string]int64{"Shopper: OnStart panicked": 2, "<b>x</b>: task returned user.ErrStopUser": 1}
	page = render(t, d)
	assert.Contains(t, page, `<dd id="generator-lag">p50 0.500 ms, p99 0.990 ms (intended to actual start of 100 paced or arrival-rate iterations)`)
	assert.Contains(t, page, `<dd id="ended-users">1 &lt;b&gt;x&lt;/b&gt;: task returned user.ErrStopUser; 2 Shopper: OnStart panicked</dd>`)
}
