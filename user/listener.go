package user

import (
	"fmt"
	"time"

	"go.uber.org/zap"
)

// RequestEvent is one recorded request as a RequestListener sees it: the
// fields of Locust's events.request (request_type, name, response_time,
// response_length, exception) and the user that made it.
type RequestEvent struct {
	Method string // "GET", "POST", "GRPC", TaskMethod, or a custom type
	Name   string // the stats name
	// Duration is the response time recorded in the stats.
	Duration time.Duration
	// Corrected is the coordinated-omission corrected response time when
	// the iteration had an intended start (pacing, arrival rate); 0 when
	// it had none.
	Corrected time.Duration
	Size      int64 // response size in bytes
	Err       error // nil on success; the failure recorded otherwise
	// Env is the user's Env: its ID, Class, Seq and Host.
	Env *Env
	// User is the user's own value, the *U of its user.Class (type-assert
	// it to reach the user's fields); nil for a call recorded with an Env
	// that no Class.Run is running.
	User any
}

// RequestListener is called for every request a user of this process
// records (Locust's events.request): HTTP calls, gRPC calls, Record and
// Measure, and the failure entries of tasks. It runs on the user's
// goroutine right after the sample went into the stats, so a slow
// listener slows that user down; many users call it at once, so it must be
// safe for concurrent use. It runs on the process that made the request: a
// worker in distributed mode, never the master. A panic in it is recovered
// and recorded as an exception. The event must not be kept beyond the
// call (Err and User stay valid; copy what you need).
type RequestListener func(RequestEvent)

// fireRequest calls env's listener with one recorded sample. It is kept
// apart from Record so that Record stays small and inlined when no
// listener is set: then the hot path pays one nil check and allocates
// nothing.
func fireRequest(env *Env, method, name string, d, corrected time.Duration, size int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			log := env.Logger
			if log == nil {
				log = zap.NewNop()
			}
			_ = recordPanic(env, log, "request listener", r)
		}
	}()
	env.OnRequest(RequestEvent{
		Method: method, Name: name, Duration: d, Corrected: corrected,
		Size: size, Err: err, Env: env, User: env.self,
	})
}

// String gives the event as a one-line summary, for logs.
func (e RequestEvent) String() string {
	status := "ok"
	if e.Err != nil {
		status = e.Err.Error()
	}
	return fmt.Sprintf("%s %s %v %dB %s", e.Method, e.Name, e.Duration, e.Size, status)
}
