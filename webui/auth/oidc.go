package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig configures the built-in OpenID Connect login: the
// authorization code flow with PKCE (S256), the ID token verified against
// the provider's keys, its nonce checked, and a claim mapped to a role.
type OIDCConfig struct {
	// Issuer is the provider's URL; its discovery document is read from
	// Issuer + "/.well-known/openid-configuration".
	Issuer string
	// ClientID and ClientSecret are the UI's registration at the provider
	// (the secret may be empty for a public client: PKCE protects the code).
	ClientID, ClientSecret string
	// RedirectURL is the UI's callback as registered at the provider:
	// the UI's address followed by /auth/callback.
	RedirectURL string
	// Scopes asked for besides "openid"; nil: profile and email.
	Scopes []string
	// RoleClaim names the ID token claim that decides the role: a string
	// or a list of strings (such as "groups"). Default "groups".
	RoleClaim string
	// Roles maps values of RoleClaim to roles; the highest role matched
	// wins. A value that is itself a role name ("viewer", "operator",
	// "admin") maps to that role unless Roles says otherwise.
	Roles map[string]Role
	// DefaultRole is given when no value matches; zero refuses the login.
	DefaultRole Role
	// NameClaim names the account in the UI and the audit log; default
	// "preferred_username", then "email", then the subject.
	NameClaim string
	// Label is the login button's provider name; default "OIDC".
	Label string
	// HTTPClient talks to the provider; nil: http.DefaultClient.
	HTTPClient *http.Client
}

// OIDC is the Authenticator for an OpenID Connect provider.
type OIDC struct {
	c        OIDCConfig
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier

	mu      sync.Mutex
	pending map[string]pendingLogin // by state
}

type pendingLogin struct {
	verifier, nonce string
	expires         time.Time
}

// flowCookie binds a login in progress to the browser that began it.
const flowCookie = "golocust_oidc"

// loginWindow is how long a user has at the provider.
const loginWindow = 10 * time.Minute

// maxPending bounds the logins in progress kept (each is a few bytes, but
// GET /auth/login costs nothing to call).
const maxPending = 10_000

// NewOIDC reads the provider's discovery document and returns the
// authenticator.
func NewOIDC(ctx context.Context, c OIDCConfig) (*OIDC, error) {
	if c.Issuer == "" || c.ClientID == "" || c.RedirectURL == "" {
		return nil, errors.New("oidc: Issuer, ClientID and RedirectURL are required")
	}
	if c.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, c.HTTPClient)
	}
	p, err := oidc.NewProvider(ctx, c.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: reading the discovery document of %s: %w", c.Issuer, err)
	}
	if c.Scopes == nil {
		c.Scopes = []string{"profile", "email"}
	}
	if c.RoleClaim == "" {
		c.RoleClaim = "groups"
	}
	if c.Label == "" {
		c.Label = "OIDC"
	}
	o := &OIDC{c: c, pending: map[string]pendingLogin{},
		oauth: oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: c.RedirectURL,
			Endpoint: p.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, c.Scopes...)},
		verifier: p.Verifier(&oidc.Config{ClientID: c.ClientID}),
	}
	return o, nil
}

// Name implements Authenticator.
func (o *OIDC) Name() string { return o.c.Label }

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Login implements Authenticator: it redirects to the provider with a
// fresh state, nonce and PKCE challenge.
func (o *OIDC) Login(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	now := time.Now()
	o.mu.Lock()
	if len(o.pending) >= maxPending {
		for k, p := range o.pending {
			if now.After(p.expires) {
				delete(o.pending, k)
			}
		}
	}
	if len(o.pending) >= maxPending {
		o.mu.Unlock()
		http.Error(w, "too many logins in progress; try again in a few minutes", http.StatusServiceUnavailable)
		return
	}
	o.pending[state] = pendingLogin{verifier: verifier, nonce: nonce, expires: now.Add(loginWindow)}
	o.mu.Unlock()
	// Lax, not Strict: the provider's redirect back is a cross-site
	// navigation, and this cookie must come with it.
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: state, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil || strings.HasPrefix(o.c.RedirectURL, "https://"), MaxAge: int(loginWindow / time.Second)})
	http.Redirect(w, r, o.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// Callback implements Authenticator: it checks the state against the
// browser's cookie, redeems the code with the PKCE verifier, verifies the
// ID token and its nonce and maps the role claim.
func (o *OIDC) Callback(w http.ResponseWriter, r *http.Request) (Identity, error) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return Identity{}, fmt.Errorf("the provider answered %s: %s", truncate(e, 100), truncate(q.Get("error_description"), 200))
	}
	state := q.Get("state")
	c, err := r.Cookie(flowCookie)
	if err != nil || state == "" || c.Value != state {
		return Identity{}, errors.New("the login did not start in this browser (state mismatch): start again")
	}
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	o.mu.Lock()
	p, ok := o.pending[state]
	delete(o.pending, state)
	o.mu.Unlock()
	if !ok || time.Now().After(p.expires) {
		return Identity{}, errors.New("the login took too long or was already used: start again")
	}
	ctx := r.Context()
	if o.c.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, o.c.HTTPClient)
	}
	tok, err := o.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("redeeming the code: %w", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		return Identity{}, errors.New("the provider sent no ID token")
	}
	idt, err := o.verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("verifying the ID token: %w", err)
	}
	if idt.Nonce != p.nonce {
		return Identity{}, errors.New("the ID token's nonce does not match this login")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("reading the ID token's claims: %w", err)
	}
	id := Identity{Name: o.name(claims, idt.Subject), Role: o.role(claims)}
	if id.Role == 0 {
		return id, fmt.Errorf("%s has no golocust role: its %q claim matches none of the configured roles", id.Name, o.c.RoleClaim)
	}
	return id, nil
}

func (o *OIDC) name(claims map[string]any, sub string) string {
	for _, k := range []string{o.c.NameClaim, "preferred_username", "email"} {
		if s, ok := claims[k].(string); ok && k != "" && s != "" {
			return s
		}
	}
	return sub
}

func (o *OIDC) role(claims map[string]any) Role {
	var values []string
	switch v := claims[o.c.RoleClaim].(type) {
	case string:
		values = []string{v}
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok {
				values = append(values, s)
			}
		}
	}
	best := Role(0)
	for _, v := range values {
		r, ok := o.c.Roles[v]
		if !ok {
			r, _ = ParseRole(v)
		}
		best = max(best, r)
	}
	if best == 0 {
		best = o.c.DefaultRole
	}
	return best
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
