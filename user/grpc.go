package user

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// GRPCMethod is the stats Method of gRPC calls; their Name is the full
// method name, such as "/grpc.health.v1.Health/Check".
const GRPCMethod = "GRPC"

// GRPC gives a user gRPC connections whose calls are recorded in its
// stats. Embed it by value; it is bound to the user's Env before OnStart,
// and its connections are closed when the user ends:
//
//	type Checker struct {
//		user.GRPC
//		health healthpb.HealthClient
//	}
//
//	func (c *Checker) OnStart(ctx context.Context) error {
//		conn, err := c.Conn("") // the host: -H http://127.0.0.1:50051
//		c.health = healthpb.NewHealthClient(conn)
//		return err
//	}
//
// What is recorded (see GRPCDialOptions, which Conn uses):
//
//   - a unary call: one sample, Method "GRPC", Name the full method name,
//     timed from the call to its reply, Size the reply's protobuf size;
//   - a stream: one sample when it ends (open to close), same Method and
//     Name, Size the sum of the messages received. It ends when RecvMsg
//     returns an error (io.EOF is OK), after the reply of a
//     client-streaming call, or when its ctx is done. A stream ended by
//     cancelling its ctx (the usual way to leave an endless server stream)
//     is a success, except on a hard stop of a user whose connection came
//     from Conn: then it is a failure, "Canceled: ...". A stream left open
//     is recorded when its ctx ends;
//   - a status other than OK is a failure whose error text is the code's
//     name and the status message, "Unavailable: connection refused" (the
//     code alone when there is no message). The error the call returns
//     keeps its status (status.Code works) and, being a *RequestError, is
//     not counted again when a task returns it.
//
// A call whose ctx is done before it starts is not recorded.
type GRPC struct {
	Base
	// TLSConfig is used by Conn for https:// and grpcs:// targets (nil:
	// the system roots). Set it in OnStart, before Conn.
	TLSConfig *tls.Config
	// Traceparent makes every call on the connections of Conn carry a W3C
	// traceparent (as Env.Traceparent does for all the user's clients).
	// Set it before the calls it should trace.
	Traceparent bool

	g *grpcState
}

type grpcState struct {
	env   *Env
	ctx   context.Context
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn // by target, made without options
	extra []*grpc.ClientConn          // made with options
	src   *traceSource                // trace ids of the calls; made by the first Conn
}

func (g *GRPC) bindGRPC(env *Env) (*GRPC, error) {
	if g == nil {
		return nil, errors.New("embed user.GRPC by value, not as a pointer")
	}
	g.Base.bindBase(env)
	g.g = &grpcState{env: env}
	return g, nil
}

func (g *GRPC) start(ctx context.Context) { g.g.ctx = ctx }

func (g *GRPC) close() {
	g.g.mu.Lock()
	defer g.g.mu.Unlock()
	for _, cc := range g.g.conns {
		_ = cc.Close()
	}
	for _, cc := range g.g.extra {
		_ = cc.Close()
	}
	g.g.conns, g.g.extra = nil, nil
}

var errGRPCNotRunning = errors.New("user.GRPC used outside a running user")

