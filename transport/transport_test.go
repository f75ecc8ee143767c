package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/golocust/golocust/proto/locustpb"
)

func TestHandshakeAndMessagesBothWays(t *testing.T) {
	h := startServer(t, ServerOptions{})
	ctx := testCtx(t)

	w0, err := h.client(t, ClientOptions{Hello: hello("host-a_1")}).Connect(ctx)
	require.NoError(t, err)
	defer w0.Close("done")
	s0 := h.accept(t)
	w1, err := h.client(t, ClientOptions{Hello: hello("host-b_2")}).Connect(ctx)
	require.NoError(t, err)
	defer w1.Close("done")
	s1 := h.accept(t)

	assert.Equal(t, 0, w0.Index())
	assert.EqualValues(t, 1, w0.Ack().GetWorkerCount())
	assert.Equal(t, 1, w1.Index())
	assert.EqualValues(t, 2, w1.Ack().GetWorkerCount())
	assert.Equal(t, locustpb.Version, w1.Ack().GetVersion())
	assert.Equal(t, "host-a_1", s0.ID())
	assert.Equal(t, "host-b_2", s1.ID())
	assert.Equal(t, []*Session{s0, s1}, h.srv.Sessions())
	// Filled-in hello fields.
	assert.Positive(t, s0.Hello().GetPid())
	assert.Positive(t, s0.Hello().GetCpuCount())
	assert.NotEmpty(t, s0.Hello().GetHostname())

	// worker → master
	require.NoError(t, w1.Send(heartbeat(7)))
	m, err := s1.Recv()
	require.NoError(t, err)
	assert.EqualValues(t, 7, m.GetHeartbeat().GetUserCount())

	// master → worker
	require.NoError(t, s0.Send(&locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Spawn{Spawn: &locustpb.Spawn{
		Sequence: 1, UserClassCounts: map[string]int64{"Shopper": 3}, Host: "http://127.0.0.1:8080", StopTimeoutUs: 1e6,
	}}}))
	got, err := w0.Recv()
	require.NoError(t, err)
	assert.EqualValues(t, 3, got.GetSpawn().GetUserClassCounts()["Shopper"])

	// custom both ways
	require.NoError(t, w0.Send(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Custom{Custom: &locustpb.Custom{Type: "ping", Data: []byte("x")}}}))
	m, err = s0.Recv()
	require.NoError(t, err)
	assert.Equal(t, "ping", m.GetCustom().GetType())
	require.NoError(t, s0.Send(&locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Custom{Custom: &locustpb.Custom{Type: "pong"}}}))
	got, err = w0.Recv()
	require.NoError(t, err)
	assert.Equal(t, "pong", got.GetCustom().GetType())

	// A clean close by the worker: goodbye, then EOF.
	w1.Close("bye")
	m, err = s1.Recv()
	require.NoError(t, err)
	assert.Equal(t, "bye", m.GetGoodbye().GetReason())
	_, err = s1.Recv()
	assert.Error(t, err)
	waitFor(t, func() bool { return len(h.srv.Sessions()) == 1 })

	// A clean close by the master: goodbye, then EOF on the worker.
	s0.Close(codes.OK, "run over")
	got, err = w0.Recv()
	require.NoError(t, err)
	assert.Equal(t, "run over", got.GetGoodbye().GetReason())
	_, err = w0.Recv()
	assert.ErrorIs(t, err, io.EOF)
	waitFor(t, func() bool { return len(h.srv.Sessions()) == 0 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTokenRefusedBeforeAnyMessage(t *testing.T) {
	const secret = "s3cret-token-value"
	h := startServer(t, ServerOptions{Token: secret})
	ctx := testCtx(t)

	for name, tok := range map[string]string{"missing": "", "wrong": "wrong-token-value", "prefix": "s3cret"} {
		_, err := h.client(t, ClientOptions{Token: tok, Retries: 3}).Connect(ctx)
		require.Error(t, err, name)
		assert.Equal(t, codes.Unauthenticated, status.Code(err), name)
		assert.Contains(t, err.Error(), "worker token", name)
	}
	// The handler (which reads the first message) never ran.
	assert.Zero(t, h.srv.handlers.Load())
	assert.EqualValues(t, 3, h.srv.rejected.Load())

	st, err := h.client(t, ClientOptions{Token: secret}).Connect(ctx)
	require.NoError(t, err)
	defer st.Close("done")
	h.accept(t)
	assert.EqualValues(t, 1, h.srv.handlers.Load())

	// No token ever reaches the logs.
	require.NotZero(t, h.logs.Len())
	for _, e := range h.logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += " " + k + "=" + toString(v)
		}
		assert.NotContains(t, line, "s3cret")
		assert.NotContains(t, line, "wrong-token")
	}
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if e, ok := v.(error); ok {
		return e.Error()
	}
	return ""
}

