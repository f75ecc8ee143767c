package transport

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// TestConnectionsThatNeverAuthenticateAreClosed reproduces the descriptor
// exhaustion of the red-team pass with fewer connections and the same
// mechanism: a few hundred raw TCP connections that never open a stream.
// The master never holds more than MaxUnauthenticated of them, closes
// every one of them, and keeps serving a real worker meanwhile, whose own
// connection outlives the auth timeout.
func TestConnectionsThatNeverAuthenticateAreClosed(t *testing.T) {
	const flood, maxPending = 300, 50
	authTimeout := 500 * time.Millisecond
	lis := localListener(t)
	h := startServer(t, ServerOptions{Listener: lis, Token: "tok", AuthTimeout: authTimeout, MaxUnauthenticated: maxPending})
	addr := lis.Addr().String()

	conns := make([]net.Conn, 0, flood)
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	var peak int
	for range flood {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		conns = append(conns, c)
		peak = max(peak, h.srv.guard.Pending())
	}
	assert.LessOrEqual(t, peak, maxPending, "never more than MaxUnauthenticated pending connections")

	// A real worker joins during the flood and stays past the auth timeout.
	c := h.client(t, ClientOptions{Address: addr, Token: "tok", Retries: 20})
	st, err := c.Connect(testCtx(t))
	require.NoError(t, err, "the master still serves workers")
	defer st.Close("done")
	sess := h.accept(t)

	// The master closes every flood connection: a read ends with EOF or a
	// reset, not with our own deadline.
	var wg sync.WaitGroup
	closedByMaster := make([]bool, flood)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, err := io.Copy(io.Discard, c) // the master's settings frame, then the end
			ne, ok := err.(net.Error)
			closedByMaster[i] = !(ok && ne.Timeout())
		}()
	}
	wg.Wait()
	for i, ok := range closedByMaster {
		require.True(t, ok, "flood connection %d was not closed by the master", i)
	}
	assert.Equal(t, 0, h.srv.guard.Pending())
	assert.GreaterOrEqual(t, h.srv.guard.closedEarly.Load(), int64(flood))
	// The guard closes a connection before it logs the closing, so the
	// last lines may still be on their way when every read has ended.
	cutLogs := func() int {
		return h.logs.FilterMessageSnippet("closed a worker connection before authentication").Len()
	}
	waitFor(t, func() bool { return cutLogs() == int(h.srv.guard.closedEarly.Load()) })
	cut := h.logs.FilterMessageSnippet("closed a worker connection before authentication")
	assert.Equal(t, 1, cut.FilterLevelExact(zapcore.WarnLevel).Len(), "one warning, the rest at debug level")

	// The authenticated worker's connection is still there.
	time.Sleep(2 * authTimeout)
	require.NoError(t, st.Send(heartbeat(1)))
	m, err := sess.Recv()
	require.NoError(t, err)
	assert.NotNil(t, m.GetHeartbeat())
}

// TestAConnectedClientThatOpensNoStreamIsClosed: the finding's exact case,
// a connection that speaks HTTP/2 (the preface and settings went through)
// but never opens a stream, is closed after the auth timeout.
func TestAConnectedClientThatOpensNoStreamIsClosed(t *testing.T) {
	lis := localListener(t)
	h := startServer(t, ServerOptions{Listener: lis, AuthTimeout: 300 * time.Millisecond})
	cc, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer func() { _ = cc.Close() }()
	cc.Connect()
	ctx := testCtx(t)
	for s := cc.GetState(); s != connectivity.Ready; s = cc.GetState() {
		require.True(t, cc.WaitForStateChange(ctx, s), "never connected")
	}
	require.True(t, cc.WaitForStateChange(ctx, connectivity.Ready), "the master did not close the idle connection")
	waitFor(t, func() bool { return h.srv.guard.closedEarly.Load() == 1 })
}

