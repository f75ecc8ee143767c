package report

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// findChromium returns the browser to drive, or skips the test (fails it
// when LOCUST_REQUIRE_BROWSER=1).
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found in PATH: install it (apt-get install -y chromium) to run the report's browser test"
	if os.Getenv("LOCUST_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + " (LOCUST_REQUIRE_BROWSER=1 makes it required)")
	}
	t.Skip(msg)
	return ""
}

// TestBrowserOpensReportOffline opens the written file in headless
// Chromium with name resolution disabled, and checks that nothing but the
// file is loaded, nothing is logged as an error, no dialog opens, the
// tables show the names as text and the three charts are drawn.
func TestBrowserOpensReportOffline(t *testing.T) {
	exe := findChromium(t)
	file := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(file)
	require.NoError(t, err)
	d := testData(t)
	require.NoError(t, Write(f, d))
	require.NoError(t, f.Close())

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
		// no network: every host name fails to resolve
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx)
		cancel()
		acancel()
		wg.Wait()
	})
	require.NoError(t, chromedp.Do(ctx), "starting Chromium")

	_, err = chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__csp = []; document.addEventListener('securitypolicyviolation',
			e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`,
	})
	require.NoError(t, err)

	var mu sync.Mutex
	var console, dialogs, requests []string
	messages := chromedp.Console(ctx)
	dialogEvents := chromedp.Events(ctx, page.JavascriptDialogOpening)
	requestEvents := chromedp.Events(ctx, network.RequestWillBeSent)
	wg.Add(3)
	go func() {
		defer wg.Done()
		for m, err := range messages {
			if err != nil {
				return
			}
			mu.Lock()
			console = append(console, fmt.Sprintf("%s [%s] %s:%d", m, m.Source, m.URL, m.Line+1))
			mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		for ev, err := range dialogEvents {
			if err != nil {
				return
			}
			mu.Lock()
			dialogs = append(dialogs, ev.Message)
			mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	go func() {
		defer wg.Done()
		for ev, err := range requestEvents {
			if err != nil {
				return
			}
			mu.Lock()
			requests = append(requests, ev.Request.URL)
			mu.Unlock()
		}
	}()

	run := func(a chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		require.NoError(t, chromedp.Do(c, a))
	}
	eval := func(js string) string {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		v, err := chromedp.Run(c, chromedp.Evaluate[string](js))
		require.NoError(t, err, js)
		return v
	}
	waitJS := func(js, what string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			c, cancel := context.WithTimeout(ctx, 5*time.Second)
			ok, err := chromedp.Run(c, chromedp.Evaluate[bool](js))
			cancel()
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: %s (last error %v)", what, js, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	run(chromedp.Navigate("file://" + file))
	waitJS(`document.readyState === 'complete'`, "the page to load")
	waitJS(`document.body.getAttribute('data-charts') === '3'`, "three charts")

	// tables
	n := len(d.Snapshot.Entries) + 1
	assert.Equal(t, fmt.Sprint(n), eval(`String(document.querySelectorAll('#requests tbody tr').length)`))
	assert.Equal(t, fmt.Sprint(n), eval(`String(document.querySelectorAll('#percentiles tbody tr').length)`))
	assert.Equal(t, "4", eval(`String(document.querySelectorAll('#thresholds tbody tr').length)`))
	assert.Equal(t, "2", eval(`String(document.querySelectorAll('#thresholds tbody tr.failed').length)`))
	assert.Equal(t, "Aggregated", eval(`document.querySelector('#requests tr.total td:nth-child(2)').textContent`))
	// the malicious name is text, and nothing it contains became an element
	assert.Equal(t, "true", eval(`String([...document.querySelectorAll('#requests td')].some(td => td.textContent === `+
		"`"+xssName+"`"+`))`))
	assert.Equal(t, "0", eval(`String(document.querySelectorAll('img, b, iframe, object').length)`))
	// the JSON block parses to the same numbers as the table
	assert.Equal(t, eval(`document.querySelector('#requests tr.total td:nth-child(3)').textContent`),
		eval(`String(JSON.parse(document.getElementById('report-data').textContent).stats.at(-1).num_requests)`))

	// charts: three uPlot canvases with pixels drawn on them
	assert.Equal(t, "3", eval(`String(document.querySelectorAll('.chart .uplot canvas').length)`))
	drawn := eval(`String([...document.querySelectorAll('.chart .uplot canvas')].map(c => {
		const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		let n = 0; for (let i = 3; i < px.length; i += 4) { if (px[i] !== 0) n++; }
		return c.width > 100 && c.height > 100 && n > 500;
	}).every(Boolean))`)
	assert.Equal(t, "true", drawn, "every chart canvas has lines on it")
	assert.Equal(t, "3", eval(`String(document.querySelectorAll('.chart .u-legend').length)`))

	// the dark theme: reload with prefers-color-scheme: dark
	light := eval(`getComputedStyle(document.body).backgroundColor`)
	_, err = chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
	})
	require.NoError(t, err)
	run(chromedp.Reload())
	waitJS(`document.readyState === 'complete' && document.body.getAttribute('data-charts') === '3'`, "three charts, dark")
	assert.NotEqual(t, light, eval(`getComputedStyle(document.body).backgroundColor`), "the dark theme applies")

	if dir := os.Getenv("REPORT_SCREENSHOT_DIR"); dir != "" {
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
		cancel()
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "report.png"), png, 0o644))
	}

	csp := eval(`JSON.stringify(window.__csp || [])`)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, "[]", csp, "CSP violations")
	var problems []string
	for _, m := range console {
		if strings.HasPrefix(m, "error") || strings.HasPrefix(m, "exception") || strings.HasPrefix(m, "warning") ||
			strings.Contains(m, "Content Security Policy") {
			problems = append(problems, m)
		}
	}
	assert.Empty(t, problems, "console errors")
	assert.Empty(t, dialogs, "dialogs")
	require.NotEmpty(t, requests, "the page load was observed")
	for _, u := range requests {
		assert.True(t, strings.HasPrefix(u, "file://") || strings.HasPrefix(u, "data:") || strings.HasPrefix(u, "about:"),
			"the report loaded %s", u)
	}
}
