package webui

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"

	"github.com/golocust/golocust/stats"
	. "github.com/golocust/golocust/webui"
)

// A user clicks the p99 of /checkout and gets the trace ids at or above
// it; the max gives the slowest one; the detail survives the table's
// refreshes and closes.
func TestBrowserP99AndMaxShowTheTraceIDs(t *testing.T) {
	f := newFake()
	t.Cleanup(f.close)
	for i := 1; i <= 100; i++ {
		f.record("GET", "/checkout", time.Duration(i)*time.Millisecond, 10, nil)
		f.record("GET", xssName, time.Millisecond, 10, nil)
	}
	f.fixed = f.Snapshot()
	id := func(i int) stats.TraceID {
		var t stats.TraceID
		binary.BigEndian.PutUint64(t[8:], uint64(i))
		return t
	}
	for _, e := range f.fixed.Entries {
		if e.Name == "/checkout" {
			for i := 100; i > 90; i-- {
				e.Exemplars = append(e.Exemplars, stats.Exemplar{TraceID: id(i), Duration: time.Duration(i) * time.Millisecond})
			}
		}
	}
	url := serveForBrowser(t, Options{Controller: f, Version: "test"})
	b := newBrowser(t)
	b.Do(chromedp.Navigate(url + "/"))
	b.SetValue("f-users", "2")
	b.SetValue("f-host", "http://127.0.0.1:9")
	b.Click("#f-submit")
	b.WaitJS(`document.querySelectorAll('#stats-table button.exemplar-link').length === 2`, "the p99 and max of /checkout as buttons")
	assert.Equal(t, "0", b.Eval(`String(document.querySelectorAll('#stats-table tr[data-exemplars] td[data-key="name"]').length - 1)`), "only /checkout has exemplars")

	b.Click(`#stats-table button.exemplar-link[data-which="p99"]`)
	b.WaitJS(`document.querySelectorAll('#stats-table tr.exemplar-detail code.trace-id').length > 0`, "the p99's trace ids")
	p99 := b.Eval(`Array.from(document.querySelectorAll('#stats-table tr.exemplar-detail code.trace-id')).map(c => c.textContent).join(' ')`)
	assert.Contains(t, p99, id(100).String())
	assert.NotContains(t, p99, id(95).String(), "below the p99")
	assert.Contains(t, b.Eval(`document.querySelector('#stats-table tr.exemplar-detail strong').textContent`), "99%ile")

	// The table is redrawn every 2 s: the detail stays open.
	b.Eval(`document.querySelector('#stats-table tbody tr').dataset.old = '1'; ''`)
	b.WaitJS(`!document.querySelector('#stats-table tbody tr').dataset.old`, "the table redrawn")
	assert.Equal(t, "1", b.Eval(`String(document.querySelectorAll('#stats-table tr.exemplar-detail').length)`))
	b.Screenshot("/tmp/webui-exemplars.png")

	b.Click(`#stats-table button.exemplar-link[data-which="max"]`)
	b.WaitJS(`document.querySelector('#stats-table tr.exemplar-detail').dataset.detail === 'max'`, "the max's trace id")
	assert.Equal(t, id(100).String()+" 100 ms", b.Eval(`document.querySelector('#stats-table tr.exemplar-detail li').textContent`))

	b.Click(`#stats-table button.exemplar-close`)
	b.WaitJS(`document.querySelectorAll('#stats-table tr.exemplar-detail').length === 0`, "the detail closed")
	assert.Empty(t, problems(b))
}
