package webui

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const xssName = `<img src=x onerror=alert(1)>`

// findChromium returns the browser to drive, or skips the test (fails it
// when LOCUST_REQUIRE_BROWSER=1).
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found in PATH: install it (apt-get install -y chromium) to run the browser tests"
	if os.Getenv("LOCUST_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + " (LOCUST_REQUIRE_BROWSER=1 makes them required)")
	}
	t.Skip(msg)
	return ""
}

// browser drives one headless Chromium tab and records what must not happen:
// dialogs, console errors and CSP violations.
type browser struct {
	t        *testing.T
	ctx      context.Context
	mu       sync.Mutex
	console  []string
	dialogs  []string
	wg       sync.WaitGroup
	shutdown func()
}

func newBrowser(t *testing.T) *browser {
	exe := findChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1000),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &browser{t: t, ctx: ctx}
	b.shutdown = func() {
		_ = chromedp.Cancel(ctx)
		cancel()
		acancel()
		b.wg.Wait()
	}
	t.Cleanup(b.shutdown)
	require.NoError(t, chromedp.Do(ctx), "starting Chromium")

	// Report CSP violations from inside the page too (the injected script
	// is not subject to the page's CSP).
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__csp = []; document.addEventListener('securitypolicyviolation',
			e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`,
	})
	require.NoError(t, err)

	messages := chromedp.Console(ctx)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	b.wg.Add(2)
	go func() {
		defer b.wg.Done()
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, fmt.Sprintf("%s [%s] %s:%d", m, m.Source, m.URL, m.Line+1))
			b.mu.Unlock()
		}
	}()
	go func() {
		defer b.wg.Done()
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, ev.Message)
			b.mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return b
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, steps...))
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	require.NoError(b.t, err, js)
	return v
}

// waitJS polls a boolean expression until it holds or the deadline passes.
func (b *browser) waitJS(js string, what string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s: %s (last error %v)", what, js, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *browser) setValue(id, v string) {
	b.t.Helper()
	b.do(chromedp.SetValue(chromedp.ID(id), v))
}

func (b *browser) click(sel string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(sel)))
}

func (b *browser) screenshot(path string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err)
	require.NoError(b.t, os.WriteFile(path, png, 0o644))
}

// problems returns console errors and warnings, CSP violations and dialogs.
func (b *browser) problems() []string {
	b.t.Helper()
	csp := b.eval(`JSON.stringify(window.__csp || [])`)
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		if strings.Contains(m, "status of 400 (Bad Request) [network]") && strings.Contains(m, "/swarm") {
			continue // the deliberate bad form value
		}
		if strings.HasPrefix(m, "error") || strings.HasPrefix(m, "exception") || strings.HasPrefix(m, "warning") ||
			strings.Contains(m, "Content Security Policy") {
			out = append(out, "console: "+m)
		}
	}
	if csp != "[]" {
		out = append(out, "CSP violations: "+csp)
	}
	for _, d := range b.dialogs {
		out = append(out, "dialog opened: "+d)
	}
	return out
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

	b.do(chromedp.Navigate(base + "/"))
	b.waitJS(`!document.querySelector('#start-panel').hidden && document.querySelector('#m-state').textContent === 'READY'`, "the start form")
	b.waitJS(`document.querySelectorAll('#class-list input:checked').length === 2`, "the class picker")
	assert.Equal(t, "true", b.eval(`String(document.querySelector('#run-panel').hidden)`))

	// a bad value is shown next to its field, nothing starts
	b.setValue("f-users", "-3")
	b.click("#f-submit")
	b.waitJS(`document.querySelector('.field-error[data-field="user_count"]').textContent.includes('must not be negative')`, "the field error")
	b.screenshot("/tmp/webui-start.png")
	_, n := f.lastStart()
	assert.Zero(t, n)

	// start from the form
	b.setValue("f-users", "5")
	b.setValue("f-rate", "2")
	b.setValue("f-host", "http://127.0.0.1:9")
	b.setValue("f-runtime", "10m")
	b.click("#f-submit")
	b.waitJS(`document.querySelectorAll('#stats-table tbody tr').length === 4`, "four stats rows")
	req, n := f.lastStart()
	require.Equal(t, 1, n)
	assert.Equal(t, StartRequest{Users: 5, SpawnRate: 2, Host: "http://127.0.0.1:9", RunTime: 10 * time.Minute, Classes: []string{"Shopper", "Browser"}}, req)
	b.waitJS(`document.querySelector('#m-state').textContent === 'RUNNING'`, "state RUNNING")
	assert.Equal(t, "http://127.0.0.1:9", b.eval(`document.querySelector('#m-host').textContent`))
	assert.Equal(t, "5", b.eval(`document.querySelector('#m-users').textContent`))
	assert.Equal(t, "Aggregated", b.eval(`document.querySelector('#stats-table tfoot td.name').textContent`))

	// the rows grow while the test runs
	first := b.eval(`document.querySelector('#stats-table tfoot td:nth-child(3)').textContent`)
	b.waitJS(`document.querySelector('#stats-table tfoot td:nth-child(3)').textContent !== '`+first+`'`, "the request count to grow")

	// the XSS name is text, in the table and in the failures
	assert.Equal(t, "true", b.eval(`String(Array.from(document.querySelectorAll('#stats-table td.name')).some(td => td.textContent === `+"`"+xssName+"`"+`))`))
	assert.Equal(t, "0", b.eval(`String(document.querySelectorAll('img').length)`))
	b.click(`.tabs [data-tab="failures"]`)
	b.waitJS(`Array.from(document.querySelectorAll('#failures-table td.message')).some(td => td.textContent === "HTTP 500: <script>alert('x')</script>")`, "the failure as text")
	assert.Equal(t, "1", b.eval(`String(document.querySelectorAll('script').length)`), "only the app's own script element")
	b.screenshot("/tmp/webui-failures.png")
	b.click(`.tabs [data-tab="exceptions"]`)
	b.waitJS(`document.querySelector('#exceptions-table td.message') && document.querySelector('#exceptions-table td.message').textContent === 'panic: <img src=x onerror=alert(2)>'`, "the exception as text")
	assert.Contains(t, b.eval(`document.querySelector('#exceptions-table pre.traceback').textContent`), "shop.go:42")
	b.screenshot("/tmp/webui-exceptions.png")
	b.click(`.tabs [data-tab="ratio"]`)
	b.waitJS(`document.querySelector('#ratio-total').textContent.includes('62.5%')`, "the task ratios")
	b.screenshot("/tmp/webui-ratio.png")
	b.click(`.tabs [data-tab="logs"]`)
	b.waitJS(`document.querySelector('#logs-master').textContent.includes('<b>not bold</b>')`, "the logs as text")
	assert.Equal(t, "0", b.eval(`String(document.querySelectorAll('#logs-master b').length)`))

	// charts are drawn
	b.click(`.tabs [data-tab="charts"]`)
	b.waitJS(`(() => { const c = document.querySelectorAll('#tab-charts canvas');
		return c.length === 3 && Array.from(c).every(x => x.width > 0 && x.height > 0 && x.getBoundingClientRect().width > 0); })()`, "three drawn charts")
	assert.Contains(t, b.eval(`new URL(location.href).searchParams.get('tab')`), "charts")
	b.waitJS(`document.querySelectorAll('#tab-charts .u-legend').length === 3`, "chart legends")
	b.screenshot("/tmp/webui-charts.png")

	// edit the running test
	b.click(`.tabs [data-tab="stats"]`)
	b.click("#btn-edit")
	b.waitJS(`document.querySelector('#swarm-dialog').open && document.querySelector('#form-title').textContent === 'Edit running load test'`, "the edit dialog")
	assert.Equal(t, "true", b.eval(`String(document.querySelector('.full-only').hidden)`))
	b.setValue("f-users", "20")
	b.screenshot("/tmp/webui-edit.png")
	b.click("#f-submit")
	b.waitJS(`!document.querySelector('#swarm-dialog').open && document.querySelector('#m-users').textContent === '20'`, "20 users")
	req, n = f.lastStart()
	require.Equal(t, 2, n)
	assert.Equal(t, StartRequest{Users: 20, SpawnRate: 2}, req)
	b.screenshot("/tmp/webui.png")

	// stop
	b.click("#btn-stop")
	b.waitJS(`document.querySelector('#m-state').textContent === 'STOPPED' && !document.querySelector('#btn-new').hidden && document.querySelector('#btn-stop').hidden`, "state STOPPED")
	assert.Equal(t, 1, f.stops)

	// reset clears the table
	b.click("#btn-reset")
	b.waitJS(`document.querySelectorAll('#stats-table tbody tr').length === 0`, "an empty table after reset")

	// new test: the full form in a dialog
	b.click("#btn-new")
	b.waitJS(`document.querySelector('#swarm-dialog').open && !document.querySelector('.full-only').hidden`, "the new-test dialog")
	b.click("#f-cancel")
	b.waitJS(`!document.querySelector('#swarm-dialog').open`, "the dialog to close")

	assert.Empty(t, b.problems())
}

func TestBrowserMasterAndRowCap(t *testing.T) {
	findChromium(t)
	f := newFake()
	f.master = true
	for i := range 1000 {
		f.record("GET", fmt.Sprintf("/item/%04d", i), time.Duration(i+1)*time.Millisecond, 10, nil)
	}
	f.fixed = f.Snapshot()
	base := serveForBrowser(t, Options{Controller: f})
	b := newBrowser(t)
	b.do(chromedp.Navigate(base + "/"))

	// no worker yet: the form says so and cannot be sent
	b.waitJS(`!document.querySelector('#no-workers').hidden && document.querySelector('#f-submit').disabled`, "the no-workers notice")
	assert.Equal(t, "false", b.eval(`String(document.querySelector('#m-workers-box').hidden)`))
	f.mu.Lock()
	f.workers = []WorkerInfo{{ID: "worker-1", State: "ready", UserCount: 0, CPUUsage: 12.5, MemoryUsage: 64 << 20}}
	f.mu.Unlock()
	b.waitJS(`document.querySelector('#no-workers').hidden && !document.querySelector('#f-submit').disabled`, "the form to accept a start")
	b.setValue("f-users", "3")
	b.click("#f-submit")
	b.waitJS(`document.querySelector('#m-state').textContent === 'RUNNING'`, "state RUNNING")

	b.click(`.tabs [data-tab="workers"]`)
	b.waitJS(`document.querySelectorAll('#workers-table tbody tr').length === 1`, "the workers table")
	assert.Equal(t, "worker-1", b.eval(`document.querySelector('#workers-table td.name').textContent`))
	assert.Equal(t, "1", b.eval(`document.querySelector('#m-workers').textContent`))
	b.click(`.tabs [data-tab="stats"]`)
	b.waitJS(`document.querySelectorAll('#stats-table tbody tr').length === 500`, "500 rows")
	assert.Contains(t, b.eval(`document.querySelector('#stats-cap').textContent`), "first 500 of 1000 names")
	assert.Empty(t, b.problems())
}