func TestTokenOverPlaintextOnlyToLoopback(t *testing.T) {
	_, err := NewClient(ClientOptions{Address: "10.0.0.1:5557", Token: "x"})
	assert.ErrorContains(t, err, "TLS")
	c, err := NewClient(ClientOptions{Address: "10.0.0.1:5557", Token: "x", InsecureToken: true})
	require.NoError(t, err)
	require.NoError(t, c.Close())
	c, err = NewClient(ClientOptions{Address: "127.0.0.1:5557", Token: "x"})
	require.NoError(t, err)
	require.NoError(t, c.Close())
}

func TestOversizedMessageRefusedOthersUnaffected(t *testing.T) {
	h := startServer(t, ServerOptions{MaxMessageSize: 1024})
	ctx := testCtx(t)
	big, err := h.client(t, ClientOptions{Hello: hello("big_1")}).Connect(ctx)
	require.NoError(t, err)
	defer big.Close("done")
	sBig := h.accept(t)
	small, err := h.client(t, ClientOptions{Hello: hello("small_1")}).Connect(ctx)
	require.NoError(t, err)
	defer small.Close("done")
	sSmall := h.accept(t)

	require.NoError(t, big.Send(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Custom{Custom: &locustpb.Custom{Type: "blob", Data: make([]byte, 4096)}}}))
	_, err = sBig.Recv()
	require.Error(t, err)
	assert.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)

	require.NoError(t, small.Send(heartbeat(1)))
	m, err := sSmall.Recv()
	require.NoError(t, err)
	assert.EqualValues(t, 1, m.GetHeartbeat().GetUserCount())
}

func TestIncompatibleVersionRefusedByMaster(t *testing.T) {
	h := startServer(t, ServerOptions{})
	start := time.Now()
	_, err := h.client(t, ClientOptions{Hello: &locustpb.Hello{WorkerId: "old_1", Version: "2.3.0"}, Retries: 60}).Connect(testCtx(t))
	require.Error(t, err)
	assert.Equal(t, codes.FailedPrecondition, status.Code(err))
	assert.Contains(t, err.Error(), "incompatible protocol version")
	assert.Contains(t, err.Error(), "2.3.0")
	assert.Less(t, time.Since(start), 5*time.Second, "not retried")
	assert.Equal(t, 1, h.logs.FilterMessageSnippet("incompatible version").Len())
	assert.Empty(t, h.srv.Sessions())
}

// fakeMaster acks every hello with its own version and records what it hears.
type fakeMaster struct {
	locustpb.UnimplementedClusterServer
	version string
	got     chan *locustpb.WorkerMessage
}

func (f *fakeMaster) Connect(stream grpc.BidiStreamingServer[locustpb.WorkerMessage, locustpb.MasterMessage]) error {
	if _, err := stream.Recv(); err != nil {
		return err
	}
	if err := stream.Send(&locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Ack{Ack: &locustpb.Ack{WorkerIndex: 0, WorkerCount: 1, Version: f.version}}}); err != nil {
		return err
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			return nil
		}
		f.got <- m
	}
}

