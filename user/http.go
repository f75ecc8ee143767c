package user

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// DefaultTimeout bounds every HTTP call (dial, send, response) unless
// Timeout or an earlier ctx deadline says otherwise.
const DefaultTimeout = 60 * time.Second

// HTTP is an HTTP/1.1 client for one user, built on fasthttp's request and
// response types. Embed it by value in a user type; the user package binds
// it to the user's Env (and its host) before OnStart:
//
//	type Shopper struct{ user.HTTP }
//
// Each user keeps one keep-alive connection per host, its own cookie jar
// (per host; cookies are sent on every path of the host, Domain and Path
// attributes are ignored, an Expires in the past deletes), and its own
// reusable request and response: Response.Body is valid until the user's
// next call. The 4 KiB socket read and write buffers come from shared pools
// for the time of one exchange, so a waiting user holds none (about 3.5 KiB
// of heap per user for client, connection and two cookies; see
// BenchmarkUserMemory). Response headers may be up to 1 MiB. Redirects are
// not followed; no request is retried, except once on a fresh connection
// when a reused keep-alive connection turns out to have been closed by the
// server while idle. Certificates of https hosts are verified (see
// TLSConfig). Every call is recorded in
// the user's stats: method, name (default: the path and query as given,
// like Locust), duration, response body size and error. A status >= 400
// and connection errors are failures; nothing panics.
//
// On a hard stop (the user's ctx cancelled) a request in flight may still
// complete within a short grace (300 ms); past it, it is cut off and
// recorded as a failure (ErrCutOff), because the target has seen it. A
// request is not sent when its ctx is already done (and then not recorded).
//
// An HTTP value is used by its own user's goroutine only.
type HTTP struct {
	Base
	// TLSConfig is used for https hosts; nil verifies certificates with
	// the system roots. Set it in OnStart, before the first request.
	TLSConfig *tls.Config

	c *client
}

type client struct {
	env     *Env
	ctx     context.Context // the user's ctx: hard stop
	main    *hostConn
	others  map[string]*hostConn
	req     fasthttp.Request
	resp    Response
	cookie  fasthttp.Cookie
	uri     []byte
	prefix  string // path of the host URL, prepended to relative paths
	mu      sync.Mutex
	aborted bool
	abortAt time.Time // with aborted: the latest deadline after a hard stop
	gen     uint64    // counts start calls: an abort applies to its own
	h       *HTTP
}

// hostConn is one keep-alive connection to one host, with its cookies.
type hostConn struct {
	addr       string // host:port to dial
	hostHeader string
	tls        bool
	serverName string
	auth       string // Authorization header from the URL's user info
	conn       net.Conn
	raw        *trackConn // the TCP connection under conn
	deadline   time.Time  // conn's deadline as last set (zero: unknown); guarded by client.mu
	jar        []cookieKV
}

type cookieKV struct{ name, value string }

func (h *HTTP) bindHTTP(env *Env) (*HTTP, error) {
	if h == nil {
		return nil, errors.New("embed user.HTTP by value, not as a pointer")
	}
	h.Base.bindBase(env)
	if env.Host == "" {
		return nil, errors.New("no host: set -H/--host or the class's Host")
	}
	hc, prefix, err := parseHost(env.Host)
	if err != nil {
		return nil, err
	}
	h.c = &client{env: env, main: hc, prefix: prefix, h: h}
	h.c.resp.c = h.c
	return h, nil
}

// parseHost parses a base URL such as http://127.0.0.1:8080/api.
func parseHost(raw string) (*hostConn, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("host %q: %w", raw, err)
	}
	hc := &hostConn{hostHeader: u.Host, serverName: u.Hostname()}
	switch u.Scheme {
	case "http":
	case "https":
		hc.tls = true
	default:
		return nil, "", fmt.Errorf("host %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, "", fmt.Errorf("host %q: no host name", raw)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if hc.tls {
			port = "443"
		}
	}
	hc.addr = net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		p, _ := u.User.Password()
		hc.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+p))
	}
	return hc, strings.TrimSuffix(u.EscapedPath(), "/"), nil
}

