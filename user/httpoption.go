package user

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// DefaultTimeout bounds every HTTP call (dial, send, response) unless
// Timeout or an earlier ctx deadline says otherwise.
const DefaultTimeout = 60 * time.Second

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

// callDeadlineAt is when a call must end: after its timeout from now (a
// time the caller has read already), or at ctx's deadline when that comes
// first (fromCtx). A ctx that is already done (or past its deadline) means
// the call is not sent, and then not recorded.
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
