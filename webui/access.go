package webui

import (
	"context"
	_ "embed"
	"html/template"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golocust/golocust/webui/audit"
	"github.com/golocust/golocust/webui/auth"
)

// sessionCookie names the login session's cookie.
const sessionCookie = "golocust_session"

// uiHeader is sent by the page's own fetches: a 401 then carries no
// WWW-Authenticate, so the browser shows the login page instead of its
// basic-auth dialog.
const uiHeader = "X-Golocust-UI"

type ctxKey struct{}

// who is the identity of a request: the signed-in account, or an
// anonymous admin when the UI has no accounts (loopback by default).
func who(r *http.Request) auth.Identity {
	if id, ok := r.Context().Value(ctxKey{}).(auth.Identity); ok {
		return id
	}
	return auth.Identity{}
}

// requiredRole is the least role a route needs. State changes need an
// operator; logs and the audit log an admin; reading anything else a
// viewer. New POST routes are operator's until listed otherwise.
func requiredRole(method, path string) auth.Role {
	switch path {
	case "/logs", "/audit":
		return auth.Admin
	}
	if method != http.MethodGet && method != http.MethodHead {
		return auth.Operator
	}
	return auth.Viewer
}

// publicPath: served to anyone (the login flow and static assets).
func publicPath(p string) bool {
	return strings.HasPrefix(p, "/assets/") || p == "/login" || p == "/logout" || p == "/auth/login" || p == "/auth/callback"
}