// start ties the client to the user's run: a cancelled ctx closes its
// connections.
// start may be called again (OnStop's context after the user's): the
// client is then live again, and an abort of the earlier context that is
// still under way no longer applies.
func (h *HTTP) start(ctx context.Context) func() bool {
	c := h.c
	c.mu.Lock()
	c.gen++
	gen := c.gen
	c.aborted, c.abortAt = false, time.Time{}
	c.mu.Unlock()
	c.ctx = ctx
	return context.AfterFunc(ctx, func() { h.abort(gen) })
}

// cutOffGrace is how long a request already on its way may still take
// after a hard stop. Closing its connection at once would make the count
// ambiguous: the target may or may not have read a request whose
// connection was reset under it. Within the grace a prompt target answers
// and both sides count the request; past it the request fails with
// ErrCutOff, after the target has certainly read it.
const cutOffGrace = 300 * time.Millisecond

func (h *HTTP) abort(gen uint64) {
	c := h.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return // the client was bound to a new context since
	}
	c.aborted = true
	c.abortAt = time.Now().Add(cutOffGrace)
	// Bring the deadline forward without closing: the user's goroutine
	// owns hc.conn and drops it when its read or write fails.
	if c.main.conn != nil {
		_ = c.main.conn.SetDeadline(c.abortAt)
		c.main.deadline = c.abortAt
	}
	for _, hc := range c.others {
		if hc.conn != nil {
			_ = hc.conn.SetDeadline(c.abortAt)
			hc.deadline = c.abortAt
		}
	}
}

// setDeadline gives hc's connection a deadline in [d, d+slack], never
// past the cut-off of a hard stop. It holds mu so that it cannot undo the
// deadline abort sets.
//
// Setting a deadline re-arms a runtime timer; doing it for every request
// was a measurable share of a request's CPU. So a deadline already in
// [d, d+slack] is kept, and a new one is set to d+slack: with the default
// 60 s timeout the timer is re-armed once every few seconds instead of on
// every request, and a timeout fires at most slack late.
func (c *client) setDeadline(hc *hostConn, d time.Time, slack time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.aborted && c.abortAt.Before(d) {
		d, slack = c.abortAt, 0
	}
	if !hc.deadline.IsZero() && !hc.deadline.Before(d) && !hc.deadline.After(d.Add(slack)) {
		return nil
	}
	d = d.Add(slack)
	hc.deadline = d
	return hc.conn.SetDeadline(d)
}

// deadlineSlack is how late a request timeout (not a ctx deadline) may
// fire so that the connection's timer need not be re-armed per request: a
// sixteenth of the timeout, at most 2 s.
func deadlineSlack(timeout time.Duration) time.Duration { return min(timeout/16, 2*time.Second) }

func (h *HTTP) close() {
	c := h.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeAllLocked()
}

func (c *client) closeAllLocked() {
	closeConn(c.main)
	for _, hc := range c.others {
		closeConn(hc)
	}
}

func closeConn(hc *hostConn) {
	if hc.conn != nil {
		_ = hc.conn.Close()
		hc.conn = nil
	}
	hc.deadline = time.Time{}
}

// Option is a per-call option of the HTTP client.
type Option struct {
	kind  optKind
	a, b  string
	v     any
	body  []byte
	form  url.Values
	d     time.Duration
	check func(*Response) error
}

type optKind uint8

const (
	optName optKind = iota + 1
	optHeader
	optJSON
	optForm
	optBody
	optTimeout
	optCheck
)

// Name sets the stats name of the call, to group URLs such as /item?id=7
// under /item.
func Name(name string) Option { return Option{kind: optName, a: name} }

// Header sets a request header.
func Header(key, value string) Option { return Option{kind: optHeader, a: key, b: value} }

// JSON sends v encoded as JSON, with Content-Type application/json.
func JSON(v any) Option { return Option{kind: optJSON, v: v} }

// Form sends v URL-encoded, with Content-Type
// application/x-www-form-urlencoded.
func Form(v url.Values) Option { return Option{kind: optForm, form: v} }

// Body sends b as the request body (set a Content-Type with Header).
func Body(b []byte) Option { return Option{kind: optBody, body: b} }