func TestIncompatibleVersionRefusedByWorker(t *testing.T) {
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	fm := &fakeMaster{version: "9.0.0", got: make(chan *locustpb.WorkerMessage, 4)}
	locustpb.RegisterClusterServer(gs, fm)
	served := make(chan struct{})
	go func() { _ = gs.Serve(lis); close(served) }()
	defer func() { gs.Stop(); <-served }()

	c, err := NewClient(ClientOptions{Address: "bufnet", Dialer: func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Connect(testCtx(t))
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrIncompatibleVersion)
	assert.Equal(t, codes.FailedPrecondition, status.Code(err))
	assert.Contains(t, err.Error(), "9.0.0")
	select {
	case m := <-fm.got:
		assert.Contains(t, m.GetGoodbye().GetReason(), "incompatible")
	case <-time.After(10 * time.Second):
		t.Fatal("the master never heard why")
	}
}

func TestWorkerCap(t *testing.T) {
	h := startServer(t, ServerOptions{MaxWorkers: 2})
	ctx := testCtx(t)
	a, err := h.client(t, ClientOptions{Hello: hello("a_1")}).Connect(ctx)
	require.NoError(t, err)
	defer a.Close("done")
	h.accept(t)
	b, err := h.client(t, ClientOptions{Hello: hello("b_1")}).Connect(ctx)
	require.NoError(t, err)
	h.accept(t)

	_, err = h.client(t, ClientOptions{Hello: hello("c_1")}).Connect(ctx)
	require.Error(t, err)
	assert.Equal(t, codes.ResourceExhausted, status.Code(err))
	assert.Contains(t, err.Error(), "maximum of 2 workers")

	// A freed slot (and index) goes to the next worker.
	b.Close("leaving")
	waitFor(t, func() bool { return len(h.srv.Sessions()) == 1 })
	c, err := h.client(t, ClientOptions{Hello: hello("c_1")}).Connect(ctx)
	require.NoError(t, err)
	defer c.Close("done")
	h.accept(t)
	assert.Equal(t, 1, c.Index())
	assert.EqualValues(t, 2, c.Ack().GetWorkerCount())
}

// A Reconnect issued while another goroutine is sending to the same worker
// (a spawn, say) waits for that Send instead of being dropped: the worker is
// told why it must reconnect.
func TestReconnectWaitsForASendInProgress(t *testing.T) {
	h := startServer(t, ServerOptions{})
	ctx := testCtx(t)
	st, err := h.client(t, ClientOptions{Hello: hello("w_0")}).Connect(ctx)
	require.NoError(t, err)
	defer st.Close("done")
	s := h.accept(t)

	s.lastWait = time.Hour  // so only the Send's end can release it
	s.sendSem <- struct{}{} // a Send in progress
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Reconnect("bad message")
	}()
	// Give Reconnect the chance to meet the Send in progress (if it has not
	// yet, the test passes without proving much, never fails wrongly).
	select {
	case <-done:
		t.Fatal("Reconnect returned while a Send was in progress")
	case <-time.After(50 * time.Millisecond):
	}
	<-s.sendSem // the Send completes
	<-done

	m, err := st.Recv()
	require.NoError(t, err, "the Reconnect message, before the stream's end")
	assert.Equal(t, "bad message", m.GetReconnect().GetReason())
}

func TestReconnectKeepsIndex(t *testing.T) {
	h := startServer(t, ServerOptions{})
	ctx := testCtx(t)
	cl := h.client(t, ClientOptions{Hello: hello("w_1")})
	other, err := h.client(t, ClientOptions{Hello: hello("w_0")}).Connect(ctx)
	require.NoError(t, err)
	defer other.Close("done")
	h.accept(t)
	st, err := cl.Connect(ctx)
	require.NoError(t, err)
	s := h.accept(t)
	require.Equal(t, 1, st.Index())

	s.Reconnect("corrupt message")
	m, err := st.Recv()
	if err == nil {
		assert.Equal(t, "corrupt message", m.GetReconnect().GetReason())
	} else {
		assert.Equal(t, codes.Aborted, status.Code(err))
	}
	st.Close("reconnecting")
	// A hello for an id whose stream the server still holds is refused
	// (AlreadyExists): reconnect once the server has let the old one go.
	waitFor(t, func() bool { return len(h.srv.Sessions()) == 1 })

	st2, err := cl.Connect(ctx)
	require.NoError(t, err)
	defer st2.Close("done")
	s2 := h.accept(t)
	assert.Equal(t, 1, st2.Index())
	assert.Equal(t, "w_1", s2.ID())

	assert.Equal(t, "w_1", s2.ID())
}

