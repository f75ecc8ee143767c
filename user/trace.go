package user

import (
	"encoding/hex"
	"math/rand/v2"
	"sync/atomic"

	"github.com/golocust/golocust/stats"
)

// This file makes the W3C trace context of a traced call: a traceparent
// header "00-<trace id>-<span id>-01" (version 00, sampled), whose ids the
// stats keep for the slowest requests of each name (stats.Exemplar), so
// that a slow percentile leads to the request's trace in the target's
// tracing tool.

// TraceparentHeader is the W3C trace context header a traced call carries.
const TraceparentHeader = "traceparent"

// traceparentLen is the length of a version 00 traceparent value.
const traceparentLen = 2 + 1 + 32 + 1 + 16 + 1 + 2

// traceIDs are the ids of one traced call.
type traceIDs struct {
	trace stats.TraceID
	span  stats.SpanID
}

// newTraceIDs draws fresh ids from r (never the invalid all-zero ones).
func newTraceIDs(r *rand.Rand) traceIDs { return drawTraceIDs(r.Uint64) }

// drawTraceIDs fills a trace and a span id from next, drawing again while
// one is all zeros (invalid in W3C trace context).
func drawTraceIDs(next func() uint64) (t traceIDs) {
	for t.trace.IsZero() {
		putUint64(t.trace[:8], next())
		putUint64(t.trace[8:], next())
	}
	for t.span.IsZero() {
		putUint64(t.span[:], next())
	}
	return t
}

func putUint64(b []byte, v uint64) {
	_ = b[7]
	for i := range 8 {
		b[i] = byte(v >> (56 - 8*i))
	}
}

// appendHeader appends the traceparent value of t to dst.
func (t *traceIDs) appendHeader(dst []byte) []byte {
	dst = append(dst, "00-"...)
	dst = hex.AppendEncode(dst, t.trace[:])
	dst = append(dst, '-')
	dst = hex.AppendEncode(dst, t.span[:])
	return append(dst, "-01"...)
}

// parseTraceparent reads the ids of a traceparent value the user set
// (any version, as the W3C spec asks of a parser: the first four fields);
// ok is false when it is not one.
func parseTraceparent(v []byte) (t traceIDs, ok bool) {
	if len(v) < traceparentLen || v[2] != '-' || v[35] != '-' || v[52] != '-' ||
		(len(v) > traceparentLen && v[traceparentLen] != '-') || string(v[:2]) == "ff" {
		return t, false
	}
	var ver [1]byte
	if _, err := hex.Decode(ver[:], v[:2]); err != nil {
		return t, false
	}
	if _, err := hex.Decode(t.trace[:], v[3:35]); err != nil {
		return traceIDs{}, false
	}
	if _, err := hex.Decode(t.span[:], v[36:52]); err != nil {
		return traceIDs{}, false
	}
	if t.trace.IsZero() || t.span.IsZero() {
		return traceIDs{}, false
	}
	return t, true
}

// traceSource gives trace ids to calls that may come from several
// goroutines (a gRPC connection is safe for concurrent use, and a task may
// start goroutines): a splitmix64 sequence seeded once from the user's
// Env.Rand, advanced atomically, so it takes no lock and allocates
// nothing.
type traceSource struct {
	state atomic.Uint64
}

func newTraceSource(r *rand.Rand) *traceSource {
	s := &traceSource{}
	if r == nil {
		r = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	s.state.Store(r.Uint64())
	return s
}

func (s *traceSource) next() uint64 {
	z := s.state.Add(0x9e3779b97f4a7c15)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (s *traceSource) ids() traceIDs { return drawTraceIDs(s.next) }

// userRand returns env's random source, making one when the runner gave
// none (a user's HTTP clients run on the user's goroutine only).
func userRand(env *Env) *rand.Rand {
	if env.Rand == nil {
		env.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	return env.Rand
}
