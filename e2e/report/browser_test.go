package report

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/e2e/internal/browsertest"
	. "github.com/golocust/golocust/report"
)

// TestBrowserOpensReportOffline opens the written file in headless
// Chromium with name resolution disabled, and checks that nothing but the
// file is loaded, nothing is logged as an error, no dialog opens, the
// tables show the names as text and the three charts are drawn.
func TestBrowserOpensReportOffline(t *testing.T) {
	file := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(file)
	require.NoError(t, err)
	d := testData(t)
	require.NoError(t, Write(f, d))
	require.NoError(t, f.Close())

	// No network: every host name fails to resolve.
	br := browsertest.New(t, chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"), chromedp.WindowSize(1280, 1000))
	ctx := br.Ctx
	var mu sync.Mutex
	var requests []string
	requestEvents := chromedp.Events(ctx, network.RequestWillBeSent)
	var wg sync.WaitGroup
	t.Cleanup(func() { br.Close(); wg.Wait() })
	wg.Add(1)
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
	run, eval, waitJS := br.Do, br.Eval, br.WaitJS

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

	assert.Empty(t, br.Problems(nil), "console errors, CSP violations or dialogs")
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, requests, "the page load was observed")
	for _, u := range requests {
		assert.True(t, strings.HasPrefix(u, "file://") || strings.HasPrefix(u, "data:") || strings.HasPrefix(u, "about:"),
			"the report loaded %s", u)
	}
}
