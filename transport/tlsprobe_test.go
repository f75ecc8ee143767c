package transport

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAPlaintextWorkerAtATLSMasterGetsAClearError: instead of retrying
// for minutes without saying why, the worker's Connect fails after its
// first attempt, naming TLS and the flag to set; under mutual TLS too.
func TestAPlaintextWorkerAtATLSMasterGetsAClearError(t *testing.T) {
	ca := newCA(t, "golocust test CA")
	serverCert := ca.issue(t, "master")
	for name, cfg := range map[string]*tls.Config{
		"TLS":        {Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12},
		"mutual TLS": {Certificates: []tls.Certificate{serverCert}, ClientCAs: ca.pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12},
	} {
		t.Run(name, func(t *testing.T) {
			lis := localListener(t)
			h := startServer(t, ServerOptions{Listener: lis, TLS: cfg})
			_, err := h.client(t, ClientOptions{Address: lis.Addr().String(), Retries: 60}).Connect(testCtx(t))
			require.ErrorIs(t, err, ErrMasterSpeaksTLS)
			assert.Contains(t, err.Error(), "--cluster-tls-ca")
			assert.NotContains(t, err.Error(), "attempts", "not retried")
		})
	}
}

// TestAPlaintextMasterIsNotMistakenForTLS: the probe does not fire for a
// master that is simply not there, nor for one that answers TLS with
// garbage.
func TestAPlaintextMasterIsNotMistakenForTLS(t *testing.T) {
	lis := localListener(t)
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			_ = c.Close()
		}
	}()
	defer lis.Close()
	c := (&harness{}).client(t, ClientOptions{Address: lis.Addr().String()})
	assert.False(t, c.masterSpeaksTLS(testCtx(t)))
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l2.Addr().String()
	require.NoError(t, l2.Close())
	_, err = (&harness{}).client(t, ClientOptions{Address: addr}).Connect(testCtx(t))
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrMasterSpeaksTLS)
}