// Timeout bounds the call (connect, send and response); <= 0 or absent:
// DefaultTimeout. An earlier deadline of the call's ctx wins.
func Timeout(d time.Duration) Option { return Option{kind: optTimeout, d: d} }

// Check decides the call's verdict from the response, like Locust's
// catch_response: nil is a success whatever the status, an error is a
// failure recorded with the error's text. Without Check a status >= 400 is
// a failure; Response.StatusError gives that default verdict. Check is
// not called when no response arrived (connection errors).
func Check(fn func(*Response) error) Option { return Option{kind: optCheck, check: fn} }

// Response is the outcome of one call. It belongs to the user and is
// reused: it and its Body are valid until the user's next call.
type Response struct {
	StatusCode int
	Body       []byte
	Method     string
	Name       string // the stats name
	Duration   time.Duration
	// Raw is the fasthttp response, for headers and anything else.
	Raw fasthttp.Response
	err error
	c   *client
}

// Err returns nil on success, else the failure, a *RequestError when it
// was recorded in the stats (returning it from a task does not count it
// again).
func (r *Response) Err() error { return r.err }

// Header returns the value of a response header.
func (r *Response) Header(key string) string { return string(r.Raw.Header.Peek(key)) }

// JSON decodes the body into v.
func (r *Response) JSON(v any) error { return json.Unmarshal(r.Body, v) }

// StatusError returns the default verdict for the status: nil below 400,
// else an error such as "HTTP 503 Service Unavailable".
func (r *Response) StatusError() error {
	if r.StatusCode < 400 {
		return nil
	}
	return statusError(r.StatusCode)
}

// StatusErr is the failure of a response with status >= 400.
type StatusErr int

func (e StatusErr) Error() string {
	return "HTTP " + strconv.Itoa(int(e)) + " " + fasthttp.StatusMessage(int(e))
}

func statusError(code int) error { return StatusErr(code) }

// ConnError is a failed connection or exchange, with a stable text for the
// failures table ("connection refused", "connection reset by peer",
// "timeout after 60s", ...).
type ConnError struct {
	Text string
	Err  error
}

func (e *ConnError) Error() string { return e.Text }
func (e *ConnError) Unwrap() error { return e.Err }

// ErrCutOff is the failure recorded for a request in flight when the user
// was stopped hard (the stop timeout passed).
var ErrCutOff = errors.New("request cut off by stop")

var errNotRunning = errors.New("user.HTTP used outside a running user")

// Get sends a GET request. path is relative to the user's host (an
// absolute http(s) URL may name another host).
func (h *HTTP) Get(ctx context.Context, path string, opts ...Option) *Response {
	return h.Do(ctx, fasthttp.MethodGet, path, opts...)
}

// Post sends a POST request.
func (h *HTTP) Post(ctx context.Context, path string, opts ...Option) *Response {
	return h.Do(ctx, fasthttp.MethodPost, path, opts...)
}

// Put sends a PUT request.
func (h *HTTP) Put(ctx context.Context, path string, opts ...Option) *Response {
	return h.Do(ctx, fasthttp.MethodPut, path, opts...)
}

// Patch sends a PATCH request.
func (h *HTTP) Patch(ctx context.Context, path string, opts ...Option) *Response {
	return h.Do(ctx, fasthttp.MethodPatch, path, opts...)
}

// Delete sends a DELETE request.
func (h *HTTP) Delete(ctx context.Context, path string, opts ...Option) *Response {
	return h.Do(ctx, fasthttp.MethodDelete, path, opts...)
}

// Head sends a HEAD request.
func (h *HTTP) Head(ctx context.Context, path string, opts ...Option) *Response {
	return h.Do(ctx, fasthttp.MethodHead, path, opts...)
}

