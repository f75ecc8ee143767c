package user_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// grpcTarget is a gRPC server on 127.0.0.1 whose health Check fails every
// tenth call, with a Watch stream and the streaming calls of the interop
// test service.
type grpcTarget struct {
	healthpb.UnimplementedHealthServer
	testpb.UnimplementedTestServiceServer
	addr     string
	calls    atomic.Int64
	failures atomic.Int64
	inFlight atomic.Int64
	watches  atomic.Int64
	release  chan struct{}
}

func newGRPCTarget(t *testing.T) *grpcTarget {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	g := &grpcTarget{addr: ln.Addr().String(), release: make(chan struct{})}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, g)
	testpb.RegisterTestServiceServer(srv, g)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		close(g.release)
		srv.Stop()
		<-done
	})
	return g
}

func (g *grpcTarget) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if req.Service == "slow" {
		g.inFlight.Add(1)
		defer g.inFlight.Add(-1)
		select {
		case <-ctx.Done():
		case <-g.release:
		}
		return nil, status.Error(codes.Canceled, "stopped")
	}
	if g.calls.Add(1)%10 == 0 {
		g.failures.Add(1)
		return nil, status.Error(codes.Unavailable, "every tenth call fails")
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

// Watch sends 3 updates and ends; for service "endless" it sends updates
// until the client leaves; for "broken" it fails after one.
func (g *grpcTarget) Watch(req *healthpb.HealthCheckRequest, s grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	g.watches.Add(1)
	for i := 0; req.Service == "endless" || i < 3; i++ {
		if err := s.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}); err != nil {
			return err
		}
		if req.Service == "broken" {
			return status.Error(codes.DataLoss, "broken stream")
		}
		if req.Service == "endless" {
			time.Sleep(time.Millisecond)
		}
	}
	return nil
}

func (g *grpcTarget) StreamingInputCall(s grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	var n int32
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return s.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: n})
		}
		if err != nil {
			return err
		}
		n += int32(len(m.GetPayload().GetBody()))
	}
}

func (g *grpcTarget) FullDuplexCall(s grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		m, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.Send(&testpb.StreamingOutputCallResponse{Payload: m.Payload}); err != nil {
			return err
		}
	}
}

// prober is a user with a gRPC connection to its host.
type prober struct {
	user.GRPC
	health healthpb.HealthClient
	test   testpb.TestServiceClient
}

func (p *prober) OnStart(context.Context) error {
	conn, err := p.Conn("")
	p.health = healthpb.NewHealthClient(conn)
	p.test = testpb.NewTestServiceClient(conn)
	return err
}

func (p *prober) Check(ctx context.Context) error {
	_, err := p.health.Check(ctx, &healthpb.HealthCheckRequest{})
	return err // recorded already: not counted again
}

const checkMethod = "/grpc.health.v1.Health/Check"

func TestGRPCUnaryCountsAndFailures(t *testing.T) {
	g := newGRPCTarget(t)
	c := user.Class[prober]{Tasks: taskset.Weighted(taskset.Task[prober]{Run: (*prober).Check})}
	r := start(t, c, "grpc://"+g.addr, 4)
	eventually(t, func() bool { return g.calls.Load() >= 300 }, "the target gets calls")
	r.stop()
	r.wait(t, 10*time.Second)

	s := r.reg.Snapshot()
	e := entry(s, user.GRPCMethod, checkMethod)
	require.Len(t, s.Entries, 1, methods(s))
	assert.EqualValues(t, g.calls.Load(), e.NumRequests)
	assert.EqualValues(t, g.failures.Load(), e.NumFailures)
	assert.EqualValues(t, g.calls.Load()/10, e.NumFailures)
	assert.Equal(t, map[string]int64{"GRPC " + checkMethod + ": Unavailable: every tenth call fails": g.failures.Load()}, errorsOf(s))
	assert.EqualValues(t, 2*(g.calls.Load()-g.failures.Load()), e.TotalBytes, "a SERVING reply is 2 bytes")
}

