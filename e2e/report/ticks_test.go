package report

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/e2e/internal/browsertest"
	. "github.com/golocust/golocust/report"
	"github.com/golocust/golocust/stats"
)

// On a run of a few seconds the time axis labels whole seconds with room
// between them; the charts still draw.
func TestBrowserShortRunChartsHaveWholeSecondTicks(t *testing.T) {
	browsertest.Find(t)
	d := testData(t)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d.History = nil
	for i := range 7 { // 3 s, a point every 500 ms
		d.History = append(d.History, stats.HistoryPoint{Time: t0.Add(time.Duration(i) * 500 * time.Millisecond), UserCount: 2, RPS: float64(10 + i)})
	}
	d.Start, d.End = t0, t0.Add(3*time.Second)
	file := filepath.Join(t.TempDir(), "short.html")
	f, err := os.Create(file)
	require.NoError(t, err)
	require.NoError(t, Write(f, d))
	require.NoError(t, f.Close())
	b := browsertest.New(t, chromedp.WindowSize(1280, 1000))
	// Keep each chart the report draws: uPlot paints its tick labels on
	// a canvas, so the ticks are read from the charts' own axes. The
	// report's top-level "var uPlot = ..." assigns through this setter.
	_, err = chromedp.Call(b.Ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__plots = []; (() => { let wrapped;
			Object.defineProperty(window, 'uPlot', { configurable: true, get: () => wrapped, set: (U) => {
				wrapped = function (opts, data, target) { const u = new U(opts, data, target); window.__plots.push(u); return u; };
				Object.assign(wrapped, U);
			} }); })();`,
	})
	require.NoError(t, err)
	b.Do(chromedp.Navigate("file://" + file))
	b.WaitJS(`document.body.getAttribute('data-charts') === '3'`, "three charts")
	b.Screenshot("/tmp/report-short.png")
	// Every chart's time axis: at least two ticks, each on a whole second,
	// with distinct labels, farther apart than a label is wide.
	assert.Equal(t, "3 charts: ok", b.Eval(`(() => {
		const plots = window.__plots, out = [];
		const ctx = document.createElement('canvas').getContext('2d');
		for (const u of plots) {
			const ax = u.axes[0], splits = ax._splits || [], labels = ax._values || [];
			ctx.font = (Array.isArray(ax.font) ? ax.font[0] : ax.font) || '12px sans-serif';
			if (splits.length < 2) out.push('only ' + splits.length + ' ticks');
			if (splits.some((s) => Math.abs(s - Math.round(s)) > 1e-9)) out.push('a tick between seconds: ' + splits.join(' '));
			if (new Set(labels).size !== labels.length) out.push('repeated labels: ' + labels.join(' '));
			const widest = Math.max(...labels.map((l) => ctx.measureText(l).width));
			for (let i = 1; i < splits.length; i++) {
				const gap = u.valToPos(splits[i], 'x') - u.valToPos(splits[i - 1], 'x');
				if (gap <= widest) out.push('ticks ' + gap.toFixed(1) + ' px apart for labels ' + widest.toFixed(1) + ' px wide');
			}
		}
		return plots.length + ' charts: ' + (out.join('; ') || 'ok');
	})()`))
	assert.Empty(t, b.Problems(nil))
}