// Conn returns the user's connection to target, creating it on first use
// (grpc.NewClient: it connects on the first call); a call with opts always
// creates a new connection. target "" is the user's
// host. A target starting with http:// or grpc:// is reached without TLS,
// https:// or grpcs:// with TLS (TLSConfig); any other target is passed to
// grpc.NewClient as it is ("dns:///svc:443", "127.0.0.1:50051"), without
// TLS unless TLSConfig is set. opts come after the recording interceptors
// and the credentials, so they may override the credentials. The
// connection belongs to the user and is closed when the user ends.
func (g *GRPC) Conn(target string, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	if g.g == nil {
		return nil, errGRPCNotRunning
	}
	s := g.g
	if target == "" {
		target = s.env.Host
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cc := s.conns[target]; cc != nil && len(opts) == 0 {
		return cc, nil
	}
	addr, useTLS := target, g.TLSConfig != nil
	for _, p := range []string{"http://", "grpc://"} {
		if a, ok := strings.CutPrefix(target, p); ok {
			addr, useTLS = strings.TrimSuffix(a, "/"), false
		}
	}
	for _, p := range []string{"https://", "grpcs://"} {
		if a, ok := strings.CutPrefix(target, p); ok {
			addr, useTLS = strings.TrimSuffix(a, "/"), true
		}
	}
	creds := insecure.NewCredentials()
	if useTLS {
		cfg := g.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		creds = credentials.NewTLS(cfg)
	}
	if s.src == nil {
		s.src = newTraceSource(userRand(s.env))
	}
	rec := grpcRecorder{env: s.env, user: func() context.Context { return s.ctx }, client: g, src: s.src}
	all := append(rec.options(), grpc.WithTransportCredentials(creds))
	cc, err := grpc.NewClient(addr, append(all, opts...)...)
	if err != nil {
		return nil, err
	}
	if len(opts) > 0 {
		s.extra = append(s.extra, cc) // not shared: its options are the caller's
		return cc, nil
	}
	if s.conns == nil {
		s.conns = make(map[string]*grpc.ClientConn)
	}
	s.conns[target] = cc
	return cc, nil
}

// GRPCDialOptions returns the dial options that record every call made on
// a connection into env's stats: add them to grpc.NewClient for a
// connection of your own (GRPC.Conn does):
//
//	conn, err := grpc.NewClient(addr, append(user.GRPCDialOptions(u.Env()),
//		grpc.WithTransportCredentials(insecure.NewCredentials()))...)
//
// The connection should be the user's own: the calls are recorded as the
// env's user's. See GRPC for what is recorded.
func GRPCDialOptions(env *Env) []grpc.DialOption {
	var src *traceSource
	if env != nil {
		src = newTraceSource(userRand(env))
	}
	return grpcRecorder{env: env, src: src}.options()
}

func (r grpcRecorder) options() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(r.unary),
		grpc.WithChainStreamInterceptor(r.stream),
	}
}

type grpcRecorder struct {
	env    *Env
	user   func() context.Context // the user's ctx, when known (GRPC.Conn)
	client *GRPC                  // the client of GRPC.Conn; nil for GRPCDialOptions
	src    *traceSource           // nil: never traced
}

// trace returns ctx with a traceparent in its outgoing metadata and the
// call's ids, when the user or the client traces calls; tr is nil when it
// does not, or when the caller set a traceparent that does not parse (it
// is kept as it is).
func (r grpcRecorder) trace(ctx context.Context) (_ context.Context, tr *traceIDs) {
	if r.src == nil || r.env == nil || !r.env.Traceparent && (r.client == nil || !r.client.Traceparent) {
		return ctx, nil
	}
	if md, ok := metadata.FromOutgoingContext(ctx); ok {
		if vs := md.Get(TraceparentHeader); len(vs) > 0 {
			t, ok := parseTraceparent([]byte(vs[0]))
			if !ok {
				return ctx, nil
			}
			return ctx, &t
		}
	}
	t := r.src.ids()
	var buf [traceparentLen]byte
	return metadata.AppendToOutgoingContext(ctx, TraceparentHeader, string(t.appendHeader(buf[:0]))), &t
}

// cancelledByCaller tells whether err ends a stream because its caller
// cancelled its ctx (not a hard stop of the user).
func (r grpcRecorder) cancelledByCaller(ctx context.Context, err error) bool {
	if !errors.Is(ctx.Err(), context.Canceled) || status.Code(err) != codes.Canceled && !errors.Is(err, context.Canceled) {
		return false
	}
	if r.user != nil {
		if u := r.user(); u != nil && u.Err() != nil {
			return false
		}
	}
	return true
}

func (r grpcRecorder) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if err := ctx.Err(); err != nil {
		return status.FromContextError(err).Err() // not sent, not recorded
	}
	ctx, tr := r.trace(ctx)
	start := time.Now()
	err := invoker(ctx, method, req, reply, cc, opts...)
	d := time.Since(start)
	if err == nil {
		record(r.env, GRPCMethod, method, d, msgSize(reply), nil, tr)
		return nil
	}
	f := grpcFailure(err)
	record(r.env, GRPCMethod, method, d, 0, f, tr)
	return &RequestError{Method: GRPCMethod, Name: method, Err: f}
}