// Do sends a request with any method and records it.
func (h *HTTP) Do(ctx context.Context, method, path string, opts ...Option) *Response {
	c := h.c
	if c == nil || c.ctx == nil {
		return &Response{Method: method, Name: path, err: errNotRunning}
	}
	r := &c.resp
	r.StatusCode, r.Body, r.Method, r.Name, r.Duration, r.err = 0, nil, method, "", 0, nil

	req := &c.req
	req.Reset()
	req.Header.SetMethod(method)

	// Target and name.
	hc := c.main
	name := path
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		var rel string
		var err error
		hc, rel, err = c.hostFor(path)
		if err != nil {
			r.Name = path
			r.err = err
			return r
		}
		name = rel
		c.uri = append(c.uri[:0], rel...)
	} else {
		c.uri = append(append(c.uri[:0], c.prefix...), path...)
		if c.prefix != "" {
			name = string(c.uri)
		}
	}
	req.Header.SetRequestURIBytes(c.uri)
	req.Header.SetHost(hc.hostHeader)
	req.Header.SetUserAgent("golocust")
	if hc.auth != "" {
		req.Header.Set(fasthttp.HeaderAuthorization, hc.auth)
	}
	for i := range hc.jar {
		req.Header.SetCookie(hc.jar[i].name, hc.jar[i].value)
	}
	co, err := parseOptions(method, name, opts)
	r.Name = co.name
	if err != nil {
		r.err = err
		return r
	}
	name, timeout, check := co.name, co.timeout, co.check
	if co.body != nil {
		if co.ctype != "" {
			req.Header.SetContentType(co.ctype)
		}
		req.SetBodyRaw(co.body)
	}
	for i := range opts { // after the body's type, so that a Header wins
		if o := &opts[i]; o.kind == optHeader {
			req.Header.Set(o.a, o.b)
		}
	}
	raw := &r.Raw
	raw.Reset()
	raw.SkipBody = method == fasthttp.MethodHead
	start := time.Now()
	deadline, fromCtx, err := callDeadlineAt(ctx, timeout, start)
	if err != nil {
		r.err = err // not sent, not recorded
		return r
	}
	slack := deadlineSlack(timeout)
	if fromCtx {
		slack = 0 // the caller's own deadline is kept exactly
	}
	sent, err := c.exchange(hc, req, raw, deadline, slack)
	r.Duration = time.Since(start)
	var cause error
	var size int64
	switch {
	case err != nil && !sent && (c.ctx.Err() != nil || ctx.Err() != nil):
		r.err = errors.Join(ctx.Err(), c.ctx.Err(), err) // never left: not recorded
		return r
	case err != nil:
		cause = c.classify(err, timeout, deadline)
	default:
		c.storeCookies(hc, raw)
		r.StatusCode = raw.StatusCode()
		r.Body = raw.Body()
		size = int64(len(r.Body))
		if check != nil {
			cause = check(r)
		} else if r.StatusCode >= 400 {
			cause = statusError(r.StatusCode)
		}
	}
	Record(c.env, method, name, r.Duration, size, cause)
	if cause != nil {
		r.err = &RequestError{Method: method, Name: name, Err: cause}
	}
	return r
}

// exchange sends req on hc's connection (dialling when needed) and reads
// the response. sent reports whether the request was written completely.
// A reused connection that the server closed while idle (EOF before any
// response byte) is redialled once.
func (c *client) exchange(hc *hostConn, req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time, slack time.Duration) (sent bool, err error) {
	for attempt := 0; ; attempt++ {
		reused := hc.conn != nil
		if !reused {
			if err := c.dial(hc, deadline); err != nil {
				return false, err
			}
		}
		conn := hc.conn
		if err := c.setDeadline(hc, deadline, slack); err != nil {
			c.drop(hc)
			return false, err
		}
		if err := write(conn, req); err != nil {
			c.drop(hc)
			if reused && attempt == 0 && isStale(err) && c.ctx.Err() == nil {
				continue
			}
			return false, err
		}
		keep, err := read(conn, resp, req.Header.IsHead())
		if err != nil {
			if errors.Is(err, io.EOF) && hc.raw.rerr != nil && !errors.Is(hc.raw.rerr, io.EOF) {
				err = hc.raw.rerr // fasthttp reports any error on the first byte as EOF
			}
			c.drop(hc)
			if reused && attempt == 0 && isStale(err) && c.ctx.Err() == nil {
				resp.Reset()
				resp.SkipBody = req.Header.IsHead()
				continue
			}
			return true, err
		}
		if !keep || resp.ConnectionClose() || req.Header.ConnectionClose() {
			c.drop(hc)
		}
		return true, nil
	}
}

