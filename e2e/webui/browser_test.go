package webui

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/e2e/internal/browsertest"
	"github.com/golocust/golocust/stats"
	. "github.com/golocust/golocust/webui"
)

const xssName = `<img src=x onerror=alert(1)>`

// newBrowser starts headless Chromium for one test.
func newBrowser(t *testing.T) *browsertest.Browser { return browsertest.New(t) }

// problems lists what must not happen on the page, less the console line
// of the deliberately bad form value.
func problems(b *browsertest.Browser) []string {
	return b.Problems(func(m string) bool {
		return strings.Contains(m, "status of 400 (Bad Request) [network]") && strings.Contains(m, "/swarm")
	})
}

func serveForBrowser(t *testing.T, o Options) string {
	t.Helper()
	s, err := New(o)
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	return "http://" + l.Addr().String()
}

func TestBrowserRunLifecycle(t *testing.T) {
	f := newFake("/", "/item", xssName, "/cart/checkout")
	t.Cleanup(f.close)
	base := serveForBrowser(t, Options{Controller: f, Version: "test"})
	b := newBrowser(t)

	b.Do(chromedp.Navigate(base + "/"))
	b.WaitJS(`!document.querySelector('#start-panel').hidden && document.querySelector('#m-state').textContent === 'READY'`, "the start form")
	b.WaitJS(`document.querySelectorAll('#class-list input:checked').length === 2`, "the class picker")
	assert.Equal(t, "true", b.Eval(`String(document.querySelector('#run-panel').hidden)`))

	// a bad value is shown next to its field, nothing starts
	b.SetValue("f-users", "-3")
	b.Click("#f-submit")
	b.WaitJS(`document.querySelector('.field-error[data-field="user_count"]').textContent.includes('must not be negative')`, "the field error")
	b.Screenshot("/tmp/webui-start.png")
	_, n := f.lastStart()
	assert.Zero(t, n)

	// start from the form
	b.SetValue("f-users", "5")
	b.SetValue("f-rate", "2")
	b.SetValue("f-host", "http://127.0.0.1:9")
	b.SetValue("f-runtime", "10m")
	b.Click("#f-submit")
	b.WaitJS(`document.querySelectorAll('#stats-table tbody tr').length === 4`, "four stats rows")
	req, n := f.lastStart()
	require.Equal(t, 1, n)
	assert.Equal(t, StartRequest{Users: 5, SpawnRate: 2, Host: "http://127.0.0.1:9", RunTime: 10 * time.Minute, Classes: []string{"Shopper", "Browser"}}, req)
	b.WaitJS(`document.querySelector('#m-state').textContent === 'RUNNING'`, "state RUNNING")
	assert.Equal(t, "http://127.0.0.1:9", b.Eval(`document.querySelector('#m-host').textContent`))
	assert.Equal(t, "5", b.Eval(`document.querySelector('#m-users').textContent`))
	assert.Equal(t, "Aggregated", b.Eval(`document.querySelector('#stats-table tfoot td.name').textContent`))

	// the rows grow while the test runs
	first := b.Eval(`document.querySelector('#stats-table tfoot td:nth-child(3)').textContent`)
	b.WaitJS(`document.querySelector('#stats-table tfoot td:nth-child(3)').textContent !== '`+first+`'`, "the request count to grow")

	// the XSS name is text, in the table and in the failures
	assert.Equal(t, "true", b.Eval(`String(Array.from(document.querySelectorAll('#stats-table td.name')).some(td => td.textContent === `+"`"+xssName+"`"+`))`))
	assert.Equal(t, "0", b.Eval(`String(document.querySelectorAll('img').length)`))
	b.Click(`.tabs [data-tab="failures"]`)
	b.WaitJS(`Array.from(document.querySelectorAll('#failures-table td.message')).some(td => td.textContent === "HTTP 500: <script>alert('x')</script>")`, "the failure as text")
	assert.Equal(t, "1", b.Eval(`String(document.querySelectorAll('script').length)`), "only the app's own script element")
	b.Screenshot("/tmp/webui-failures.png")
	b.Click(`.tabs [data-tab="exceptions"]`)
	b.WaitJS(`document.querySelector('#exceptions-table td.message') && document.querySelector('#exceptions-table td.message').textContent === 'panic: <img src=x onerror=alert(2)>'`, "the exception as text")
	assert.Contains(t, b.Eval(`document.querySelector('#exceptions-table pre.traceback').textContent`), "shop.go:42")
	b.Screenshot("/tmp/webui-exceptions.png")
	b.Click(`.tabs [data-tab="ratio"]`)
	b.WaitJS(`document.querySelector('#ratio-total').textContent.includes('62.5%')`, "the task ratios")
	b.Screenshot("/tmp/webui-ratio.png")
	b.Click(`.tabs [data-tab="logs"]`)
	b.WaitJS(`document.querySelector('#logs-master').textContent.includes('<b>not bold</b>')`, "the logs as text")
	assert.Equal(t, "0", b.Eval(`String(document.querySelectorAll('#logs-master b').length)`))

	// charts are drawn
	b.Click(`.tabs [data-tab="charts"]`)
	b.WaitJS(`(() => { const c = document.querySelectorAll('#tab-charts canvas');
		return c.length === 3 && Array.from(c).every(x => x.width > 0 && x.height > 0 && x.getBoundingClientRect().width > 0); })()`, "three drawn charts")
	assert.Contains(t, b.Eval(`new URL(location.href).searchParams.get('tab')`), "charts")
	b.WaitJS(`document.querySelectorAll('#tab-charts .u-legend').length === 3`, "chart legends")
	b.Screenshot("/tmp/webui-charts.png")

	// edit the running test
	b.Click(`.tabs [data-tab="stats"]`)
	b.Click("#btn-edit")
	b.WaitJS(`document.querySelector('#swarm-dialog').open && document.querySelector('#form-title').textContent === 'Edit running load test'`, "the edit dialog")
	assert.Equal(t, "true", b.Eval(`String(document.querySelector('.full-only').hidden)`))
	// In the dialog too, each label sits above its field and the two
	// fields line up, as the start form's fields do.
	assert.Equal(t, "ok", b.Eval(`(() => {
		const r = (sel) => document.querySelector(sel).getBoundingClientRect();
		const out = [];
		for (const id of ['f-users', 'f-rate']) {
			const l = r('label[for=' + id + ']'), i = r('#' + id);
			if (!(l.bottom <= i.top + 1)) out.push(id + ': label beside or below its field');
			if (Math.abs(l.left - i.left) > 1) out.push(id + ': label not aligned with its field');
		}
		const u = r('#f-users'), s = r('#f-rate');
		if (Math.abs(u.left - s.left) > 1 || Math.abs(u.width - s.width) > 1) out.push('users and ramp-up fields differ');
		return out.join('; ') || 'ok';
	})()`))
	b.SetValue("f-users", "20")
	b.Screenshot("/tmp/webui-edit.png")
	b.Click("#f-submit")
	b.WaitJS(`!document.querySelector('#swarm-dialog').open && document.querySelector('#m-users').textContent === '20'`, "20 users")
	req, n = f.lastStart()
	require.Equal(t, 2, n)
	assert.Equal(t, StartRequest{Users: 20, SpawnRate: 2}, req)
	b.Screenshot("/tmp/webui.png")

	// stop
	b.Click("#btn-stop")
	b.WaitJS(`document.querySelector('#m-state').textContent === 'STOPPED' && !document.querySelector('#btn-new').hidden && document.querySelector('#btn-stop').hidden`, "state STOPPED")
	assert.Equal(t, 1, f.stops)

	// reset clears the table
	b.Click("#btn-reset")
	b.WaitJS(`document.querySelectorAll('#stats-table tbody tr').length === 0`, "an empty table after reset")

	// new test: the full form in a dialog
	b.Click("#btn-new")
	b.WaitJS(`document.querySelector('#swarm-dialog').open && !document.querySelector('.full-only').hidden`, "the new-test dialog")
	b.Click("#f-cancel")
	b.WaitJS(`!document.querySelector('#swarm-dialog').open`, "the dialog to close")

	assert.Empty(t, problems(b))
}

