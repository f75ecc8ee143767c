package user

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

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
// BenchmarkUserMemory); a user keeps only the bytes of its last plain
// request (no per-call header, body, cookie or trace), to write them again
// when it repeats that request. On Linux the client reads and writes its
// TCP sockets with raw system calls inside the runtime's poller, which
// keeps the scheduler out of every call (builds with -race use net.Conn's
// own calls, whose race annotations tests rely on). Response headers may be up to 1 MiB. Redirects are
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
	calls
	// TLSConfig is used for https hosts; nil verifies certificates with
	// the system roots. Set it in OnStart, before the first request.
	TLSConfig *tls.Config
	// Traceparent makes every call of this client carry a W3C traceparent
	// (as Env.Traceparent does for all the user's clients).
	Traceparent bool

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
	abortAt time.Time   // with aborted: the latest deadline after a hard stop
	gen     uint64      // counts start calls: an abort applies to its own
	unbind  func() bool // stops the abort of the current start's ctx
	h       *HTTP
	tp      [traceparentLen]byte // the traceparent of the current call
	wire    wire                 // the last plain request as written
}

// wire is a plain request (no per-call header, body, cookie or trace) as
// fasthttp wrote it. Such a request is the same bytes every time its
// method, URI and host are, so a user that repeats a call writes the
// bytes it kept instead of building and serialising the request anew:
// that was about a sixth of the client's own CPU per request (see
// bench/efficiency.sh). It holds one request line and a few headers.
type wire struct {
	bytes  []byte
	method string
	uri    []byte
	host   *hostConn
}

// matches reports whether w holds the request of method and uri to host.
func (w *wire) matches(method string, uri []byte, host *hostConn) bool {
	return w.host == host && w.method == method && string(w.uri) == string(uri)
}

// Write appends p: w is the sink the request is serialised into.
func (w *wire) Write(p []byte) (int, error) {
	w.bytes = append(w.bytes, p...)
	return len(p), nil
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
	u, prefix, auth, err := hostOf(h == nil, "HTTP", env)
	if err != nil {
		return nil, err
	}
	h.c = &client{env: env, main: newHostConn(u, auth), prefix: prefix, h: h}
	h.c.resp.c = h.c
	h.calls.fast = h.c
	h.Base.bindBase(env)
	return h, nil
}

// parseHost parses a base URL such as http://127.0.0.1:8080/api.
func parseHost(raw string) (*hostConn, error) {
	u, _, auth, err := parseHostURL(raw)
	if err != nil {
		return nil, err
	}
	return newHostConn(u, auth), nil
}

// newHostConn is the (not yet dialled) connection to u's host.
func newHostConn(u *url.URL, auth string) *hostConn {
	hc := &hostConn{hostHeader: u.Host, serverName: u.Hostname(), tls: u.Scheme == "https", auth: auth}
	port := u.Port()
	if port == "" {
		port = "80"
		if hc.tls {
			port = "443"
		}
	}
	hc.addr = net.JoinHostPort(u.Hostname(), port)
	return hc
}

