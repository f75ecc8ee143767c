package webui

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/e2e/internal/browsertest"
	. "github.com/golocust/golocust/webui"
	"github.com/golocust/golocust/webui/audit"
	"github.com/golocust/golocust/webui/auth"
)

// provider is a real OIDC provider on 127.0.0.1 (mockoidc) that records
// the PKCE parameters it was sent.
type provider struct {
	*mockoidc.MockOIDC
	mu        sync.Mutex
	challenge []string // code_challenge_method of each authorize request
	verifiers []string // code_verifier of each token request
}

func startProvider(t *testing.T) *provider {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	require.NoError(t, err)
	p := &provider{MockOIDC: m}
	require.NoError(t, m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			p.mu.Lock()
			switch r.URL.Path {
			case mockoidc.AuthorizationEndpoint:
				p.challenge = append(p.challenge, r.Form.Get("code_challenge_method"))
			case mockoidc.TokenEndpoint:
				p.verifiers = append(p.verifiers, r.Form.Get("code_verifier"))
			}
			p.mu.Unlock()
			next.ServeHTTP(w, r)
		})
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, m.Start(ln, nil))
	t.Cleanup(func() { require.NoError(t, m.Shutdown()) })
	return p
}

// serveWithOIDC serves the UI with the provider's login; it returns the
// UI's base URL.
func serveWithOIDC(t *testing.T, p *provider, o Options, roles map[string]auth.Role) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + l.Addr().String()
	cfg := p.Config()
	a, err := auth.NewOIDC(context.Background(), auth.OIDCConfig{Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		RedirectURL: base + "/auth/callback", Scopes: []string{"profile", "email", "groups"}, Roles: roles, Label: "Mock SSO"})
	require.NoError(t, err)
	o.Authenticator = a
	s, err := New(o)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	return base
}

var oidcRoles = map[string]auth.Role{"load-testers": auth.Operator, "sre": auth.Admin}

// TestBrowserOIDCLogin signs in through a real OIDC provider in headless
// Chromium: authorization code with PKCE, the groups claim mapped to a
// role.
func TestBrowserOIDCLogin(t *testing.T) {
	browsertest.Find(t)
	p := startProvider(t)
	p.QueueUser(&mockoidc.MockUser{Subject: "u-17", PreferredUsername: "jane", Email: "jane@example.com", Groups: []string{"staff", "load-testers"}})
	log := audit.New(nil)
	f := newFake()
	base := serveWithOIDC(t, p, Options{Controller: f, Audit: log}, oidcRoles)
	b := newBrowser(t)

	b.Do(chromedp.Navigate(base + "/"))
	b.WaitJS(`location.pathname === '/login' && !!document.querySelector('#sso-login')`, "the login page with the SSO button")
	assert.Equal(t, "false", b.Eval(`String(!!document.querySelector('#login-form'))`), "no password form without accounts")
	assert.Equal(t, "Sign in with Mock SSO", b.Eval(`document.querySelector('#sso-login').textContent`))
	b.Click("#sso-login")
	b.WaitJS(`location.origin === '`+base+`' && location.pathname === '/' && document.querySelector('#account-name').textContent === 'jane (operator)'`, "the UI as jane, an operator")
	b.WaitJS(`!document.querySelector('#start-panel').hidden`, "the start form for an operator")
	assert.Equal(t, "true", b.Eval(`String(document.querySelector('#tab-btn-audit').hidden)`), "no audit log for an operator")
	b.SetValue("f-users", "2")
	b.Click("#f-submit")
	b.WaitJS(`document.querySelector('#m-state').textContent === 'RUNNING'`, "the run jane started")
	b.Click("#btn-logout")
	b.WaitJS(`location.pathname === '/login'`, "the login page after logout")
	assert.Empty(t, loginProblems(b))

	p.mu.Lock()
	assert.Equal(t, []string{"S256"}, p.challenge, "the authorize request carried a PKCE challenge")
	// (oauth2 may try the token request twice, with the client secret in
	// a header and then in the body)
	require.NotEmpty(t, p.verifiers)
	for _, v := range p.verifiers {
		assert.GreaterOrEqual(t, len(v), 43, "the token request carried the PKCE verifier")
	}
	p.mu.Unlock()
	var got []string
	for _, e := range log.Recent() {
		got = append(got, e.Action+"/"+e.Account+"/"+e.Role)
	}
	assert.Equal(t, []string{"login/jane/operator", "start/jane/operator", "logout/jane/operator"}, got)
}

// oidcClient follows redirects with a cookie jar, as a browser would.
func oidcClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Jar: jar, Transport: tr}
}

func TestOIDCRefusesAnAccountWithoutARoleAndAForeignState(t *testing.T) {
	p := startProvider(t)
	p.QueueUser(&mockoidc.MockUser{Subject: "u-9", PreferredUsername: "mallory", Groups: []string{"staff"}})
	log := audit.New(nil)
	base := serveWithOIDC(t, p, Options{Controller: newFake(), Audit: log}, oidcRoles)

	c := oidcClient(t)
	resp, err := c.Get(base + "/auth/login")
	require.NoError(t, err)
	body := readAll(t, resp)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, body, "mallory has no golocust role")
	resp, err = c.Get(base + "/stats/requests")
	require.NoError(t, err)
	readAll(t, resp)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no session")

	// a callback this browser did not start (login CSRF) is refused
	resp, err = c.Get(base + "/auth/callback?code=abc&state=" + url.QueryEscape("forged"))
	require.NoError(t, err)
	body = readAll(t, resp)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, body, "state mismatch")

	// an admin group gets admin
	p.QueueUser(&mockoidc.MockUser{Subject: "u-1", PreferredUsername: "sam", Groups: []string{"sre", "load-testers"}})
	resp, err = c.Get(base + "/auth/login")
	require.NoError(t, err)
	readAll(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = c.Get(base + "/audit")
	require.NoError(t, err)
	body = readAll(t, resp)
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `"reason":"mallory has no golocust role`)
	assert.Contains(t, body, `"account":"sam","role":"admin"`)
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}
