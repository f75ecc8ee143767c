package user

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// NetHTTP is an HTTP client for one user built on net/http, beside the
// fasthttp-based HTTP: the same calls (Get, Post, Put, Patch, Delete, Head,
// Do), the same Option values, the same *Response and the same recording
// (name grouping, failures for a status >= 400 and for connection errors,
// Check verdicts). Pick it for what fasthttp does not do:
//
//   - HTTP/2 over TLS, negotiated by ALPN (https hosts; HTTP/1.1 when the
//     server does not offer h2), and h2c, HTTP/2 over plain TCP with prior
//     knowledge (set Protocols, see H2C);
//   - proxies from the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY; see
//     http.ProxyFromEnvironment, which never proxies 127.0.0.1);
//   - redirects, which are followed (up to 10): the call is recorded once,
//     under its own name, with the final response's status and the time of
//     the whole chain; cookies set on the way are kept;
//   - cookies by the RFC 6265 rules (net/http/cookiejar: Domain, Path,
//     Expires), per user.
//
// Embed it by value in a user type; it is bound to the user's Env (and its
// host) before OnStart, like HTTP:
//
//	type Mobile struct{ user.NetHTTP }
//
// Every user has its own http.Transport, so its own connections (one TCP
// connection per host carries all its HTTP/2 requests) and TLS sessions,
// as N real clients would: sharing one transport would multiplex all users
// over one HTTP/2 connection and hide per-client costs (handshakes,
// connection limits, flow control). The cost: a TLS handshake per user,
// and about 21 KiB of heap and 16 KiB of stack (the transport's read and
// write goroutines) per idle user with a keep-alive connection, against
// about 3 KiB and 4 KiB for HTTP (BenchmarkNetHTTPUserMemory). Set Transport to
// share one. A call costs about three times the CPU of an HTTP call and
// 70-110 allocations, against none (BenchmarkGetCPU, BenchmarkGet).
//
// The response body is read whole into a buffer of the user's: Response.Body
// is valid until the user's next call. Response.Header (and Response.Raw's
// header) holds the response's headers; HTTPResponse returns the
// *http.Response itself (for Proto, TLS, Trailer).
//
// On a hard stop (the user's ctx cancelled) a request not yet on the wire
// is abandoned and not recorded; one already sent may take 300 ms more to
// complete, then it is cut off and recorded as a failure (ErrCutOff), so
// that the target and the stats count the same requests. A request whose
// ctx is done before it is sent is neither sent nor recorded; a request
// that the task's own ctx cancels or times out after it was sent is a
// failure ("canceled", "timeout after ...").
//
// A NetHTTP value is used by its own user's goroutine only.
type NetHTTP struct {
	Base
	calls
	// TLSConfig is used for https hosts; nil verifies certificates with
	// the system roots. Its NextProtos are set by net/http (h2, http/1.1).
	// Set it in OnStart, before the first request.
	TLSConfig *tls.Config
	// Protocols are the protocols the user's transport may use; nil:
	// HTTP/1.1 for http hosts, HTTP/2 or HTTP/1.1 (ALPN) for https hosts.
	// H2C() gives HTTP/2 with prior knowledge for http hosts. Set it in
	// OnStart, before the first request.
	Protocols *http.Protocols
	// Transport, when set before the first request, replaces the user's
	// own transport (TLSConfig and Protocols are then not used), for
	// example one shared by all users or one with a custom dialer.
	Transport http.RoundTripper
	// Traceparent makes every call of this client carry a W3C traceparent
	// (as Env.Traceparent does for all the user's clients).
	Traceparent bool

	c *netClient
}

// H2C returns the protocol set for HTTP/2 over plain TCP with prior
// knowledge (no HTTP/1.1 upgrade), for NetHTTP.Protocols:
//
//	func (u *API) OnStart(ctx context.Context) error {
//		u.Protocols = user.H2C()
//		return nil
//	}
func H2C() *http.Protocols {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return p
}

type netClient struct {
	env    *Env
	ctx    context.Context // the user's ctx: hard stop
	base   *url.URL        // the host, with its path prefix
	prefix string
	auth   string
	hc     *http.Client
	own    *http.Transport // the user's own transport, when built
	jar    *cookiejar.Jar
	resp   Response
	last   *http.Response
	buf    bytes.Buffer
	n      *NetHTTP
	tp     [traceparentLen]byte // the traceparent of the current call
}

func (h *NetHTTP) bindNetHTTP(env *Env) (*NetHTTP, error) {
	u, prefix, auth, err := hostOf(h == nil, "NetHTTP", env)
	if err != nil {
		return nil, err
	}
	h.Base.bindBase(env)
	c := &netClient{env: env, n: h, prefix: prefix, auth: auth}
	u.User = nil
	u.Path, u.RawPath, u.RawQuery, u.Fragment = "", "", "", ""
	c.base = u
	c.jar, _ = cookiejar.New(nil) // never fails without options
	h.c = c
	h.calls.net = c
	return h, nil
}

// start ties the client to the user's run (its ctx is the hard stop).
func (h *NetHTTP) start(ctx context.Context) { h.c.ctx = ctx }

// close closes the idle connections of the user's own transport.
func (h *NetHTTP) close() {
	if h.c != nil && h.c.own != nil {
		h.c.own.CloseIdleConnections()
	}
}

