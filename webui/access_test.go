package webui

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/webui/audit"
	"github.com/golocust/golocust/webui/auth"
)

// testAccounts has one account per role; each password is the name
// reversed.
func testAccounts(t testing.TB) *auth.Accounts {
	t.Helper()
	var lines []string
	for _, a := range [][2]string{{"vera", "viewer"}, {"otto", "operator"}, {"ada", "admin"}} {
		h, err := auth.HashPassword(reverse(a[0]))
		require.NoError(t, err)
		lines = append(lines, a[0]+":"+a[1]+":"+h)
	}
	acc, err := auth.ParseAccounts(strings.NewReader(strings.Join(lines, "\n")), "users")
	require.NoError(t, err)
	return acc
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// client sends requests with a cookie jar, from a chosen loopback address.
type client struct {
	t    *testing.T
	base string
	c    *http.Client
	tr   *http.Transport
}

func newClient(t *testing.T, base, from string) *client {
	t.Helper()
	d := &net.Dialer{}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	jar := &jar{}
	return &client{t: t, base: base, tr: tr, c: &http.Client{Transport: tr, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// jar keeps cookies per name (the test talks to one host).
type jar struct {
	mu sync.Mutex
	c  map[string]*http.Cookie
}

func (j *jar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.c == nil {
		j.c = map[string]*http.Cookie{}
	}
	for _, c := range cs {
		if c.MaxAge < 0 {
			delete(j.c, c.Name)
			continue
		}
		j.c[c.Name] = c
	}
}

func (j *jar) Cookies(*url.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []*http.Cookie
	for _, c := range j.c {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}

func (c *client) do(method, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	c.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, c.base+path, body)
	require.NoError(c.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.c.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, sb.String()
}

func (c *client) login(name, pass string) *http.Response {
	c.t.Helper()
	resp, _ := c.do("POST", "/login", url.Values{"username": {name}, "password": {pass}}, nil)
	return resp
}

var startForm = url.Values{"user_count": {"3"}, "spawn_rate": {"1"}, "host": {"http://127.0.0.1:9"}}

func TestLoginSessionCookieAndRoles(t *testing.T) {
	f := newFake()
	log := audit.New(nil)
	base, _ := startServer(t, Options{Controller: f, Accounts: testAccounts(t), Audit: log})

	anon := newClient(t, base, "")
	resp, _ := anon.do("GET", "/stats/requests", nil, nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Basic", "scripts are told to use basic auth")
	resp, _ = anon.do("GET", "/stats/requests", nil, map[string]string{uiHeader: "1"})
	assert.Empty(t, resp.Header.Get("WWW-Authenticate"), "the page's fetches get no browser dialog")
	resp, _ = anon.do("GET", "/?tab=charts", nil, map[string]string{"Accept": "text/html"})
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "a browser is sent to the login page")
	assert.Equal(t, "/login?next=%2F%3Ftab%3Dcharts", resp.Header.Get("Location"))
	resp, body := anon.do("GET", "/login", nil, map[string]string{"Accept": "text/html"})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `name="username"`)
	assert.Contains(t, body, `name="password"`)
	resp, _ = anon.do("GET", "/assets/css/login.css", nil, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// each role, logged in through the form
	type want struct{ swarm, stop, reset, logs, audit int }
	for name, w := range map[string]want{
		"vera": {403, 403, 403, 403, 403},
		"otto": {200, 200, 200, 403, 403},
		"ada":  {200, 200, 200, 200, 200},
	} {
		c := newClient(t, base, "")
		resp := c.login(name, reverse(name))
		require.Equal(t, http.StatusOK, resp.StatusCode, name)
		var sc *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == sessionCookie {
				sc = ck
			}
		}
		require.NotNil(t, sc, "a session cookie")
		assert.True(t, sc.HttpOnly)
		assert.Equal(t, http.SameSiteStrictMode, sc.SameSite)
		assert.False(t, sc.Secure, "plain HTTP: no Secure flag, or the browser would drop it")
		assert.Equal(t, "/", sc.Path)

		resp, body := c.do("GET", "/stats/requests", nil, nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode, name)
		assert.Contains(t, body, `"state"`)
		resp, body = c.do("GET", "/ui/config", nil, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		cfg := decode(t, []byte(body))
		assert.Equal(t, name, cfg["account"])
		assert.Equal(t, w.swarm == 200, cfg["can_control"], name)
		assert.Equal(t, w.logs == 200, cfg["can_admin"], name)
		f.setState(StateReady)
		resp, body = c.do("POST", "/swarm", startForm, nil)
		assert.Equal(t, w.swarm, resp.StatusCode, "%s POST /swarm: %s", name, body)
		if w.swarm == 403 {
			assert.Contains(t, body, "your role (viewer) may not do this")
		}
		resp, _ = c.do("POST", "/stop", url.Values{}, nil)
		assert.Equal(t, w.stop, resp.StatusCode, name)
		resp, _ = c.do("POST", "/stats/reset", url.Values{}, nil)
		assert.Equal(t, w.reset, resp.StatusCode, name)
		resp, _ = c.do("GET", "/logs", nil, nil)
		assert.Equal(t, w.logs, resp.StatusCode, name)
		resp, _ = c.do("GET", "/audit", nil, nil)
		assert.Equal(t, w.audit, resp.StatusCode, name)

		// logout ends the session on the server: the old cookie is dead
		resp, _ = c.do("POST", "/logout", url.Values{}, nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		stale := newClient(t, base, "")
		stale.c.Jar.SetCookies(nil, []*http.Cookie{sc})
		resp, _ = stale.do("GET", "/stats/requests", nil, nil)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%s: the session ended at logout", name)
	}
	_, n := f.lastStart()
	assert.Equal(t, 2, n, "operator and admin started; the viewer did not")
	assert.Equal(t, 2, f.stops)

	// basic auth maps to the same accounts and roles
	f.setState(StateReady)
	for _, a := range []struct {
		name string
		code int
	}{{"vera", 403}, {"otto", 200}} {
		resp, _ := anon.do("POST", "/swarm", startForm, map[string]string{"Authorization": basic(a.name, reverse(a.name))})
		assert.Equal(t, a.code, resp.StatusCode, a.name)
	}
	resp, _ = anon.do("GET", "/stats/requests", nil, map[string]string{"Authorization": basic("otto", "wrong")})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	// otto's run is on: the same form edits it
	resp, _ = anon.do("POST", "/swarm", url.Values{"user_count": {"7"}, "spawn_rate": {"2"}}, map[string]string{"Authorization": basic("otto", "otto")})
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	// the audit log saw it all
	actions := map[string]int{}
	for _, e := range log.Recent() {
		actions[e.Action+"/"+e.Outcome]++
		if e.Action == audit.Edit {
			assert.Equal(t, map[string]any{"user_count": 7, "spawn_rate": 2.0}, e.Detail)
			assert.Equal(t, "otto", e.Account)
		}
		if e.Action == audit.Start && e.Outcome == audit.OK {
			assert.Equal(t, 3, e.Detail["user_count"])
			assert.Equal(t, "http://127.0.0.1:9", e.Detail["host"])
			assert.Contains(t, []string{"otto", "ada"}, e.Account)
			assert.Contains(t, e.Remote, "127.0.0.1:")
		}
	}
	assert.Equal(t, 3, actions["login/ok"])
	assert.Equal(t, 3, actions["logout/ok"])
	assert.Equal(t, 3, actions["start/ok"]) // otto, ada, otto by basic auth
	assert.Equal(t, 1, actions["edit/ok"])
	assert.Equal(t, 2, actions["stop/ok"])
	assert.Equal(t, 2, actions["reset/ok"])
	assert.Equal(t, 1, actions["login_failed/refused"])
	assert.GreaterOrEqual(t, actions["denied/refused"], 5, "the viewer's refused requests")
}

func basic(user, pass string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

func TestLoginFormRedirectsOnlyToThisSite(t *testing.T) {
	base, _ := startServer(t, Options{Controller: newFake(), Accounts: testAccounts(t)})
	for next, want := range map[string]string{
		"/?tab=charts":         "/?tab=charts",
		"//evil.example/":      "/",
		"/\\evil.example":      "/",
		"https://evil.example": "/",
		"":                     "/",
	} {
		c := newClient(t, base, "")
		resp, _ := c.do("POST", "/login", url.Values{"username": {"vera"}, "password": {"arev"}, "next": {next}}, map[string]string{"Accept": "text/html"})
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, next)
		assert.Equal(t, want, resp.Header.Get("Location"), next)
	}
	c := newClient(t, base, "")
	resp, body := c.do("POST", "/login", url.Values{"username": {"vera"}, "password": {"nope"}}, map[string]string{"Accept": "text/html"})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, body, "Wrong user name or password.")
}

func TestSessionIdleAndAbsoluteTimeouts(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(2_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	base, _ := startServer(t, Options{Controller: newFake(), Accounts: testAccounts(t), Now: clock,
		SessionIdle: 10 * time.Minute, SessionMax: 30 * time.Minute})

	c := newClient(t, base, "")
	require.Equal(t, http.StatusOK, c.login("vera", "arev").StatusCode)
	advance(9 * time.Minute)
	resp, _ := c.do("GET", "/stats/requests", nil, nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "used within the idle limit")
	advance(10 * time.Minute)
	resp, _ = c.do("GET", "/stats/requests", nil, nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "idle for 10 minutes")

	require.Equal(t, http.StatusOK, c.login("vera", "arev").StatusCode)
	for range 3 {
		advance(9 * time.Minute)
		resp, _ = c.do("GET", "/stats/requests", nil, nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}
	advance(4 * time.Minute) // 31 minutes after login
	resp, _ = c.do("GET", "/stats/requests", nil, nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "past the absolute limit however active")
}

// TestLoginIsRateLimited reproduces the finding (thousands of wrong
// passwords a second were accepted): past the budget every attempt gets
// 429 with Retry-After, the right password too, per client and per
// account across clients.
func TestLoginIsRateLimited(t *testing.T) {
	base, _ := startServer(t, Options{Controller: newFake(), Accounts: testAccounts(t),
		LoginLimit: auth.Limit{Every: time.Hour, Burst: 3}, AccountLimit: auth.Limit{Every: time.Hour, Burst: 5}})
	c := newClient(t, base, "127.0.0.1")
	for i := range 3 {
		assert.Equal(t, http.StatusUnauthorized, c.login("ada", "guess"+strconv.Itoa(i)).StatusCode)
	}
	resp := c.login("ada", "ada")
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	require.NoError(t, err)
	assert.InDelta(t, 3600, ra, 5)
	resp = c.login("ada", reverse("ada"))
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "the right password waits too")
	resp, _ = c.do("GET", "/stats/requests", nil, map[string]string{"Authorization": basic("otto", "x")})
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "basic auth shares the budget")

	// another client: its own budget, but the account's is nearly spent
	c2 := newClient(t, base, "127.0.0.2")
	assert.Equal(t, http.StatusUnauthorized, c2.login("ada", "guess").StatusCode)
	assert.Equal(t, http.StatusUnauthorized, c2.login("ada", "guess").StatusCode)
	assert.Equal(t, http.StatusTooManyRequests, c2.login("ada", reverse("ada")).StatusCode, "ada's budget is spent across clients")
	assert.Equal(t, http.StatusOK, c2.login("otto", reverse("otto")).StatusCode, "other accounts are fine")
}

func TestSessionCookieIsSecureUnderTLS(t *testing.T) {
	s, err := New(Options{Controller: newFake(), Accounts: testAccounts(t)})
	require.NoError(t, err)
	ts := httptest.NewTLSServer(s)
	t.Cleanup(ts.Close)
	form := url.Values{"username": {"vera"}, "password": {"arev"}}
	req, err := http.NewRequestWithContext(context.Background(), "POST", ts.URL+"/login", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := ts.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, resp.Cookies())
	assert.True(t, resp.Cookies()[0].Secure)
	assert.True(t, resp.Cookies()[0].HttpOnly)
}

func TestLoginWithoutAccountsGoesToTheUI(t *testing.T) {
	base, _ := startServer(t, Options{Controller: newFake()})
	c := newClient(t, base, "")
	resp, _ := c.do("GET", "/login", nil, nil)
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, body := c.do("GET", "/ui/config", nil, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	cfg := decode(t, []byte(body))
	assert.Equal(t, false, cfg["auth"])
	assert.Equal(t, true, cfg["can_control"], "no accounts: the loopback UI is everyone's")
}

func (f *fakeCtl) setState(s string) {
	f.mu.Lock()
	f.state = s
	f.mu.Unlock()
}

// A refused start is logged with its form, a secret custom parameter's
// value masked under either spelling of its name; a started one logs no
// custom parameter at all.
func TestAuditLogMasksSecretParameters(t *testing.T) {
	f := newFake()
	log := audit.New(nil)
	params := func() []CustomParam {
		return []CustomParam{{Name: "api-key", Kind: "string", Secret: true, HasValue: true}, {Name: "env", Kind: "string", Value: "dev"}}
	}
	base, _ := startServer(t, Options{Controller: f, Audit: log, Params: params})
	for _, name := range []string{"api-key", "api_key"} {
		resp, body := do(t, http.MethodPost, base+"/swarm", url.Values{"user_count": {"-1"}, "spawn_rate": {"1"}, name: {"hunter2"}, "env": {"qa"}}, nil)
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, string(body))
	}
	resp, body := do(t, http.MethodPost, base+"/swarm", url.Values{"user_count": {"2"}, "spawn_rate": {"1"}, "api-key": {"hunter2"}, "env": {"qa"}}, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	refused := 0
	for _, e := range log.Recent() {
		assert.NotContains(t, fmt.Sprint(e.Detail), "hunter2", "%s/%s", e.Action, e.Outcome)
		if e.Action == audit.Start && e.Outcome == audit.Refused {
			refused++
			assert.Equal(t, "qa", e.Detail["env"], "other fields are kept")
			assert.Contains(t, []any{e.Detail["api-key"], e.Detail["api_key"]}, "(secret)")
		}
	}
	assert.Equal(t, 2, refused)
	_, n := f.lastStart()
	assert.Equal(t, 1, n)
}