func TestBadMessagesReportedStreamStaysOpen(t *testing.T) {
	h := startServer(t, ServerOptions{})
	ctx := testCtx(t)
	st, err := h.client(t, ClientOptions{}).Connect(ctx)
	require.NoError(t, err)
	defer st.Close("done")
	s := h.accept(t)

	// Invalid (empty custom type), an empty envelope, and a second hello.
	for _, m := range []*locustpb.WorkerMessage{
		{Kind: &locustpb.WorkerMessage_Custom{Custom: &locustpb.Custom{}}},
		{},
		{Kind: &locustpb.WorkerMessage_Hello{Hello: &locustpb.Hello{WorkerId: "x", Version: locustpb.Version}}},
	} {
		require.NoError(t, st.Send(m))
		_, err = s.Recv()
		assert.ErrorIs(t, err, ErrBadMessage)
	}
	require.NoError(t, st.Send(heartbeat(2)))
	m, err := s.Recv()
	require.NoError(t, err)
	assert.EqualValues(t, 2, m.GetHeartbeat().GetUserCount())
}

// rawCodec sends bytes as they are, to put undecodable data on the wire.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(b []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), b...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

func TestUndecodableMessageIsBadMessage(t *testing.T) {
	h := startServer(t, ServerOptions{})
	ctx := testCtx(t)
	cc, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return h.lis.DialContext(ctx) }))
	require.NoError(t, err)
	defer cc.Close()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs, err := cc.NewStream(sctx, &locustpb.Cluster_ServiceDesc.Streams[0], locustpb.Cluster_Connect_FullMethodName, grpc.ForceCodec(rawCodec{}))
	require.NoError(t, err)
	hb, err := protoMarshal(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Hello{Hello: &locustpb.Hello{WorkerId: "raw_1", Version: locustpb.Version}}})
	require.NoError(t, err)
	require.NoError(t, cs.SendMsg(&hb))
	var ack []byte
	require.NoError(t, cs.RecvMsg(&ack))
	s := h.accept(t)

	garbage := []byte{0x2a, 0xff, 0xff, 0xff, 0xff, 0x0f}
	require.NoError(t, cs.SendMsg(&garbage))
	_, err = s.Recv()
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrBadMessage, "%v", err)
	s.Reconnect("undecodable message")
	var msg []byte
	for {
		if err := cs.RecvMsg(&msg); err != nil {
			assert.Contains(t, []codes.Code{codes.Aborted, codes.Internal}, status.Code(err))
			break
		}
	}
}

func TestConnectRetriesWithBackoff(t *testing.T) {
	h := startServer(t, ServerOptions{})
	var attempts atomic.Int32
	dial := func(ctx context.Context, _ string) (net.Conn, error) {
		if attempts.Add(1) <= 2 {
			return nil, errors.New("connection refused (test)")
		}
		return h.lis.DialContext(ctx)
	}
	st, err := h.client(t, ClientOptions{Dialer: dial, Address: "bufnet", Retries: 10, BackoffBase: time.Millisecond}).Connect(testCtx(t))
	require.NoError(t, err)
	defer st.Close("done")
	h.accept(t)
	assert.GreaterOrEqual(t, attempts.Load(), int32(3))

	// Nobody listening: bounded attempts, then a clear error.
	lis := localListener(t)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())
	c, err := NewClient(ClientOptions{Address: addr, Retries: 2, BackoffBase: time.Millisecond})
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Connect(testCtx(t))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "failed to connect to master "+addr+" after 3 attempts")
}

