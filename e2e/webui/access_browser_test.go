package webui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/e2e/internal/browsertest"
	. "github.com/golocust/golocust/webui"
	"github.com/golocust/golocust/webui/audit"
)

// loginProblems: the console lines a login flow causes on purpose (the
// wrong password's 401 page, fetches refused after the session ended).
func loginProblems(b *browsertest.Browser) []string {
	return b.Problems(func(m string) bool {
		return strings.Contains(m, "401 (Unauthorized)") || strings.Contains(m, "not logged in")
	})
}

func browserLogin(b *browsertest.Browser, name, pass string) {
	b.WaitJS(`!!document.querySelector('#login-form')`, "the login form")
	b.SetValue("l-user", name)
	b.SetValue("l-pass", pass)
	b.Click("#l-submit")
}

// TestBrowserLoginLogoutAndAdminViews: a browser is sent to the login
// page, a wrong password is refused, the admin gets the UI with the logs
// and the audit log, and logging out ends the session.
func TestBrowserLoginLogoutAndAdminViews(t *testing.T) {
	browsertest.Find(t)
	f := newFake("/a")
	t.Cleanup(f.close)
	log := audit.New(nil)
	base := serveForBrowser(t, Options{Controller: f, Accounts: testAccounts(t), Audit: log, Version: "test"})
	b := newBrowser(t)

	b.Do(chromedp.Navigate(base + "/?tab=stats"))
	b.WaitJS(`location.pathname === '/login' && !!document.querySelector('#login-form')`, "the login page")
	browserLogin(b, "ada", "wrong")
	b.WaitJS(`!!document.querySelector('#login-error') && document.querySelector('#login-error').textContent.includes('Wrong user name or password')`, "the refusal")
	b.Screenshot("/tmp/webui-login.png")
	browserLogin(b, "ada", "ada")
	b.WaitJS(`location.pathname === '/' && location.search === '?tab=stats' && !document.querySelector('#start-panel').hidden`, "the UI after login")
	assert.Equal(t, "ada (admin)", b.Eval(`document.querySelector('#account-name').textContent`))
	assert.Equal(t, "false", b.Eval(`String(document.querySelector('#tab-btn-audit').hidden)`))
	assert.Equal(t, "", b.Eval(`document.cookie`), "the session cookie is HttpOnly: scripts cannot read it")

	// start, then read the audit log as admin
	b.SetValue("f-users", "2")
	b.SetValue("f-host", "http://127.0.0.1:9")
	b.Click("#f-submit")
	b.WaitJS(`document.querySelector('#m-state').textContent === 'RUNNING'`, "state RUNNING")
	b.Click(`.tabs [data-tab="audit"]`)
	b.WaitJS(`Array.from(document.querySelectorAll('#audit-table td')).some(td => td.textContent === 'start')`, "the start in the audit log")
	assert.Contains(t, b.Eval(`document.querySelector('#audit-table tbody').textContent`), `"user_count":2`)
	assert.Contains(t, b.Eval(`document.querySelector('#audit-table tbody').textContent`), "login_failed")
	b.Screenshot("/tmp/webui-audit.png")

	b.Click("#btn-logout")
	b.WaitJS(`location.pathname === '/login' && !!document.querySelector('#login-form')`, "the login page after logout")
	b.Do(chromedp.Navigate(base + "/"))
	b.WaitJS(`location.pathname === '/login'`, "no way back in without logging in")
	var actions []string
	for _, e := range log.Recent() {
		actions = append(actions, e.Action)
	}
	assert.Equal(t, []string{"login_failed", "login", "start", "logout"}, actions)
	assert.Empty(t, loginProblems(b))
}

// TestBrowserViewerCannotStartARun: a viewer sees the run but no form and
// no buttons, and the server refuses its start anyway.
func TestBrowserViewerCannotStartARun(t *testing.T) {
	browsertest.Find(t)
	f := newFake("/a")
	t.Cleanup(f.close)
	base := serveForBrowser(t, Options{Controller: f, Accounts: testAccounts(t)})
	b := newBrowser(t)
	b.Do(chromedp.Navigate(base + "/"))
	browserLogin(b, "vera", "arev")
	b.WaitJS(`location.pathname === '/' && document.querySelector('#m-state').textContent === 'READY'`, "the UI")
	b.WaitJS(`!document.querySelector('#run-panel').hidden`, "the stats for the viewer")
	for _, sel := range []string{"#start-panel", "#btn-new", "#btn-edit", "#btn-stop", "#btn-reset", "#tab-btn-logs", "#tab-btn-audit"} {
		assert.Equal(t, "true", b.Eval(`String(document.querySelector('`+sel+`').hidden)`), sel)
	}
	assert.Equal(t, "vera (viewer)", b.Eval(`document.querySelector('#account-name').textContent`))

	// the page's own fetch of POST /swarm, as a crafted request would do
	ctx, cancel := context.WithTimeout(b.Ctx, 20*time.Second)
	defer cancel()
	code, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch('swarm', {method: 'POST',
		headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'user_count=5&spawn_rate=1'}).then(r => String(r.status))`,
		chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	assert.Equal(t, "403", code)
	_, n := f.lastStart()
	assert.Zero(t, n, "nothing started")

	// an operator starts; the viewer watches it run, still without controls
	f.setState(StateReady)
	assert.NoError(t, f.Start(StartRequest{Users: 3, SpawnRate: 1}))
	b.WaitJS(`document.querySelector('#m-state').textContent === 'RUNNING'`, "the run")
	assert.Equal(t, "true", b.Eval(`String(document.querySelector('#btn-stop').hidden)`))
	b.Screenshot("/tmp/webui-viewer.png")
	assert.Empty(t, b.Problems(func(m string) bool { return strings.Contains(m, "403 (Forbidden)") }))
}

// TestBrowserSessionTimesOut: when the session ends, the page goes to the
// login form and says why.
func TestBrowserSessionTimesOut(t *testing.T) {
	browsertest.Find(t)
	base := serveForBrowser(t, Options{Controller: newFake(), Accounts: testAccounts(t), SessionMax: 10 * time.Second})
	b := newBrowser(t)
	b.Do(chromedp.Navigate(base + "/"))
	browserLogin(b, "otto", "otto")
	b.WaitJS(`location.pathname === '/' && document.querySelector('#m-state').textContent === 'READY'`, "the UI")
	start := time.Now()
	b.WaitJS(`location.pathname === '/login' && document.querySelector('#login-error') &&
		document.querySelector('#login-error').textContent.includes('session ended')`, "the login page once the session ended")
	assert.Less(t, time.Since(start), 20*time.Second)
	browserLogin(b, "otto", "otto")
	b.WaitJS(`location.pathname === '/' && document.querySelector('#m-state').textContent === 'READY'`, "back in after logging in again")
	assert.Empty(t, loginProblems(b))
}