func TestGRPCStreams(t *testing.T) {
	g := newGRPCTarget(t)
	var errs []error
	var codesSeen []codes.Code
	c := user.Class[prober]{Tasks: taskset.Weighted(taskset.Task[prober]{Name: "streams",
		Run: func(p *prober, ctx context.Context) error {
			note := func(err error) {
				errs = append(errs, err)
				codesSeen = append(codesSeen, status.Code(err))
			}
			// Server stream read to its end.
			w, err := p.health.Watch(ctx, &healthpb.HealthCheckRequest{})
			require.NoError(t, err)
			n := 0
			for _, err = w.Recv(); err == nil; _, err = w.Recv() {
				n++
			}
			assert.Equal(t, 3, n)
			assert.ErrorIs(t, err, io.EOF)

			// Endless server stream left by cancelling its ctx: a success.
			wctx, cancel := context.WithCancel(ctx)
			w, err = p.health.Watch(wctx, &healthpb.HealthCheckRequest{Service: "endless"})
			require.NoError(t, err)
			_, err = w.Recv()
			require.NoError(t, err)
			cancel()
			for err == nil {
				_, err = w.Recv()
			}
			assert.Equal(t, codes.Canceled, status.Code(err))

			// Server stream failing.
			w, err = p.health.Watch(ctx, &healthpb.HealthCheckRequest{Service: "broken"})
			require.NoError(t, err)
			for err == nil {
				_, err = w.Recv()
			}
			note(err)

			// Client stream.
			in, err := p.test.StreamingInputCall(ctx)
			require.NoError(t, err)
			for range 3 {
				require.NoError(t, in.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: []byte("abcd")}}))
			}
			reply, err := in.CloseAndRecv()
			require.NoError(t, err)
			assert.EqualValues(t, 12, reply.AggregatedPayloadSize)

			// Bidirectional stream.
			bidi, err := p.test.FullDuplexCall(ctx)
			require.NoError(t, err)
			for range 2 {
				require.NoError(t, bidi.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte("xy")}}))
				_, err := bidi.Recv()
				require.NoError(t, err)
			}
			require.NoError(t, bidi.CloseSend())
			_, err = bidi.Recv()
			assert.ErrorIs(t, err, io.EOF)

			// Unimplemented unary call.
			_, err = p.test.EmptyCall(ctx, &testpb.Empty{})
			note(err)
			return user.ErrStopUser
		}})}
	r := start(t, c, "http://"+g.addr, 1)
	r.wait(t, 10*time.Second)

	require.Len(t, errs, 2)
	var re *user.RequestError
	for _, err := range errs {
		assert.ErrorAs(t, err, &re)
	}
	assert.Equal(t, []codes.Code{codes.DataLoss, codes.Unimplemented}, codesSeen, "the status survives the recording")
	s := r.reg.Snapshot()
	watch := entry(s, user.GRPCMethod, "/grpc.health.v1.Health/Watch")
	assert.EqualValues(t, 3, watch.NumRequests, "one sample per stream")
	assert.EqualValues(t, 1, watch.NumFailures)
	in := entry(s, user.GRPCMethod, "/grpc.testing.TestService/StreamingInputCall")
	assert.EqualValues(t, 1, in.NumRequests)
	assert.EqualValues(t, 2, in.TotalBytes)
	bidi := entry(s, user.GRPCMethod, "/grpc.testing.TestService/FullDuplexCall")
	assert.EqualValues(t, 1, bidi.NumRequests)
	assert.EqualValues(t, 2*6, bidi.TotalBytes)
	assert.Zero(t, in.NumFailures+bidi.NumFailures)
	assert.Equal(t, map[string]int64{
		"GRPC /grpc.health.v1.Health/Watch: DataLoss: broken stream":                                1,
		"GRPC /grpc.testing.TestService/EmptyCall: Unimplemented: method EmptyCall not implemented": 1,
	}, errorsOf(s))
	assert.Len(t, s.Entries, 4, methods(s))
}

// A call in flight at a hard stop is a failure; a call whose ctx is done
// first is not made.
func TestGRPCHardStop(t *testing.T) {
	g := newGRPCTarget(t)
	var started atomic.Int64
	var late sync.Map
	c := user.Class[prober]{Tasks: taskset.Weighted(taskset.Task[prober]{Name: "slow",
		Run: func(p *prober, ctx context.Context) error {
			started.Add(1)
			_, err := p.health.Check(ctx, &healthpb.HealthCheckRequest{Service: "slow"})
			_, lateErr := p.health.Check(ctx, &healthpb.HealthCheckRequest{})
			late.Store(status.Code(lateErr), true)
			return err
		}})}
	r := start(t, c, "grpc://"+g.addr, 3)
	eventually(t, func() bool { return g.inFlight.Load() == 3 }, "3 calls in flight")
	r.cancel()
	r.wait(t, 5*time.Second)
	s := r.reg.Snapshot()
	e := entry(s, user.GRPCMethod, checkMethod)
	assert.EqualValues(t, 3, e.NumRequests, methods(s))
	assert.EqualValues(t, 3, e.NumFailures)
	assert.Zero(t, g.calls.Load(), "no call after the stop")
	var lateCodes []codes.Code
	late.Range(func(k, _ any) bool { lateCodes = append(lateCodes, k.(codes.Code)); return true })
	assert.Equal(t, []codes.Code{codes.Canceled}, lateCodes)
	for k := range errorsOf(s) {
		assert.Contains(t, k, "Canceled")
	}
}