func clientIP(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

func (s *Server) record(r *http.Request, e audit.Event) {
	if e.Account == "" {
		id := who(r)
		e.Account = id.Name
		if id.Role > 0 {
			e.Role = id.Role.String()
		}
	}
	if e.Remote == "" {
		e.Remote = r.RemoteAddr
	}
	s.audit.Record(e)
}

// authenticate identifies every request but the public ones, and refuses
// what the identity's role may not do.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if publicPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		id := auth.Identity{Role: auth.Admin}
		if s.authOn {
			var ok bool
			if id, ok = s.identify(w, r); !ok {
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, id))
		if need := requiredRole(r.Method, r.URL.Path); !id.Role.Allows(need) {
			s.record(r, audit.Event{Action: audit.Denied, Outcome: audit.Refused, Detail: map[string]any{"method": r.Method, "path": r.URL.Path}})
			writeJSON(w, http.StatusForbidden, map[string]any{"success": false,
				"message": "your role (" + id.Role.String() + ") may not do this: it needs " + need.String() + "; ask an admin"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// identify finds the session or checks basic auth; when neither holds it
// answers (login redirect, 401 or 429) and returns false.
func (s *Server) identify(w http.ResponseWriter, r *http.Request) (auth.Identity, bool) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if id, ok := s.sessions.Lookup(c.Value); ok {
			return id, true
		}
	}
	if name, pass, ok := r.BasicAuth(); ok && s.accounts != nil {
		if id, ok := s.accounts.Remembered(name, pass); ok {
			return id, true
		}
		if !s.allowAttempt(w, r, name) {
			return auth.Identity{}, false
		}
		if id, ok := s.accounts.Check(name, pass); ok {
			return id, true
		}
		s.failed(r, name)
		s.record(r, audit.Event{Action: audit.LoginFailed, Account: truncate(name, 100), Outcome: audit.Refused, Reason: "wrong user name or password (basic auth)"})
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.Header.Get("Accept"), "text/html") {
		http.Redirect(w, r, rootRel(r)+"login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return auth.Identity{}, false
	}
	if s.accounts != nil && r.Header.Get(uiHeader) == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="golocust", charset="UTF-8"`)
	}
	writeJSON(w, http.StatusUnauthorized, map[string]any{"success": false, "message": "authentication required: log in at /login, or send HTTP basic auth"})
	return auth.Identity{}, false
}

// allowAttempt takes a login attempt from the rate limits (per client
// address and per existing account) or answers 429 with Retry-After.
func (s *Server) allowAttempt(w http.ResponseWriter, r *http.Request, name string) bool {
	acct := ""
	if s.accounts != nil && s.accounts.Known(name) {
		acct = name
	}
	ok, wait := s.limiter.Allow(clientIP(r), acct)
	if ok {
		return true
	}
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	s.record(r, audit.Event{Action: audit.LoginFailed, Account: truncate(name, 100), Outcome: audit.Refused, Reason: "too many attempts"})
	msg := "too many login attempts: try again in " + strconv.Itoa(secs) + " s"
	if wantsHTML(r) {
		s.loginPage(w, r, http.StatusTooManyRequests, msg)
	} else {
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"success": false, "message": msg})
	}
	return false
}

// rootRel is the relative path from r's page to the UI's root, so that
// redirects work behind a proxy that serves the UI under a prefix.
func rootRel(r *http.Request) string {
	if n := strings.Count(r.URL.Path, "/") - 1; n > 0 {
		return strings.Repeat("../", n)
	}
	return "./"
}

// failed spends one attempt of the client's and the account's budgets.
func (s *Server) failed(r *http.Request, name string) {
	acct := ""
	if s.accounts != nil && s.accounts.Known(name) {
		acct = name
	}
	s.limiter.Failed(clientIP(r), acct)
}

func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html") || r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" && !strings.Contains(r.Header.Get("Accept"), "json")
}

//go:embed login.html
var loginHTML string

var loginTmpl = template.Must(template.New("login").Parse(loginHTML))

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, code int, msg string) {
	data := map[string]any{"Error": msg, "Next": safeNext(r.FormValue("next")), "Passwords": s.accounts != nil, "Version": s.o.Version}
	if s.o.Authenticator != nil {
		data["Provider"] = s.o.Authenticator.Name()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = loginTmpl.Execute(w, data)
}

// safeNext keeps a post-login destination on this site: a path, never
// "//host" or a scheme.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") || len(next) > 1000 {
		return "/"
	}
	return next
}

// loginForm answers GET /login.
func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	if !s.authOn {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	msg := ""
	if r.URL.Query().Get("expired") != "" {
		msg = "Your session ended; log in again."
	}
	s.loginPage(w, r, http.StatusOK, msg)
}

// login answers POST /login (form fields username and password).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"success": false, "message": "could not read the form: " + err.Error()})
		return
	}
	if s.accounts == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"success": false, "message": "password login is off: start with --web-users or --web-auth"})
		return
	}
	name, pass := r.PostForm.Get("username"), r.PostForm.Get("password")
	if !s.allowAttempt(w, r, name) {
		return
	}
	id, ok := s.accounts.Check(name, pass)
	if !ok {
		s.failed(r, name)
		s.record(r, audit.Event{Action: audit.LoginFailed, Account: truncate(name, 100), Outcome: audit.Refused, Reason: "wrong user name or password"})
		if wantsHTML(r) {
			s.loginPage(w, r, http.StatusUnauthorized, "Wrong user name or password.")
		} else {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"success": false, "message": "wrong user name or password"})
		}
		return
	}
	s.startSession(w, r, id, "password")
	if wantsHTML(r) {
		http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "account": id.Name, "role": id.Role.String()})
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, id auth.Identity, method string) bool {
	token, err := s.sessions.Create(id)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"success": false, "message": "starting a session: " + err.Error()})
		return false
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.o.TLSCert != "" || r.TLS != nil, MaxAge: int(s.sessions.Absolute() / time.Second)})
	s.record(r, audit.Event{Action: audit.Login, Account: id.Name, Role: id.Role.String(), Detail: map[string]any{"method": method}})
	return true
}

// logout answers POST /logout: the session ends on the server too.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if id, ok := s.sessions.Lookup(c.Value); ok {
			s.record(r, audit.Event{Action: audit.Logout, Account: id.Name, Role: id.Role.String()})
		}
		s.sessions.Delete(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: s.o.TLSCert != "" || r.TLS != nil, MaxAge: -1})
	if wantsHTML(r) || r.Header.Get("Content-Type") == "" {
		http.Redirect(w, r, "login", http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "message": "logged out"})
}

// authLogin answers GET /auth/login: the Authenticator's flow begins.
func (s *Server) authLogin(w http.ResponseWriter, r *http.Request) {
	if s.o.Authenticator == nil {
		http.NotFound(w, r)
		return
	}
	s.o.Authenticator.Login(w, r)
}

// authCallback answers GET /auth/callback: the flow ends with a session.
func (s *Server) authCallback(w http.ResponseWriter, r *http.Request) {
	a := s.o.Authenticator
	if a == nil {
		http.NotFound(w, r)
		return
	}
	if !s.allowAttempt(w, r, "") {
		return
	}
	id, err := a.Callback(w, r)
	if err == nil && !id.Role.Allows(auth.Viewer) {
		err = errNoRole
	}
	if err != nil {
		s.failed(r, "")
		s.record(r, audit.Event{Action: audit.LoginFailed, Account: truncate(id.Name, 100), Outcome: audit.Refused, Reason: err.Error(), Detail: map[string]any{"method": a.Name()}})
		s.loginPage(w, r, http.StatusUnauthorized, "Sign-in with "+a.Name()+" failed: "+err.Error())
		return
	}
	if !s.startSession(w, r, id, a.Name()) {
		return
	}
	// A page, not a redirect: after a cross-site redirect chain from the
	// provider, browsers withhold SameSite=Strict cookies; a navigation
	// from our own page sends them. The empty icon spares the browser a
	// request for /favicon.ico (a 404 in its console).
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(`<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=../"><link rel="icon" href="data:,"><title>golocust</title><a href="../">Continue</a>`))
}

type authError string

func (e authError) Error() string { return string(e) }

const errNoRole = authError("the account has no golocust role")

// audits answers GET /audit (admins): the recent audit events.
func (s *Server) audits(w http.ResponseWriter, r *http.Request) {
	ev := s.audit.Recent()
	if ev == nil {
		ev = []audit.Event{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": ev, "file": s.o.AuditFile})
}

// startDetail is what the audit log keeps of a start or edit.
func startDetail(req StartRequest) map[string]any {
	d := map[string]any{"user_count": req.Users, "spawn_rate": req.SpawnRate}
	if req.Host != "" {
		d["host"] = req.Host
	}
	if req.RunTime > 0 {
		d["run_time"] = req.RunTime.String()
	}
	if len(req.Classes) > 0 {
		d["user_classes"] = req.Classes
	}
	if req.Shape != "" {
		d["shape_class"] = req.Shape
	}
	return d
}

// formDetail keeps a refused form's fields, each cut short.
func formDetail(form url.Values) map[string]any {
	d := map[string]any{}
	for k, v := range form {
		if len(d) == 20 {
			break
		}
		if len(v) > 0 {
			d[truncate(k, 40)] = truncate(v[0], 200)
		}
	}
	return d
}