// The read and write buffers are taken from pools for the time of one
// exchange only, so that a waiting user holds none (a user does not
// pipeline: nothing is left in them between exchanges).
var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}
)

func write(conn net.Conn, req *fasthttp.Request) error {
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(conn)
	err := req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	writers.Put(bw)
	return err
}

// maxReadBuffer bounds the response header size (the read buffer starts
// at 4 KiB and grows when the headers do not fit).
const maxReadBuffer = 1 << 20

// read reads a response, growing the read buffer when the headers do not
// fit (nothing has been consumed then). keep is false when the server sent
// more than the response: the connection must not be reused.
func read(conn net.Conn, resp *fasthttp.Response, head bool) (keep bool, err error) {
	br := readers.Get().(*bufio.Reader)
	br.Reset(conn)
	r := br
	for {
		err = resp.Read(r)
		if err == nil || !isSmallBuffer(err) || r.Size() >= maxReadBuffer {
			break
		}
		// The new reader reads what the old one buffered first.
		r = bufio.NewReaderSize(r, 4*r.Size())
		resp.Reset()
		resp.SkipBody = head
	}
	keep = r.Buffered() == 0 && br.Buffered() == 0
	br.Reset(nil)
	readers.Put(br)
	return keep, err
}

func isSmallBuffer(err error) bool {
	var small *fasthttp.ErrSmallBuffer
	return errors.As(err, &small)
}

func isStale(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)
}

func (c *client) dial(hc *hostConn, deadline time.Time) error {
	d := net.Dialer{Deadline: deadline}
	raw, err := d.DialContext(c.ctx, "tcp", hc.addr)
	if err != nil {
		return err
	}
	hc.raw = &trackConn{Conn: raw}
	var conn net.Conn = hc.raw
	if hc.tls {
		cfg := c.h.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg = cfg.Clone()
			cfg.ServerName = hc.serverName
		}
		tc := tls.Client(conn, cfg)
		_ = tc.SetDeadline(deadline)
		if err := tc.HandshakeContext(c.ctx); err != nil {
			_ = conn.Close()
			return err
		}
		conn = tc
	}
	c.mu.Lock()
	if c.aborted {
		c.mu.Unlock()
		_ = conn.Close()
		return net.ErrClosed
	}
	hc.conn = conn
	hc.deadline = time.Time{} // the handshake's, if any: set again before use
	c.mu.Unlock()
	return nil
}

// trackConn keeps the last read error, which fasthttp hides behind io.EOF
// when it happens on a response's first byte.
type trackConn struct {
	net.Conn
	rerr      error
	deadlines int // SetDeadline calls, for the test that keeps them rare
}

func (t *trackConn) SetDeadline(d time.Time) error {
	t.deadlines++
	return t.Conn.SetDeadline(d)
}

func (t *trackConn) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	if err != nil {
		t.rerr = err
	}
	return n, err
}

func (c *client) drop(hc *hostConn) {
	c.mu.Lock()
	closeConn(hc)
	c.mu.Unlock()
}

// classify turns a transport error into the failure recorded.
func (c *client) classify(err error, timeout time.Duration, deadline time.Time) error {
	var ne net.Error
	switch {
	case c.ctx.Err() != nil:
		return &ConnError{Text: ErrCutOff.Error(), Err: errors.Join(ErrCutOff, err)}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &ConnError{Text: "connection refused", Err: err}
	case errors.Is(err, syscall.ECONNRESET):
		return &ConnError{Text: "connection reset by peer", Err: err}
	case errors.Is(err, syscall.EPIPE):
		return &ConnError{Text: "broken pipe", Err: err}
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return &ConnError{Text: "host unreachable", Err: err}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, fasthttp.ErrTimeout),
		errors.As(err, &ne) && ne.Timeout(), !time.Now().Before(deadline):
		return &ConnError{Text: "timeout after " + timeout.String(), Err: err}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &ConnError{Text: "server closed the connection", Err: err}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return &ConnError{Text: "DNS lookup failed: " + dnsErr.Err, Err: err}
	}
	return &ConnError{Text: err.Error(), Err: err}
}