func TestCleanShutdown(t *testing.T) {
	h := startServer(t, ServerOptions{})
	ctx := testCtx(t)
	st, err := h.client(t, ClientOptions{}).Connect(ctx)
	require.NoError(t, err)
	defer st.Close("done")
	h.accept(t)

	h.stop()
	_, err = st.Recv()
	require.Error(t, err)
	assert.Equal(t, codes.Unavailable, status.Code(err), "%v", err)
	assert.Contains(t, err.Error(), "master shutting down")
	select {
	case err := <-h.done:
		assert.NoError(t, err)
		h.done <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	_, err = h.srv.Accept(ctx)
	assert.ErrorIs(t, err, ErrServerClosed)
	// The worker's next attempt finds nobody.
	_, err = h.client(t, ClientOptions{}).Connect(ctx)
	assert.Equal(t, codes.Unavailable, status.Code(err))
}

func TestServerBindsLoopbackByDefault(t *testing.T) {
	lis := localListener(t)
	port := lis.Addr().(*net.TCPAddr).Port
	require.NoError(t, lis.Close())
	srv, err := NewServer(ServerOptions{BindPort: port})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(srv.Addr().String(), "127.0.0.1:"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, srv.Serve(ctx))
}

func TestTLSAndMutualTLS(t *testing.T) {
	ca := newCA(t, "golocust test CA")
	otherCA := newCA(t, "someone else's CA")
	serverCert := ca.issue(t, "master")
	workerCert := ca.issue(t, "worker-1")
	strangerCert := otherCA.issue(t, "stranger")

	t.Run("server TLS", func(t *testing.T) {
		lis := localListener(t)
		h := startServer(t, ServerOptions{Listener: lis, TLS: &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}, Token: "tok"})
		addr := lis.Addr().String()
		st, err := h.client(t, ClientOptions{Address: addr, TLS: &tls.Config{RootCAs: ca.pool}, Token: "tok"}).Connect(testCtx(t))
		require.NoError(t, err)
		defer st.Close("done")
		h.accept(t)
		// A worker that does not trust the master's CA refuses it.
		_, err = h.client(t, ClientOptions{Address: addr, TLS: &tls.Config{RootCAs: otherCA.pool}, Retries: 3}).Connect(testCtx(t))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "x509")
		// Plaintext to a TLS master fails.
		_, err = h.client(t, ClientOptions{Address: addr}).Connect(testCtx(t))
		require.Error(t, err)
	})

	t.Run("mutual TLS", func(t *testing.T) {
		lis := localListener(t)
		h := startServer(t, ServerOptions{Listener: lis, TLS: &tls.Config{
			Certificates: []tls.Certificate{serverCert}, ClientCAs: ca.pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
		}})
		addr := lis.Addr().String()
		for name, certs := range map[string][]tls.Certificate{"no client certificate": nil, "certificate from another CA": {strangerCert}} {
			_, err := h.client(t, ClientOptions{Address: addr, TLS: &tls.Config{RootCAs: ca.pool, Certificates: certs}, Retries: 3}).Connect(testCtx(t))
			require.Error(t, err, name)
			assert.NotEqual(t, codes.OK, status.Code(err), name)
		}
		assert.Zero(t, h.srv.handlers.Load(), "refused before any message")

		st, err := h.client(t, ClientOptions{Address: addr, TLS: &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{workerCert}}}).Connect(testCtx(t))
		require.NoError(t, err)
		defer st.Close("done")
		s := h.accept(t)
		assert.Equal(t, "worker-1", s.CertName())
	})

	t.Run("config from files", func(t *testing.T) {
		dir := t.TempDir()
		caFile := writeCA(t, dir, ca)
		sc, sk := writePEM(t, dir, "master", serverCert)
		wc, wk := writePEM(t, dir, "worker", workerCert)
		scfg, err := ServerTLSConfig(sc, sk, caFile)
		require.NoError(t, err)
		assert.Equal(t, tls.RequireAndVerifyClientCert, scfg.ClientAuth)
		ccfg, err := ClientTLSConfig(wc, wk, caFile, "")
		require.NoError(t, err)

		lis := localListener(t)
		h := startServer(t, ServerOptions{Listener: lis, TLS: scfg})
		st, err := h.client(t, ClientOptions{Address: lis.Addr().String(), TLS: ccfg}).Connect(testCtx(t))
		require.NoError(t, err)
		defer st.Close("done")
		assert.Equal(t, "worker-1", h.accept(t).CertName())

		_, err = ServerTLSConfig(sc, sk, dir+"/missing.crt")
		assert.Error(t, err)
		_, err = ClientTLSConfig(dir+"/nope.crt", wk, "", "")
		assert.Error(t, err)
	})
}