func TestBrowserMasterAndRowCap(t *testing.T) {
	browsertest.Find(t)
	f := newFake()
	f.master = true
	for i := range 1000 {
		f.record("GET", fmt.Sprintf("/item/%04d", i), time.Duration(i+1)*time.Millisecond, 10, nil)
	}
	f.fixed = f.Snapshot()
	f.fixed.Lag = stats.NewHistogram()
	for i := range 100 {
		_ = f.fixed.Lag.RecordValue(int64(i+1) * 10) // 0.01 .. 1 ms, in microseconds
	}
	f.fixed.EndedUsers = map[string]int64{"Shopper: OnStart returned user.ErrStopUser": 3}
	base := serveForBrowser(t, Options{Controller: f})
	b := newBrowser(t)
	b.Do(chromedp.Navigate(base + "/"))
	b.WaitJS(`!document.querySelector('#m-lag-box').hidden`, "the generator lag in the top bar")
	assert.Equal(t, "0.500 / 0.990 ms", b.Eval(`document.querySelector('#m-lag').textContent`))
	assert.Equal(t, "3", b.Eval(`document.querySelector('#m-ended').textContent`))
	assert.Contains(t, b.Eval(`document.querySelector('#m-ended-box').title`), "3 Shopper: OnStart returned user.ErrStopUser")

	// no worker yet: the form says so and cannot be sent
	b.WaitJS(`!document.querySelector('#no-workers').hidden && document.querySelector('#f-submit').disabled`, "the no-workers notice")
	assert.Equal(t, "false", b.Eval(`String(document.querySelector('#m-workers-box').hidden)`))
	f.mu.Lock()
	f.workers = []WorkerInfo{{ID: "worker-1", State: "ready", UserCount: 0, CPUUsage: 12.5, MemoryUsage: 64 << 20, LagP50: 0.041, LagP99: 0.31}}
	f.mu.Unlock()
	b.WaitJS(`document.querySelector('#no-workers').hidden && !document.querySelector('#f-submit').disabled`, "the form to accept a start")
	b.SetValue("f-users", "3")
	b.Click("#f-submit")
	b.WaitJS(`document.querySelector('#m-state').textContent === 'RUNNING'`, "state RUNNING")

	b.Click(`.tabs [data-tab="workers"]`)
	b.WaitJS(`document.querySelectorAll('#workers-table tbody tr').length === 1`, "the workers table")
	assert.Equal(t, "worker-1", b.Eval(`document.querySelector('#workers-table td.name').textContent`))
	assert.Equal(t, "0.041 / 0.310", b.Eval(`document.querySelector('#workers-table tbody tr td:last-child').textContent`), "the worker's generator lag")
	assert.Equal(t, "1", b.Eval(`document.querySelector('#m-workers').textContent`))
	b.Click(`.tabs [data-tab="stats"]`)
	b.WaitJS(`document.querySelectorAll('#stats-table tbody tr').length === 500`, "500 rows")
	assert.Contains(t, b.Eval(`document.querySelector('#stats-cap').textContent`), "first 500 of 1000 names")
	assert.Empty(t, problems(b))
}
