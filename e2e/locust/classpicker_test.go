package locust

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/e2e/internal/browsertest"
	"github.com/golocust/golocust/locust"
)

// With --class-picker, the start form edits a class in a dialog (host,
// weight, tasks) and the test that starts runs the class so edited: the
// target sees only the picked task, at the picked host.
func TestBrowserClassPickerEditsAClass(t *testing.T) {
	browsertest.Find(t)
	srv := startTarget(t, 0)
	cfg := locust.DefaultConfig()
	cfg.Web.ClassPicker = true
	cfg.StopTimeout = 5 * time.Second
	base, end := startWebSession(t, cfg)
	defer http.DefaultClient.CloseIdleConnections()
	b := browsertest.New(t)

	b.Do(chromedp.Navigate(base + "/"))
	b.WaitJS(`!document.querySelector('#start-panel').hidden && !!document.querySelector('.class-edit[data-class="Shopper"]')`, "the class picker's Edit button")
	assert.Equal(t, "weight 1, 2/2 tasks", b.Eval(`document.querySelector('.class-summary').textContent`))
	b.Click(`.class-edit[data-class="Shopper"]`)
	b.WaitJS(`!!document.querySelector('#class-dialog') && document.querySelector('#class-dialog').open`, "the class dialog")
	b.SetValue("cd-weight", "2")
	b.SetValue("cd-host", srv.URL)
	b.Click(`#cd-tasks input[value="Items"]`)
	b.Click("#cd-save")
	b.WaitJS(`!document.querySelector('#class-dialog')`, "the dialog closed after saving")
	assert.Equal(t, "weight 2, "+srv.URL+", 1/2 tasks", b.Eval(`document.querySelector('.class-summary').textContent`))

	b.SetValue("f-users", "3")
	b.SetValue("f-rate", "100")
	b.Eval(`document.querySelector('#f-host').value = ''`) // the class's own host
	b.Click("#f-submit")
	b.WaitJS(`document.querySelector('#m-state').textContent === 'RUNNING'`, "state RUNNING")
	b.WaitJS(`Array.from(document.querySelectorAll('#stats-table td.name')).some(td => td.textContent.startsWith('/item?'))`, "an /item row")
	b.Click("#btn-stop")
	b.WaitJS(`document.querySelector('#m-state').textContent === 'STOPPED'`, "state STOPPED")
	assert.Empty(t, b.Problems(nil))

	res := end()
	require.Positive(t, res.total())
	for _, e := range res {
		assert.True(t, strings.HasPrefix(e.Name, "/item?"), "only the picked task ran, got %s", e.Name)
	}
	assert.Zero(t, srv.Count("/items"), "the unpicked task never reached the target")
	assert.Equal(t, srv.Total(), res.total(), "the edited host is the target")
}