func (r grpcRecorder) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err() // not opened, not recorded
	}
	sctx, tr := r.trace(ctx)
	start := time.Now()
	cs, err := streamer(sctx, desc, cc, method, opts...)
	if err != nil {
		f := grpcFailure(err)
		record(r.env, GRPCMethod, method, time.Since(start), 0, f, tr)
		return nil, &RequestError{Method: GRPCMethod, Name: method, Err: f}
	}
	s := &recordedStream{ClientStream: cs, ctx: ctx, rec: r, method: method, start: start, serverStreams: desc.ServerStreams, tr: tr}
	s.mu.Lock() // end may run at once, when ctx is done already
	s.stop = context.AfterFunc(ctx, func() { s.end(ctx.Err()) })
	s.mu.Unlock()
	return s, nil
}

// recordedStream records its stream once, when it ends.
type recordedStream struct {
	grpc.ClientStream
	ctx           context.Context
	rec           grpcRecorder
	method        string
	start         time.Time
	serverStreams bool
	stop          func() bool
	tr            *traceIDs // nil: untraced
	mu            sync.Mutex
	size          int64
	ended         bool
}

func (s *recordedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	switch {
	case err == nil:
		s.mu.Lock()
		s.size += msgSize(m)
		s.mu.Unlock()
		if !s.serverStreams {
			s.end(nil) // the one reply of a unary-response stream
		}
		return nil
	case errors.Is(err, io.EOF):
		s.end(nil)
		return err
	}
	if f := s.end(err); f != nil {
		return &RequestError{Method: GRPCMethod, Name: s.method, Err: f}
	}
	return err
}

func (s *recordedStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err != nil && !errors.Is(err, io.EOF) { // io.EOF: the status comes from RecvMsg
		if f := s.end(err); f != nil {
			return &RequestError{Method: GRPCMethod, Name: s.method, Err: f}
		}
	}
	return err
}

// end records the stream the first time it is called and returns the
// failure recorded (nil on success or when recorded before).
func (s *recordedStream) end(err error) error {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return nil
	}
	s.ended = true
	size, stop := s.size, s.stop
	s.mu.Unlock()
	var failure *GRPCError
	if err != nil && !s.rec.cancelledByCaller(s.ctx, err) {
		failure = grpcFailure(err)
	}
	if stop != nil {
		stop() // the stream's ctx may live on (a task's ctx)
	}
	record(s.rec.env, GRPCMethod, s.method, time.Since(s.start), size, errOrNil(failure), s.tr)
	return errOrNil(failure)
}

// errOrNil avoids a non-nil error interface holding a nil *GRPCError.
func errOrNil(f *GRPCError) error {
	if f == nil {
		return nil
	}
	return f
}

// GRPCError is the failure recorded for a gRPC call that ended with a
// status other than OK. Its text is "Code: message" (or the code's name);
// it carries the status (status.Code and status.FromError see it).
type GRPCError struct {
	Status *status.Status
	err    error
}

func (e *GRPCError) Error() string {
	if msg := e.Status.Message(); msg != "" {
		return e.Status.Code().String() + ": " + msg
	}
	return e.Status.Code().String()
}

// GRPCStatus returns the call's status.
func (e *GRPCError) GRPCStatus() *status.Status { return e.Status }

func (e *GRPCError) Unwrap() error { return e.err }

func grpcFailure(err error) *GRPCError {
	st, ok := status.FromError(err)
	if !ok {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			st = status.FromContextError(err)
		} else {
			st = status.New(codes.Unknown, err.Error())
		}
	}
	return &GRPCError{Status: st, err: err}
}

func msgSize(m any) int64 {
	if pm, ok := m.(proto.Message); ok {
		return int64(proto.Size(pm))
	}
	return 0
}
