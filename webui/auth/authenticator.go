package auth

import "net/http"

// Authenticator signs people in through a flow of its own, typically a
// redirect to an identity provider and back (OIDC, see NewOIDC; or your
// company's single sign-on). The web UI shows a "Sign in with Name()"
// button on its login page that leads to GET /auth/login, which calls
// Login; the provider sends the browser back to GET /auth/callback, which
// calls Callback. The identity Callback returns starts a session, exactly
// like a password login; an error is shown on the login page and
// recorded as a failed login.
//
// Both methods are called concurrently and must be safe for that.
type Authenticator interface {
	// Name labels the login button ("Sign in with <Name>").
	Name() string
	// Login answers GET /auth/login, usually with a redirect to the
	// provider.
	Login(w http.ResponseWriter, r *http.Request)
	// Callback checks the provider's answer at GET /auth/callback and
	// returns who signed in. It must not write to w when it returns an
	// identity (the UI answers); it may set or clear cookies.
	Callback(w http.ResponseWriter, r *http.Request) (Identity, error)
}