type ownConn struct{ user.Base }

// GRPCDialOptions records the calls of a connection dialled by the user.
func TestGRPCDialOptions(t *testing.T) {
	g := newGRPCTarget(t)
	c := user.Class[ownConn]{Tasks: taskset.Weighted(taskset.Task[ownConn]{Name: "own",
		Run: func(u *ownConn, ctx context.Context) error {
			conn, err := grpc.NewClient(g.addr, append(user.GRPCDialOptions(u.Env()),
				grpc.WithTransportCredentials(insecure.NewCredentials()))...)
			require.NoError(t, err)
			defer conn.Close()
			h := healthpb.NewHealthClient(conn)
			for range 20 {
				_, _ = h.Check(ctx, &healthpb.HealthCheckRequest{})
			}
			return user.ErrStopUser
		}})}
	r := start(t, c, "", 1)
	r.wait(t, 10*time.Second)
	e := entry(r.reg.Snapshot(), user.GRPCMethod, checkMethod)
	assert.EqualValues(t, 20, e.NumRequests)
	assert.EqualValues(t, 2, e.NumFailures)
}

type pointerGRPC struct{ *user.GRPC }

func TestGRPCBinding(t *testing.T) {
	p := user.Class[pointerGRPC]{Tasks: taskset.Weighted(taskset.Task[pointerGRPC]{Name: "t",
		Run: func(*pointerGRPC, context.Context) error { return nil }})}
	r := start(t, p, "", 1)
	r.wait(t, 5*time.Second)
	err, _ := r.stopErr.Load().(error)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "embed user.GRPC by value")

	var g user.GRPC
	_, err = g.Conn("127.0.0.1:1")
	assert.Error(t, err, "outside a running user")
}

type tlsProber struct {
	prober
}

var proberTLS atomic.Pointer[tls.Config]

func (p *tlsProber) OnStart(ctx context.Context) error {
	p.TLSConfig = proberTLS.Load()
	return p.prober.OnStart(ctx)
}

// An https:// host is reached over TLS with the user's TLSConfig; a
// connection with options of the caller's is the user's too.
func TestGRPCOverTLS(t *testing.T) {
	// Borrow httptest's self-signed certificate for 127.0.0.1.
	cert := httptest.NewUnstartedServer(http.NotFoundHandler())
	cert.StartTLS()
	cert.Close()
	pool := x509.NewCertPool()
	pool.AddCert(cert.Certificate())
	proberTLS.Store(&tls.Config{RootCAs: pool})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	g := &grpcTarget{}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: cert.TLS.Certificates})))
	healthpb.RegisterHealthServer(srv, g)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	defer func() { srv.Stop(); <-done }()

	var extraErr error
	c := user.Class[tlsProber]{Tasks: taskset.Weighted(taskset.Task[tlsProber]{Name: "t",
		Run: func(p *tlsProber, ctx context.Context) error {
			for range 10 {
				_, _ = p.health.Check(ctx, &healthpb.HealthCheckRequest{})
			}
			conn, err := p.Conn("", grpc.WithUserAgent("prober"))
			if err == nil {
				_, extraErr = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			}
			return errors.Join(err, user.ErrStopUser)
		}})}
	r := start(t, c, "https://"+ln.Addr().String(), 1)
	r.wait(t, 10*time.Second)
	require.NoError(t, extraErr)
	e := entry(r.reg.Snapshot(), user.GRPCMethod, checkMethod)
	assert.EqualValues(t, 11, e.NumRequests)
	assert.EqualValues(t, 1, e.NumFailures, "the tenth call")
	assert.EqualValues(t, 11, g.calls.Load())
}
