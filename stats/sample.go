package stats

// This file fixes the public API that other packages build against.
// Implementations live in the other files of the package.

import (
	"time"
)

// Sample is one timed request or custom-protocol call.
type Sample struct {
	Method string // "GET", "POST", "GRPC", or any custom type
	Name   string // the stats name: a grouped URL path or a custom label
	// Duration is the service time: from when the request was sent to
	// when its response was complete.
	Duration time.Duration
	// Corrected is the response time measured from the intended start of
	// the request (coordinated-omission correction). Zero when the load
	// model defines no intended start; then only Duration is recorded.
	Corrected time.Duration
	Size      int64 // response size in bytes
	Err       error // nil on success; a failure is counted and grouped by Err.Error()
	// TraceID and SpanID are the W3C trace context ids the request carried
	// (its traceparent header); zero when it carried none. The registry
	// keeps the slowest traced requests of each name as its Exemplars.
	TraceID TraceID
	SpanID  SpanID
}