func TestHandshakeTimeoutFreesTheSlot(t *testing.T) {
	h := startServer(t, ServerOptions{MaxWorkers: 1, HandshakeTimeout: 100 * time.Millisecond})
	ctx := testCtx(t)
	cc, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return h.lis.DialContext(ctx) }))
	require.NoError(t, err)
	defer cc.Close()
	// A stream that never says hello is dropped after the handshake timeout.
	silent, err := locustpb.NewClusterClient(cc).Connect(ctx)
	require.NoError(t, err)
	_, err = silent.Recv()
	assert.Equal(t, codes.DeadlineExceeded, status.Code(err), "%v", err)
	// ... and does not hold the only slot.
	st, err := h.client(t, ClientOptions{}).Connect(ctx)
	require.NoError(t, err)
	defer st.Close("done")
	h.accept(t)
}

func TestFirstMessageMustBeHello(t *testing.T) {
	h := startServer(t, ServerOptions{})
	ctx := testCtx(t)
	cc, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return h.lis.DialContext(ctx) }))
	require.NoError(t, err)
	defer cc.Close()
	s, err := locustpb.NewClusterClient(cc).Connect(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Send(heartbeat(1)))
	_, err = s.Recv()
	assert.Equal(t, codes.InvalidArgument, status.Code(err))
	assert.Contains(t, err.Error(), "first message must be hello")
	assert.Empty(t, h.srv.Sessions())
}

func TestCloseUnblocksSendToStuckWorker(t *testing.T) {
	h := startServer(t, ServerOptions{})
	ctx := testCtx(t)
	st, err := h.client(t, ClientOptions{}).Connect(ctx) // never reads
	require.NoError(t, err)
	defer st.Close("done")
	s := h.accept(t)

	sent := make(chan error, 1)
	go func() {
		blob := &locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Custom{Custom: &locustpb.Custom{Type: "blob", Data: make([]byte, 1<<20)}}}
		for i := 0; i < 64; i++ {
			if err := s.Send(blob); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	// Wait until the sender is stuck on flow control (holding the send slot).
	waitFor(t, func() bool { return len(s.sendSem) == 1 })
	s.Close(codes.Unavailable, "worker stopped reading")
	select {
	case err := <-sent:
		assert.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Send stayed blocked after Close")
	}
	waitFor(t, func() bool { return len(h.srv.Sessions()) == 0 })
}

func TestWorkerReconnectsAfterMasterRestart(t *testing.T) {
	lis := localListener(t)
	addr := lis.Addr().String()
	first := startServer(t, ServerOptions{Listener: lis})
	c := first.client(t, ClientOptions{Address: addr, Hello: hello("w_1"), Retries: 50, BackoffBase: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	ctx := testCtx(t)
	st, err := c.Connect(ctx)
	require.NoError(t, err)
	first.accept(t)

	first.stop() // the master goes away
	_, err = st.Recv()
	require.Error(t, err)
	st.Close("master gone")
	<-first.done
	first.done <- nil

	lis2, err := net.Listen("tcp", addr) // and comes back on the same port
	require.NoError(t, err)
	second := startServer(t, ServerOptions{Listener: lis2})
	st2, err := c.Connect(ctx)
	require.NoError(t, err)
	defer st2.Close("done")
	s := second.accept(t)
	assert.Equal(t, "w_1", s.ID())
	assert.Equal(t, 0, st2.Index())
}

func TestCloseWithoutServe(t *testing.T) {
	lis := localListener(t)
	srv, err := NewServer(ServerOptions{Listener: lis})
	require.NoError(t, err)
	require.NoError(t, srv.Close())
	_, err = net.Dial("tcp", lis.Addr().String())
	assert.Error(t, err, "listener released")
	_, err = srv.Accept(context.Background())
	assert.ErrorIs(t, err, ErrServerClosed)
}
