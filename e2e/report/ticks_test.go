package report

import (
	"os"
	"path/filepath"
	"testing"
	"time"

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
	b.Do(chromedp.Navigate("file://" + file))
	b.WaitJS(`document.body.getAttribute('data-charts') === '3'`, "three charts")
	b.Screenshot("/tmp/report-short.png")
	assert.Empty(t, b.Problems(nil))
}
