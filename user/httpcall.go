package user

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// This file is what the two HTTP clients (HTTP on fasthttp, NetHTTP on
// net/http) share: the calls they offer, the front half of a call (its
// options, stats name, deadline and headers) and its back half (verdict,
// recording and error texts). http.go and nethttp.go keep only what their
// transport needs: connections, hard stop, cookies, the exchange itself.

// calls gives both clients their request methods, written once. It holds
// the client's transport as a concrete pointer, not an interface, so that
// the options of a call stay on the caller's stack.
type calls struct {
	fast *client    // HTTP's
	net  *netClient // NetHTTP's
}

// Get sends a GET request. path is relative to the user's host (an
// absolute http(s) URL may name another host).
func (v *calls) Get(ctx context.Context, path string, opts ...Option) *Response {
	return v.Do(ctx, fasthttp.MethodGet, path, opts...)
}

// Post sends a POST request.
func (v *calls) Post(ctx context.Context, path string, opts ...Option) *Response {
	return v.Do(ctx, "POST", path, opts...)
}

// Put sends a PUT request.
func (v *calls) Put(ctx context.Context, path string, opts ...Option) *Response {
	return v.Do(ctx, "PUT", path, opts...)
}

// Patch sends a PATCH request.
func (v *calls) Patch(ctx context.Context, path string, opts ...Option) *Response {
	return v.Do(ctx, "PATCH", path, opts...)
}

// Delete sends a DELETE request.
func (v *calls) Delete(ctx context.Context, path string, opts ...Option) *Response {
	return v.Do(ctx, "DELETE", path, opts...)
}

// Head sends a HEAD request.
func (v *calls) Head(ctx context.Context, path string, opts ...Option) *Response {
	return v.Do(ctx, "HEAD", path, opts...)
}

// Do sends a request with any method and records it.
func (v *calls) Do(ctx context.Context, method, path string, opts ...Option) *Response {
	switch {
	case v.fast != nil:
		return v.fast.do(ctx, method, path, opts)
	case v.net != nil:
		return v.net.do(ctx, method, path, opts)
	}
	return &Response{Method: method, Name: path, err: errNotRunning}
}

// reset clears the user's reused Response for a call of method.
func (r *Response) reset(method string) *Response {
	r.StatusCode, r.Body, r.Method, r.Name, r.Duration, r.err = 0, nil, method, "", 0, nil
	return r
}

// httpCall is one HTTP call from its front half (begin, setHeaders) to its
// back half (finish), the same for both clients.
type httpCall struct {
	callOptions
	method   string
	start    time.Time // the httpCall's one clock read before the exchange
	deadline time.Time
	fromCtx  bool     // deadline is the ctx's, earlier than the timeout
	traced   bool     // the call carries a traceparent: tr are its ids
	tr       traceIDs // the call's trace context, when traced
}

// callTrace is what a traced call needs from its client: the user's
// random source (nil: the call is not traced) and the client's buffer for
// the header's value.
type callTrace struct {
	rnd *rand.Rand
	buf *[traceparentLen]byte
}

// tracing returns the callTrace of a client whose own option is on, for
// env's user (off: zero, and the call costs nothing more).
func tracing(env *Env, on bool, buf *[traceparentLen]byte) callTrace {
	if !on && !env.Traceparent {
		return callTrace{}
	}
	return callTrace{rnd: userRand(env), buf: buf}
}

// begin is the front half of a call of method on name (its default stats
// name): it reads opts and sets the call's start and deadline. false means
// the call is not sent and not recorded; r says why.
func (k *httpCall) begin(ctx context.Context, r *Response, method, name string, opts []Option) bool {
	k.method = method
	var err error
	k.callOptions, err = parseOptions(method, name, opts)
	r.Name = k.name
	if err == nil {
		k.start = time.Now()
		k.deadline, k.fromCtx, err = callDeadlineAt(ctx, k.timeout, k.start)
	}
	r.err = err
	return err == nil
}

// end returns the time now, for the end of the call. It reads one clock
// (time.Since reads the monotonic clock only; time.Now reads two), and the
// time it returns has the start's monotonic reading plus the elapsed
// time, so Sub and Before on it stay monotonic.
func (k *httpCall) end() time.Time { return k.start.Add(time.Since(k.start)) }

// headerSetter is a request's header of either transport.
type headerSetter interface {
	Set(key, value string)
	SetBytesV(key string, value []byte)
}

// userAgent is sent with every request.
const userAgent = "golocust"

// setHeaders sets the headers of a call, in this order: those the client
// adds to every request (User-Agent; auth, the host URL's user info, when
// not empty), the body's Content-Type, then the Header options, which win,
// and last, when the call is traced, a traceparent unless a Header option
// set one. A header that every request of both clients carries is added
// here.
func (k *httpCall) setHeaders(h headerSetter, auth string, opts []Option, tc callTrace) {
	h.Set("User-Agent", userAgent)
	if auth != "" {
		h.Set("Authorization", auth)
	}
	if k.ctype != "" {
		h.Set("Content-Type", k.ctype)
	}
	for i := range opts {
		if o := &opts[i]; o.kind == optHeader {
			h.Set(o.a, o.b)
		}
	}
	if tc.rnd != nil {
		k.setTraceparent(h, opts, tc)
	}
}

