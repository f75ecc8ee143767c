package webui

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"

	"github.com/golocust/golocust/compare"
	"github.com/golocust/golocust/stats"
	. "github.com/golocust/golocust/webui"
)

// baselineSnapshot records 300 requests per name at the given latency
// (±10 %).
func baselineSnapshot(lat map[string]time.Duration) *stats.Snapshot {
	reg := stats.NewRegistry(stats.Options{})
	for name, d := range lat {
		for i := range 300 {
			reg.Record(stats.Sample{Method: "GET", Name: name, Duration: d * time.Duration(90+i%21) / 100})
		}
	}
	return reg.Snapshot()
}

// baselineTable builds the tab's table from a comparison, as the locust
// package does.
func baselineTable(rep *compare.Report) *BaselineTable {
	t := &BaselineTable{File: rep.BaseName, Settings: rep.Settings(), Summary: rep.Summary(), Regressed: rep.Regressed(), Header: rep.Header()}
	for i := range rep.Rows {
		t.Rows = append(t.Rows, BaselineRow{Cells: rep.Cells(i), Regressed: rep.Rows[i].Regressed(), Total: rep.Rows[i].Aggregated()})
	}
	return t
}

func TestBrowserBaselineTabShowsTheComparison(t *testing.T) {
	base := baselineSnapshot(map[string]time.Duration{"/cart": 20 * time.Millisecond, "/checkout": 20 * time.Millisecond, xssName: 5 * time.Millisecond})
	cur := baselineSnapshot(map[string]time.Duration{"/cart": 20 * time.Millisecond, "/checkout": 24 * time.Millisecond})
	rep := compare.Compare(base, cur, compare.Options{})
	rep.BaseName = "main.json"
	f := newFake("/", "/item")
	t.Cleanup(f.close)
	url := serveForBrowser(t, Options{Controller: f, Version: "test", Baseline: func() *BaselineTable { return baselineTable(rep) }})
	b := newBrowser(t)

	b.Do(chromedp.Navigate(url + "/?tab=baseline"))
	b.WaitJS(`!document.querySelector('#tab-btn-baseline').hidden`, "the Baseline tab button")
	b.SetValue("f-users", "2")
	b.SetValue("f-host", "http://127.0.0.1:9")
	b.Click("#f-submit")
	b.Click(`.tabs [data-tab="baseline"]`)
	b.WaitJS(`document.querySelectorAll('#baseline-table tbody tr').length === 4`, "four baseline rows")
	row := func(name string) string {
		return b.Eval(`Array.from(document.querySelectorAll('#baseline-table tbody tr')).map(tr => Array.from(tr.cells).map(td => td.textContent).join(' | ')).find(r => r.startsWith(` + "`" + name + " |`" + `)) || ''`)
	}
	checkout := row("GET /checkout")
	assert.Contains(t, checkout, "+20%*", "the median moved 20 %, flagged")
	assert.Contains(t, checkout, "| slower")
	assert.Contains(t, row("GET /cart"), "| no significant change")
	assert.Contains(t, row("GET "+xssName), "| only in baseline", "the name is text")
	assert.Contains(t, row("Aggregated"), "|")
	assert.Equal(t, "true", b.Eval(`String(document.querySelector('#baseline-table tbody tr.regressed').cells[0].textContent === 'GET /checkout')`))
	assert.Equal(t, "p50 ms", b.Eval(`document.querySelectorAll('#baseline-table thead th')[2].textContent`))
	summary := b.Eval(`document.querySelector('#baseline-summary').textContent`)
	assert.Contains(t, summary, "main.json (99% confidence; changes under 5% ignored)")
	assert.Contains(t, summary, "1 endpoint(s) regressed: GET /checkout (slower)")
	assert.Equal(t, "0", b.Eval(`String(document.querySelectorAll('img').length)`))
	b.Screenshot("/tmp/webui-baseline.png")
	assert.Empty(t, problems(b))
}

func TestBrowserNoBaselineNoTab(t *testing.T) {
	f := newFake("/")
	t.Cleanup(f.close)
	url := serveForBrowser(t, Options{Controller: f, Version: "test"})
	b := newBrowser(t)
	b.Do(chromedp.Navigate(url + "/?tab=baseline"))
	b.WaitJS(`document.querySelector('#m-state').textContent === 'READY'`, "the page")
	assert.Equal(t, "true", b.Eval(`String(document.querySelector('#tab-btn-baseline').hidden)`))
	assert.Equal(t, "true", b.Eval(`String(document.querySelector('#tab-baseline').hidden)`))
	assert.Empty(t, problems(b))
}
