package locust

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/e2e/internal/browsertest"
	"github.com/golocust/golocust/locust"
	"github.com/golocust/golocust/runner"
)

// With --class-picker and Config.Load.Shapes, the start form's "Shape
// class" select picks a shape: the users and ramp-up fields hide, the run
// reaches the shape's user count and cannot be edited; the next test may
// go back to Default, whose user count the form sets again.
func TestBrowserShapeClassPicksTheShape(t *testing.T) {
	browsertest.Find(t)
	srv := startTarget(t, 0)
	cfg := locust.DefaultConfig()
	cfg.Host = srv.URL
	cfg.Web.ClassPicker = true
	cfg.StopTimeout = 5 * time.Second
	cfg.Load.Shapes = map[string]runner.Shape{
		"four": runner.Stages{{Duration: time.Hour, Users: 4, SpawnRate: 1000}},
		"two":  runner.Stages{{Duration: time.Hour, Users: 2, SpawnRate: 1000}},
	}
	base, end := startWebSession(t, cfg)
	defer http.DefaultClient.CloseIdleConnections()
	b := browsertest.New(t)

	b.Do(chromedp.Navigate(base + "/"))
	b.WaitJS(`!document.querySelector('#start-panel').hidden && !document.querySelector('#shape-picker').hidden`, "the Shape class select")
	assert.Equal(t, "Default,four,two", b.Eval(`Array.from(document.querySelectorAll('#f-shape option')).map(o => o.value).join()`))
	assert.Equal(t, "Default", b.Eval(`document.querySelector('#f-shape').value`))
	assert.Equal(t, "visible", b.Eval(`document.querySelector('#user-fields').hidden ? 'hidden' : 'visible'`), "Default runs the form's user count")

	pick := func(name string) {
		b.Eval(`(() => { const s = document.querySelector('#f-shape'); s.value = ` + strconv.Quote(name) + `; s.dispatchEvent(new Event('change')); return s.value; })()`)
	}
	pick("four")
	assert.Equal(t, "hidden", b.Eval(`document.querySelector('#user-fields').hidden ? 'hidden' : 'visible'`), "the shape sets the users")
	assert.Contains(t, b.Eval(`document.querySelector('#shape-note').textContent`), `The load shape "four" drives this run`)
	b.Click("#f-submit")
	b.WaitJS(`document.querySelector('#m-state').textContent === 'RUNNING' && document.querySelector('#m-users').textContent === '4'`, "4 users of shape four")
	b.WaitJS(`document.querySelector('#btn-edit').hidden && !document.querySelector('#btn-stop').hidden`, "Stop without Edit in a shape-driven run")
	b.Click("#btn-stop")
	b.WaitJS(`document.querySelector('#m-state').textContent === 'STOPPED'`, "state STOPPED")

	// The next test, back to Default: the form's user count runs.
	b.Click("#btn-new")
	b.WaitJS(`document.querySelector('#swarm-dialog').open`, "the New dialog")
	assert.Equal(t, "four", b.Eval(`document.querySelector('#f-shape').value`), "the select keeps the last choice")
	pick("Default")
	assert.Equal(t, "visible", b.Eval(`document.querySelector('#user-fields').hidden ? 'hidden' : 'visible'`))
	b.SetValue("f-users", "3")
	b.SetValue("f-rate", "100")
	b.Click("#f-submit")
	b.WaitJS(`document.querySelector('#m-state').textContent === 'RUNNING' && document.querySelector('#m-users').textContent === '3'`, "3 users from the form")
	b.WaitJS(`!document.querySelector('#btn-edit').hidden`, "Edit in a run without a shape")
	b.Click("#btn-stop")
	b.WaitJS(`document.querySelector('#m-state').textContent === 'STOPPED'`, "state STOPPED")
	assert.Empty(t, b.Problems(nil))

	res := end()
	require.Positive(t, res.total())
}