// hasHeaders reports whether opts set a request header.
func hasHeaders(opts []Option) bool {
	for i := range opts {
		if opts[i].kind == optHeader {
			return true
		}
	}
	return false
}

// setTraceparent gives the call its trace context: the caller's own
// traceparent (a Header option; its ids are recorded when it parses), or
// fresh ids from the user's random source, sent as a traceparent.
func (k *httpCall) setTraceparent(h headerSetter, opts []Option, tc callTrace) {
	for i := len(opts) - 1; i >= 0; i-- { // the last one was sent
		if o := &opts[i]; o.kind == optHeader && strings.EqualFold(o.a, TraceparentHeader) {
			k.tr, k.traced = parseTraceparent([]byte(o.b))
			return
		}
	}
	k.tr, k.traced = newTraceIDs(tc.rnd), true
	h.SetBytesV(TraceparentHeader, k.tr.appendHeader(tc.buf[:0]))
}

// finish is the back half of a call: err is the exchange's (nil when a
// response arrived, its status and body already in r), sent whether the
// request was written completely, end the clock read after the exchange.
// It decides the verdict, records the call in env's stats (unless it never
// left because a ctx ended: ctx is the task's, userCtx the user's) and
// returns r.
func (k *httpCall) finish(env *Env, r *Response, ctx, userCtx context.Context, sent bool, err error, end time.Time) *Response {
	r.Duration = end.Sub(k.start)
	env.setEnd(end)
	var cause error
	var size int64
	switch {
	case err != nil && !sent && (userCtx.Err() != nil || ctx.Err() != nil):
		r.err = errors.Join(ctx.Err(), userCtx.Err(), err) // never left: not recorded
		return r
	case err != nil:
		cause = classify(ctx, userCtx, err, k.timeout, k.deadline, end)
	case k.check != nil:
		cause = k.check(r)
	case r.StatusCode >= 400:
		cause = statusError(r.StatusCode)
	}
	if err == nil {
		size = int64(len(r.Body))
	}
	var tr *traceIDs
	if k.traced {
		tr = &k.tr
	}
	record(env, k.method, k.name, r.Duration, size, cause, tr)
	if cause != nil {
		r.err = &RequestError{Method: k.method, Name: k.name, Err: cause}
	}
	return r
}

// classify turns a transport error into the failure recorded, with a
// stable text for the failures table. ctx is the call's, userCtx the
// user's (its end is a hard stop).
func classify(ctx, userCtx context.Context, err error, timeout time.Duration, deadline, now time.Time) error {
	var ne net.Error
	switch {
	case userCtx.Err() != nil:
		return &ConnError{Text: ErrCutOff.Error(), Err: errors.Join(ErrCutOff, err)}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &ConnError{Text: "connection refused", Err: err}
	case errors.Is(err, syscall.ECONNRESET):
		return &ConnError{Text: "connection reset by peer", Err: err}
	case errors.Is(err, syscall.EPIPE):
		return &ConnError{Text: "broken pipe", Err: err}
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return &ConnError{Text: "host unreachable", Err: err}
	case errors.Is(err, context.Canceled) && ctx.Err() != nil && !errors.Is(context.Cause(ctx), context.DeadlineExceeded):
		return &ConnError{Text: "canceled", Err: err} // the task cancelled its own httpCall
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, fasthttp.ErrTimeout),
		errors.As(err, &ne) && ne.Timeout(), !now.Before(deadline):
		return &ConnError{Text: "timeout after " + timeout.String(), Err: err}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &ConnError{Text: "server closed the connection", Err: err}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return &ConnError{Text: "DNS lookup failed: " + dnsErr.Err, Err: err}
	}
	text := err
	var ue *url.Error
	if errors.As(err, &ue) {
		text = ue.Err
	}
	return &ConnError{Text: text.Error(), Err: err}
}

// isAbsolute tells a path that names its own host.
func isAbsolute(path string) bool {
	return strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://")
}

// hostOf parses the host of env for a client of type name, which must
// have been embedded by value (nilClient false).
func hostOf(nilClient bool, name string, env *Env) (u *url.URL, prefix, auth string, err error) {
	if nilClient {
		return nil, "", "", errors.New("embed user." + name + " by value, not as a pointer")
	}
	if env.Host == "" {
		return nil, "", "", errors.New("no host: set -H/--host or the class's Host")
	}
	return parseHostURL(env.Host)
}

// parseHostURL checks a user's host URL (http or https, with a host name)
// and returns it, its path prefix (prepended to relative paths) and the
// Authorization header of its user info ("" without).
func parseHostURL(raw string) (u *url.URL, prefix, auth string, err error) {
	u, err = url.Parse(raw)
	switch {
	case err != nil:
		return nil, "", "", fmt.Errorf("host %q: %w", raw, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, "", "", fmt.Errorf("host %q: scheme must be http or https", raw)
	case u.Host == "":
		return nil, "", "", fmt.Errorf("host %q: no host name", raw)
	}
	if u.User != nil {
		p, _ := u.User.Password()
		auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+p))
	}
	return u, strings.TrimSuffix(u.EscapedPath(), "/"), auth, nil
}

// callOptions are the per-call options both HTTP clients share; headers
// are applied by setHeaders from the options themselves.
type callOptions struct {
	name    string
	body    []byte
	ctype   string
	timeout time.Duration
	check   func(*Response) error
}
