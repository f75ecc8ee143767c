package runner

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/transport"
	"github.com/golocust/golocust/user"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a certificate for cn (valid for 127.0.0.1) and its key
// into dir and returns the file names.
func (ca *testCA) issue(t *testing.T, dir, cn string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{cn},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	kb, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, cn+".pem"), filepath.Join(dir, cn+".key")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	return certFile, keyFile
}

// Mutual TLS and a token between master and workers: the right
// certificate and token run users; a worker without a certificate, with
// one from another CA, or with a wrong token is refused and its Run
// returns an error without retrying for long.
func TestClusterMutualTLSAndToken(t *testing.T) {
	dir := t.TempDir()
	ca, other := newTestCA(t, "ca"), newTestCA(t, "other-ca")
	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(caFile, ca.pem, 0o600))
	mCert, mKey := ca.issue(t, dir, "master")
	wCert, wKey := ca.issue(t, dir, "worker")
	otherDir := t.TempDir()
	oCert, oKey := other.issue(t, otherDir, "intruder")

	srvTLS, err := transport.ServerTLSConfig(mCert, mKey, caFile)
	require.NoError(t, err)
	classes := []user.Spawner{class("A", 1, 0, nil)}
	m := startMaster(t, MasterOptions{Classes: classes, Server: transport.ServerOptions{Listener: localListener(t), TLS: srvTLS, Token: "tok"}})

	clientTLS := func(cert, key string) transport.ClientOptions {
		c, err := transport.ClientTLSConfig(cert, key, caFile, "")
		require.NoError(t, err)
		return transport.ClientOptions{TLS: c, Token: "tok"}
	}
	good := clientTLS(wCert, wKey)
	w := startWorker(t, m.Addr(), WorkerOptions{Classes: classes, Client: good})
	waitWorkers(t, m, 1)
	require.NoError(t, m.Start(3, 100))
	waitFor(t, "users on the TLS worker", func() bool { return w.UserCount() == 3 })

	refused := map[string]transport.ClientOptions{
		"no certificate":     clientTLS("", ""),
		"another CA's cert":  clientTLS(oCert, oKey),
		"wrong token":        func() transport.ClientOptions { o := good; o.Token = "nope"; return o }(),
		"plaintext to TLS":   {Token: "tok"},
		"no token over mTLS": func() transport.ClientOptions { o := good; o.Token = ""; return o }(),
	}
	for name, co := range refused {
		t.Run(name, func(t *testing.T) {
			co.Address = m.Addr()
			co.Retries = 2
			co.BackoffBase = 10 * time.Millisecond
			bad, err := NewWorker(WorkerOptions{Classes: classes, Client: co})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err = bad.Run(ctx)
			assert.Error(t, err)
			assert.NotErrorIs(t, err, context.DeadlineExceeded)
		})
	}
	assert.Equal(t, 1, m.WorkerCount(), "only the good worker is in")
	assert.Equal(t, 3, w.UserCount())
	m.Stop()
}
