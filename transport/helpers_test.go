package transport

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc/test/bufconn"
	gproto "google.golang.org/protobuf/proto"

	"github.com/golocust/golocust/proto/locustpb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type harness struct {
	srv  *Server
	lis  *bufconn.Listener
	logs *observer.ObservedLogs
	stop context.CancelFunc
	done chan error
}

// startServer serves on bufconn (or on the given listener) until the test ends.
func startServer(t *testing.T, o ServerOptions) *harness {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	o.Logger = zap.New(core)
	h := &harness{logs: logs, done: make(chan error, 1)}
	if o.Listener == nil {
		h.lis = bufconn.Listen(1 << 20)
		o.Listener = h.lis
	}
	if o.ShutdownGrace == 0 {
		o.ShutdownGrace = 2 * time.Second
	}
	srv, err := NewServer(o)
	require.NoError(t, err)
	h.srv = srv
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	go func() { h.done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return h
}

func (h *harness) client(t *testing.T, o ClientOptions) *Client {
	t.Helper()
	if o.Dialer == nil && h.lis != nil {
		o.Dialer = func(ctx context.Context, _ string) (net.Conn, error) { return h.lis.DialContext(ctx) }
		if o.Address == "" {
			o.Address = "bufnet"
		}
	}
	if o.Retries == 0 {
		o.Retries = -1
	}
	if o.BackoffBase == 0 {
		o.BackoffBase = 10 * time.Millisecond
	}
	c, err := NewClient(o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (h *harness) accept(t *testing.T) *Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := h.srv.Accept(ctx)
	require.NoError(t, err)
	return s
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func heartbeat(users int64) *locustpb.WorkerMessage {
	return &locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Heartbeat{Heartbeat: &locustpb.Heartbeat{
		State: locustpb.WorkerState_WORKER_STATE_RUNNING, CpuPercent: 12.5, MemoryBytes: 1 << 20, UserCount: users,
	}}}
}

func hello(id string) *locustpb.Hello { return &locustpb.Hello{WorkerId: id} }

// ---- certificates, generated per test run ----

type pki struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T, name string) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &pki{cert: cert, key: key, pool: pool}
}

// issue signs a leaf certificate for 127.0.0.1/localhost usable by servers and clients.
func (ca *pki) issue(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// writePEM writes a certificate (and its key) to files and returns the paths.
func writePEM(t *testing.T, dir, name string, c tls.Certificate) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600))
	kb, err := x509.MarshalECPrivateKey(c.PrivateKey.(*ecdsa.PrivateKey))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	return certFile, keyFile
}

func writeCA(t *testing.T, dir string, ca *pki) string {
	t.Helper()
	f := filepath.Join(dir, "ca.crt")
	require.NoError(t, os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o600))
	return f
}

func localListener(t *testing.T) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return lis
}

func protoMarshal(m *locustpb.WorkerMessage) ([]byte, error) { return gproto.Marshal(m) }