// TestAHelloForALiveWorkerIDIsRefused reproduces the takeover: a second
// stream sending a live worker's id (visible in the web UI) is refused
// with a clear error, again and again, and the victim's stream is never
// touched.
func TestAHelloForALiveWorkerIDIsRefused(t *testing.T) {
	h := startServer(t, ServerOptions{TakeoverAfter: time.Hour})
	ctx := testCtx(t)
	victim, err := h.client(t, ClientOptions{Hello: hello("box_1")}).Connect(ctx)
	require.NoError(t, err)
	defer victim.Close("done")
	sess := h.accept(t)

	for range 20 {
		_, err := h.client(t, ClientOptions{Hello: hello("box_1")}).Connect(ctx)
		require.Error(t, err)
		assert.Equal(t, codes.AlreadyExists, status.Code(err))
		assert.Contains(t, err.Error(), `worker id "box_1" is already connected`)
	}
	require.NoError(t, victim.Send(heartbeat(3)))
	m, err := sess.Recv()
	require.NoError(t, err, "the victim's session is untouched")
	assert.Equal(t, int64(3), m.GetHeartbeat().GetUserCount())
	assert.Len(t, h.srv.Sessions(), 1)
	assert.Equal(t, 20, h.logs.FilterMessage("refused a worker").Len())
}

// TestAWorkerWhoseStreamWentSilentComesBackUnderItsID: a worker whose
// connection died without the master noticing retries its hello (the
// client retries AlreadyExists) and takes its id and index back once the
// old stream has been silent for TakeoverAfter.
func TestAWorkerWhoseStreamWentSilentComesBackUnderItsID(t *testing.T) {
	h := startServer(t, ServerOptions{TakeoverAfter: 300 * time.Millisecond})
	ctx := testCtx(t)
	old, err := h.client(t, ClientOptions{Hello: hello("box_1")}).Connect(ctx)
	require.NoError(t, err)
	defer old.Close("done")
	oldSess := h.accept(t)

	start := time.Now()
	st, err := h.client(t, ClientOptions{Hello: hello("box_1"), Retries: 100, BackoffMax: 50 * time.Millisecond}).Connect(ctx)
	require.NoError(t, err)
	defer st.Close("done")
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "not before the old stream was silent long enough")
	sess := h.accept(t)
	assert.Equal(t, "box_1", sess.ID())
	assert.Equal(t, oldSess.Index(), st.Index())
	_, err = old.Recv()
	assert.Equal(t, codes.Aborted, status.Code(err), "the silent stream was replaced")
}

// TestUnderMutualTLSAnIDIsBoundToItsCertificate: another certificate of
// the same CA cannot use an id first used by another.
func TestUnderMutualTLSAnIDIsBoundToItsCertificate(t *testing.T) {
	ca := newCA(t, "golocust test CA")
	serverCert := ca.issue(t, "master")
	lis := localListener(t)
	h := startServer(t, ServerOptions{Listener: lis, TakeoverAfter: time.Millisecond, TLS: &tls.Config{
		Certificates: []tls.Certificate{serverCert}, ClientCAs: ca.pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
	}})
	addr := lis.Addr().String()
	as := func(cn string) *Client {
		return h.client(t, ClientOptions{Address: addr, Hello: hello("box_1"),
			TLS: &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{ca.issue(t, cn)}}})
	}
	alice := as("alice")
	st, err := alice.Connect(testCtx(t))
	require.NoError(t, err)
	h.accept(t)
	st.Close("bye")
	waitFor(t, func() bool { return len(h.srv.Sessions()) == 0 })

	_, err = as("mallory").Connect(testCtx(t))
	require.Error(t, err)
	assert.Equal(t, codes.PermissionDenied, status.Code(err))
	assert.Contains(t, err.Error(), `belongs to another client certificate ("alice")`)

	st, err = alice.Connect(testCtx(t))
	require.NoError(t, err, "the certificate's owner comes back")
	defer st.Close("done")
	assert.Equal(t, "alice", h.accept(t).CertName())
}