// hostFor returns the connection for an absolute URL and its path+query.
func (c *client) hostFor(rawURL string) (*hostConn, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("URL %q: %w", rawURL, err)
	}
	rel := u.RequestURI()
	key := u.Scheme + "://" + u.Host
	if (u.Scheme == "https") == c.main.tls && u.Host == c.main.hostHeader {
		return c.main, rel, nil
	}
	if hc := c.others[key]; hc != nil {
		return hc, rel, nil
	}
	hc, _, err := parseHost(key)
	if err != nil {
		return nil, "", err
	}
	c.mu.Lock()
	if c.others == nil {
		c.others = make(map[string]*hostConn)
	}
	c.others[key] = hc
	c.mu.Unlock()
	return hc, rel, nil
}

// storeCookies updates hc's jar from the response's Set-Cookie headers.
// Known cookies with unchanged values cost no allocation.
func (c *client) storeCookies(hc *hostConn, resp *fasthttp.Response) {
	for _, value := range resp.Header.Cookies() {
		ck := &c.cookie
		ck.Reset()
		if ck.ParseBytes(value) != nil {
			continue
		}
		name, val := ck.Key(), ck.Value()
		exp := ck.Expire()
		deleted := exp != fasthttp.CookieExpireUnlimited && !exp.IsZero() && exp.Before(time.Now())
		for i := range hc.jar {
			if hc.jar[i].name != string(name) {
				continue
			}
			switch {
			case deleted:
				hc.jar = append(hc.jar[:i], hc.jar[i+1:]...)
			case hc.jar[i].value != string(val):
				hc.jar[i].value = string(val)
			}
			deleted = true // handled
			break
		}
		if !deleted {
			hc.jar = append(hc.jar, cookieKV{string(name), string(val)})
		}
	}
}

// Cookie returns the value of a cookie kept for the user's host ("" when
// there is none).
func (h *HTTP) Cookie(name string) string {
	if h.c == nil {
		return ""
	}
	for _, kv := range h.c.main.jar {
		if kv.name == name {
			return kv.value
		}
	}
	return ""
}

// callOptions are the per-call options both HTTP clients share; headers
// are applied by each client from the options themselves.
type callOptions struct {
	name    string
	body    []byte
	ctype   string
	timeout time.Duration
	check   func(*Response) error
}

// parseOptions reads opts for a call of method on name (its default stats
// name). An error (a JSON body that does not encode) means the call is not
// sent.
func parseOptions(method, name string, opts []Option) (callOptions, error) {
	co := callOptions{name: name, timeout: DefaultTimeout}
	for i := range opts {
		o := &opts[i]
		switch o.kind {
		case optName:
			co.name = o.a
		case optJSON:
			b, err := json.Marshal(o.v)
			if err != nil {
				return co, fmt.Errorf("%s %s: encoding the JSON body: %w", method, co.name, err)
			}
			co.body, co.ctype = b, "application/json"
		case optForm:
			co.body, co.ctype = []byte(o.form.Encode()), "application/x-www-form-urlencoded"
		case optBody:
			co.body, co.ctype = o.body, ""
		case optTimeout:
			co.timeout = o.d
		case optCheck:
			co.check = o.check
		}
	}
	if co.timeout <= 0 {
		co.timeout = DefaultTimeout
	}
	return co, nil
}

// callDeadline is when a call must end: after its timeout, or at ctx's
// deadline when that comes first. A ctx that is already done (or past its
// deadline) means the call is not sent, and then not recorded.
func callDeadline(ctx context.Context, timeout time.Duration) (time.Time, error) {
	d, _, err := callDeadlineAt(ctx, timeout, time.Now())
	return d, err
}

// callDeadlineAt is callDeadline from now, a time the caller has read
// already; fromCtx tells that ctx's deadline came first.
func callDeadlineAt(ctx context.Context, timeout time.Duration, now time.Time) (deadline time.Time, fromCtx bool, err error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, false, err
	}
	deadline = now.Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		if !d.After(now) {
			return time.Time{}, false, context.DeadlineExceeded
		}
		return d, true, nil
	}
	return deadline, false, nil
}