// start ties the client to the user's run: a cancelled ctx closes its
// connections.
// start may be called again (OnStop's context after the user's): the
// client is then live again, and an abort of the earlier context that is
// still under way no longer applies.
func (h *HTTP) start(ctx context.Context) {
	c := h.c
	if c.unbind != nil {
		c.unbind()
	}
	c.mu.Lock()
	c.gen++
	gen := c.gen
	c.aborted, c.abortAt = false, time.Time{}
	c.mu.Unlock()
	c.ctx = ctx
	c.unbind = context.AfterFunc(ctx, func() { h.abort(gen) })
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
	if c.unbind != nil {
		c.unbind()
	}
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

// do is the fasthttp transport of a call (see calls.Do).
func (c *client) do(ctx context.Context, method, path string, opts []Option) *Response {
	r := c.resp.reset(method)
	if c.ctx == nil {
		r.Name, r.err = path, errNotRunning
		return r
	}
	// Target and name.
	hc := c.main
	name := path
	if isAbsolute(path) {
		var rel string
		var err error
		hc, rel, err = c.hostFor(path)
		if err != nil {
			r.Name, r.err = path, err
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
	var k httpCall
	if !k.begin(ctx, r, method, name, opts) {
		return r // not sent, not recorded
	}
	tc := tracing(c.env, c.h.Traceparent, &c.tp)
	plain := k.body == nil && k.ctype == "" && len(hc.jar) == 0 && tc.rnd == nil && !hasHeaders(opts)
	var w *wire
	if plain && c.wire.matches(method, c.uri, hc) {
		w = &c.wire
	} else {
		req := &c.req
		req.Reset()
		req.Header.SetMethod(method)
		req.Header.SetRequestURIBytes(c.uri)
		req.Header.SetHost(hc.hostHeader)
		for i := range hc.jar {
			req.Header.SetCookie(hc.jar[i].name, hc.jar[i].value)
		}
		k.setHeaders(&req.Header, hc.auth, opts, tc)
		if k.body != nil {
			req.SetBodyRaw(k.body)
		}
		if plain && c.wire.keep(req, method, c.uri, hc) {
			w = &c.wire
		}
	}
	raw := &r.Raw
	raw.Reset()
	raw.SkipBody = method == fasthttp.MethodHead
	slack := deadlineSlack(k.timeout)
	if k.fromCtx {
		slack = 0 // the caller's own deadline is kept exactly
	}
	sent, err := c.exchange(hc, &c.req, w, raw, k.deadline, slack)
	end := k.end()
	if err == nil {
		c.storeCookies(hc, raw)
		r.StatusCode = raw.StatusCode()
		r.Body = raw.Body()
	}
	return k.finish(c.env, r, ctx, c.ctx, sent, err, end)
}

// exchange sends req (or, when w is not nil, the bytes w kept of the same
// request) on hc's connection (dialling when needed) and reads the
// response. sent reports whether the request was written completely.
// A reused connection that the server closed while idle (EOF before any
// response byte) is redialled once.
func (c *client) exchange(hc *hostConn, req *fasthttp.Request, w *wire, resp *fasthttp.Response, deadline time.Time, slack time.Duration) (sent bool, err error) {
	head, closing := resp.SkipBody, false
	if w == nil {
		closing = req.Header.ConnectionClose()
	}
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
		if w != nil {
			_, err = conn.Write(w.bytes)
		} else {
			err = write(conn, req)
		}
		if err != nil {
			c.drop(hc)
			if reused && attempt == 0 && isStale(err) && c.ctx.Err() == nil {
				continue
			}
			return false, err
		}
		// Let the other users' goroutines run before this one reads. A
		// read right after the write nearly always finds the socket empty
		// (the target has not answered within microseconds): it fails with
		// EAGAIN and the goroutine parks anyway, a wasted syscall on every
		// request. After the yield the response has often arrived, and the
		// users' requests reach the target in bursts, so it is woken less
		// often. See bench/efficiency.sh.
		runtime.Gosched()
		keep, err := read(conn, resp, head)
		if err != nil {
			if errors.Is(err, io.EOF) && hc.raw.rerr != nil && !errors.Is(hc.raw.rerr, io.EOF) {
				err = hc.raw.rerr // fasthttp reports any error on the first byte as EOF
			}
			c.drop(hc)
			if reused && attempt == 0 && isStale(err) && c.ctx.Err() == nil {
				resp.Reset()
				resp.SkipBody = head
				continue
			}
			return true, err
		}
		if !keep || resp.ConnectionClose() || closing {
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

// keep stores req, a plain request of method and uri to host, as it is
// written, so that the next identical call can write it as is. false: it
// was not kept (fasthttp refused to serialise it; the normal write will
// report why).
func (w *wire) keep(req *fasthttp.Request, method string, uri []byte, host *hostConn) bool {
	w.host = nil
	w.bytes = w.bytes[:0]
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(w)
	err := req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil)
	writers.Put(bw)
	if err != nil {
		return false
	}
	w.method, w.uri, w.host = method, append(w.uri[:0], uri...), host
	return true
}

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
	hc.raw = &trackConn{Conn: raw, io: newRawIO(raw)}
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
// when it happens on a response's first byte, and reads and writes a TCP
// connection with raw system calls where it can (see rawIO).
type trackConn struct {
	net.Conn
	io           *rawIO // nil: not TCP on Linux, use Conn's Read and Write
	rerr         error
	deadlines    int       // SetDeadline calls, for the test that keeps them rare
	lastDeadline time.Time // the last one set, for the test of its precision
}

func (t *trackConn) SetDeadline(d time.Time) error {
	t.deadlines++
	t.lastDeadline = d
	return t.Conn.SetDeadline(d)
}

func (t *trackConn) Read(p []byte) (n int, err error) {
	if t.io != nil {
		n, err = t.io.Read(p)
	} else {
		n, err = t.Conn.Read(p)
	}
	if err != nil {
		t.rerr = err
	}
	return n, err
}

func (t *trackConn) Write(p []byte) (int, error) {
	if t.io != nil {
		return t.io.Write(p)
	}
	return t.Conn.Write(p)
}

func (c *client) drop(hc *hostConn) {
	c.mu.Lock()
	closeConn(hc)
	c.mu.Unlock()
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
	hc, err := parseHost(key)
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