// client builds the user's http.Client on first use.
func (c *netClient) client() *http.Client {
	if c.hc != nil {
		return c.hc
	}
	rt := c.n.Transport
	if rt == nil {
		t := &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       c.n.TLSConfig.Clone(), // net/http adds to NextProtos
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   DefaultTimeout,
			ExpectContinueTimeout: time.Second,
		}
		if c.n.Protocols != nil {
			p := *c.n.Protocols
			t.Protocols = &p
		}
		c.own = t
		rt = t
	}
	c.hc = &http.Client{Transport: rt, Jar: c.jar}
	return c.hc
}

// HTTPResponse returns the *http.Response of the user's last call (its body
// already read into Response.Body), or nil when it got none. Valid until
// the user's next call.
func (h *NetHTTP) HTTPResponse() *http.Response {
	if h.c == nil {
		return nil
	}
	return h.c.last
}

// Cookie returns the value of a cookie the user's jar would send to the
// user's host URL (its path included; "" when there is none).
func (h *NetHTTP) Cookie(name string) string {
	if h.c == nil {
		return ""
	}
	u := *h.c.base
	u.Path = h.c.prefix + "/"
	for _, ck := range h.c.jar.Cookies(&u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// Request phases, for the hard stop.
const (
	phaseIdle    int32 = iota // dialling or waiting for a connection
	phaseConn                 // writing the request
	phaseSent                 // the request was written completely
	phaseAborted              // abandoned by a hard stop before phaseConn
)

// netReq is the state of one call shared with net/http's goroutines.
type netReq struct {
	phase  atomic.Int32
	cancel context.CancelCauseFunc
	mu     sync.Mutex
	grace  *time.Timer
	done   bool
}

// do is the net/http transport of a call (see calls.Do).
func (c *netClient) do(ctx context.Context, method, path string, opts []Option) *Response {
	r := c.resp.reset(method)
	r.Raw.Reset()
	c.last = nil
	if c.ctx == nil {
		r.Name, r.err = path, errNotRunning
		return r
	}
	// Target and name.
	name := path
	var target string
	if isAbsolute(path) {
		u, err := url.Parse(path)
		if err != nil {
			r.Name, r.err = path, fmt.Errorf("URL %q: %w", path, err)
			return r
		}
		name = u.RequestURI()
		target = path
	} else {
		target = c.base.Scheme + "://" + c.base.Host + c.prefix + path
		if c.prefix != "" {
			name = c.prefix + path
		}
	}
	var k httpCall
	if !k.begin(ctx, r, method, name, opts) {
		return r // not sent, not recorded
	}

	// The request's ctx keeps ctx's values but not its cancellation: a hard
	// stop gives a request already sent some grace (see NetHTTP).
	st := &netReq{}
	rctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	st.cancel = cancel
	rctx, cancelDeadline := context.WithDeadline(rctx, k.deadline)
	defer cancelDeadline()
	defer st.finish()
	// The user's ctx of this call, read here: OnStop binds the client to
	// a new one (start) while a callback of this call may still run.
	userCtx := c.ctx
	stop := context.AfterFunc(ctx, func() { st.stopped(ctx, userCtx) })
	defer stop()
	rctx = httptrace.WithClientTrace(rctx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { st.phase.CompareAndSwap(phaseIdle, phaseConn) },
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				st.phase.CompareAndSwap(phaseConn, phaseSent)
			}
		},
	})
	var rd io.Reader
	if k.body != nil {
		rd = bytes.NewReader(k.body)
	}
	req, err := http.NewRequestWithContext(rctx, method, target, rd)
	if err != nil {
		r.err = fmt.Errorf("%s %s: %w", method, k.name, err)
		return r
	}
	auth := ""
	if req.URL.Host == c.base.Host {
		auth = c.auth
	}
	k.setHeaders(netHeader{req}, auth, opts, tracing(c.env, c.n.Traceparent, &c.tp))

	resp, err := c.client().Do(req)
	if err == nil {
		c.buf.Reset()
		_, err = c.buf.ReadFrom(resp.Body)
		_ = resp.Body.Close()
	}
	end := k.end()
	if err == nil {
		c.last = resp
		r.StatusCode = resp.StatusCode
		r.Body = c.buf.Bytes()
		r.Raw.SetStatusCode(resp.StatusCode)
		for k, vs := range resp.Header {
			for _, v := range vs {
				r.Raw.Header.Add(k, v)
			}
		}
	}
	return k.finish(c.env, r, ctx, c.ctx, st.phase.Load() == phaseSent, err, end)
}

// netHeader sets a net/http request's headers; Host is the request's own.
type netHeader struct{ req *http.Request }

func (h netHeader) Set(key, value string) {
	if strings.EqualFold(key, "Host") {
		h.req.Host = value
		return
	}
	h.req.Header.Set(key, value)
}

func (h netHeader) SetBytesV(key string, value []byte) { h.Set(key, string(value)) }

// stopped runs when the call's ctx is done during the call; userCtx is the
// user's ctx the call was made under (its end is a hard stop).
func (st *netReq) stopped(ctx, userCtx context.Context) {
	if userCtx.Err() == nil {
		st.cancel(context.Cause(ctx)) // the task's own cancel or deadline
		return
	}
	// Hard stop: abandon a request not yet on the wire, give one on the
	// wire cutOffGrace to complete.
	if st.phase.CompareAndSwap(phaseIdle, phaseAborted) {
		st.cancel(ErrCutOff)
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.done {
		st.grace = time.AfterFunc(cutOffGrace, func() { st.cancel(ErrCutOff) })
	}
}

func (st *netReq) finish() {
	st.mu.Lock()
	st.done = true
	if st.grace != nil {
		st.grace.Stop()
	}
	st.mu.Unlock()
	st.cancel(nil)
}
