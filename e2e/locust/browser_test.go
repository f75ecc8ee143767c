package locust

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"

	"github.com/golocust/golocust/e2e/internal/browsertest"
	"github.com/golocust/golocust/locust"
	"github.com/golocust/golocust/runner"
)

// TestBrowserDrivesARealRun starts, watches, edits and stops a real local
// run against a counting target, from the web UI in headless Chromium.
func TestBrowserDrivesARealRun(t *testing.T) {
	browsertest.Find(t)
	srv := startTarget(t, time.Millisecond)
	cfg := locust.DefaultConfig()
	cfg.StopTimeout = 5 * time.Second
	base, end := startWebSession(t, cfg)
	defer http.DefaultClient.CloseIdleConnections()
	b := browsertest.New(t)

	b.Do(chromedp.Navigate(base + "/"))
	b.WaitJS(`!document.querySelector('#start-panel').hidden && document.querySelector('#m-state').textContent === 'READY'`, "the start form")
	b.SetValue("f-users", "4")
	b.SetValue("f-rate", "100")
	b.SetValue("f-host", srv.URL)
	b.Click("#f-submit")
	b.WaitJS(`document.querySelector('#m-state').textContent === 'RUNNING'`, "state RUNNING")
	b.WaitJS(`Array.from(document.querySelectorAll('#stats-table td.name')).some(td => td.textContent === '/items')`, "a /items row")
	b.WaitJS(`document.querySelector('#m-users').textContent === '4'`, "4 users")

	b.Click(`.tabs [data-tab="charts"]`)
	b.WaitJS(`(() => { const c = document.querySelectorAll('#tab-charts canvas');
		return c.length === 3 && Array.from(c).every(x => x.width > 0 && x.height > 0); })()`, "three drawn charts")

	b.Click(`.tabs [data-tab="stats"]`)
	b.Click("#btn-edit")
	b.WaitJS(`document.querySelector('#swarm-dialog').open`, "the edit dialog")
	b.SetValue("f-users", "1")
	b.Click("#f-submit")
	b.WaitJS(`document.querySelector('#m-users').textContent === '1'`, "1 user after the edit")

	b.Click("#btn-stop")
	b.WaitJS(`document.querySelector('#m-state').textContent === 'STOPPED'`, "state STOPPED")
	assert.Empty(t, b.Problems(nil))

	res := end()
	assert.Equal(t, srv.Total(), res.total(), "the run the browser drove counted every request the target saw")
}

// TestBrowserShowsTheLoadShape: when stages drive the run, the start form
// says so and hides the user-count fields.
func TestBrowserShowsTheLoadShape(t *testing.T) {
	browsertest.Find(t)
	cfg := locust.DefaultConfig()
	cfg.Load.Stages = runner.Stages{{Duration: time.Minute, Users: 5}}
	base, end := startWebSession(t, cfg)
	defer end()
	b := browsertest.New(t)
	b.Do(chromedp.Navigate(base + "/"))
	b.WaitJS(`!document.querySelector('#start-panel').hidden && !document.querySelector('#shape-note').hidden`, "the shape note")
	assert.Contains(t, b.Eval(`document.querySelector('#shape-note').textContent`), "stages")
	assert.Equal(t, "true", b.Eval(`String(document.querySelector('#user-fields').hidden)`))
	assert.Empty(t, b.Problems(nil))
}

// TestBrowserAccountsOnARealRun: with --web-users, a viewer logged in
// through the login page has no way to start a run, and an operator starts
// and stops a real one against a counting target.
func TestBrowserAccountsOnARealRun(t *testing.T) {
	browsertest.Find(t)
	srv := startTarget(t, time.Millisecond)
	cfg := locust.DefaultConfig()
	cfg.Host = srv.URL
	cfg.Web.Users = writeUsers(t)
	base, end := startWebSession(t, cfg)
	defer http.DefaultClient.CloseIdleConnections()
	b := browsertest.New(t)
	login := func(name, pass string) {
		b.WaitJS(`!!document.querySelector('#login-form')`, "the login form")
		b.SetValue("l-user", name)
		b.SetValue("l-pass", pass)
		b.Click("#l-submit")
	}

	b.Do(chromedp.Navigate(base + "/"))
	login("vera", "view-pass")
	b.WaitJS(`document.querySelector('#account-name').textContent === 'vera (viewer)' && document.querySelector('#m-state').textContent === 'READY'`, "the viewer's UI")
	assert.Equal(t, "true", b.Eval(`String(document.querySelector('#start-panel').hidden)`), "no start form for a viewer")
	b.Click("#btn-logout")

	login("otto", "op-pass")
	b.WaitJS(`document.querySelector('#account-name').textContent === 'otto (operator)' && !document.querySelector('#start-panel').hidden`, "the operator's start form")
	b.SetValue("f-users", "2")
	b.SetValue("f-rate", "100")
	b.Click("#f-submit")
	b.WaitJS(`Array.from(document.querySelectorAll('#stats-table td.name')).some(td => td.textContent === '/items')`, "a /items row")
	b.Click("#btn-stop")
	b.WaitJS(`document.querySelector('#m-state').textContent === 'STOPPED'`, "state STOPPED")
	assert.Empty(t, b.Problems(func(m string) bool { return strings.Contains(m, "401 (Unauthorized)") }))
	res := end()
	assert.Equal(t, srv.Total(), res.total(), "the operator's run counted every request the target saw")
}
