package webui

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRebindingHostIsRefused reproduces DNS rebinding: a page on
// evil.example rebound to 127.0.0.1 is same-origin with itself, so its
// requests carry Host: evil.example and pass the cross-origin check. The
// Host check refuses them.
func TestRebindingHostIsRefused(t *testing.T) {
	f := newFake("/a")
	f.state = StateRunning
	base, _ := startServer(t, Options{Controller: f})
	port := strings.TrimPrefix(base, "http://127.0.0.1:")
	evil := "evil.example:" + port
	sameOrigin := map[string]string{"Host": evil, "Origin": "http://" + evil, "Sec-Fetch-Site": "same-origin"}

	resp, b := do(t, "GET", base+"/stats/requests", nil, sameOrigin)
	assert.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode)
	assert.Contains(t, string(b), "--web-public-names")
	assert.NotContains(t, string(b), "/a", "no stats leak")
	resp, _ = do(t, "POST", base+"/stop", url.Values{}, sameOrigin)
	assert.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode)
	resp, _ = do(t, "POST", base+"/swarm", url.Values{"user_count": {"5"}, "spawn_rate": {"1"}}, sameOrigin)
	assert.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode)
	assert.Zero(t, f.stops, "the rebound page did not stop the run")
	_, n := f.lastStart()
	assert.Zero(t, n)

	// The names the UI is served under pass.
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "LOCALHOST.:" + port, "127.0.0.2:" + port} {
		resp, _ := do(t, "GET", base+"/stats/requests", nil, map[string]string{"Host": host})
		assert.Equal(t, http.StatusOK, resp.StatusCode, host)
	}
	// Another IP literal is not the bound address.
	resp, _ = do(t, "GET", base+"/stats/requests", nil, map[string]string{"Host": "10.1.2.3:" + port})
	assert.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode)
}

func TestPublicNamesAndListenHostAreServed(t *testing.T) {
	f := newFake()
	base, _ := startServer(t, Options{Controller: f, ListenHost: "ui.internal", PublicNames: []string{"Locust.Example.com"}})
	for host, want := range map[string]int{
		"locust.example.com":      http.StatusOK,
		"locust.example.com:8089": http.StatusOK,
		"ui.internal:8089":        http.StatusOK,
		"example.com":             http.StatusMisdirectedRequest,
		"locust.example.com.evil": http.StatusMisdirectedRequest,
	} {
		resp, _ := do(t, "GET", base+"/ui/config", nil, map[string]string{"Host": host})
		assert.Equal(t, want, resp.StatusCode, host)
	}
	// Probes answer whatever the Host: an orchestrator probes by pod IP.
	resp, _ := do(t, "GET", base+"/healthz", nil, map[string]string{"Host": "10.0.0.7:8089"})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestHSTSOnlyUnderTLS(t *testing.T) {
	base, _ := startServer(t, Options{Controller: newFake()})
	resp, _ := get(t, base+"/")
	assert.Empty(t, resp.Header.Get("Strict-Transport-Security"))

	certFile, keyFile := writeSelfSigned(t, t.TempDir())
	s, err := New(Options{Controller: newFake(), TLSCert: certFile, TLSKey: keyFile})
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	defer func() { cancel(); require.NoError(t, <-done) }()
	pem, err := os.ReadFile(certFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	defer tr.CloseIdleConnections()
	resp, err = (&http.Client{Transport: tr}).Get("https://" + l.Addr().String() + "/stats/requests")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "max-age=31536000", resp.Header.Get("Strict-Transport-Security"))
}

// TestSlowClientsAreCutOff: a client that never finishes its headers, or
// idles after a request, loses its connection; oversized headers get 431.
func TestSlowClientsAreCutOff(t *testing.T) {
	lim := &serverLimits{readHeader: 300 * time.Millisecond, read: time.Second, write: time.Second, idle: 300 * time.Millisecond}
	s, err := New(Options{Controller: newFake(), limits: lim})
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	defer func() { cancel(); require.NoError(t, <-done) }()
	addr := l.Addr().String()

	closedWithin := func(c net.Conn, d time.Duration) bool {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(d)))
		_, err := io.Copy(io.Discard, c)
		var ne net.Error
		return err == nil || !(errors.As(err, &ne) && ne.Timeout())
	}

	// half a header, then silence
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET /stats/requests HTTP/1.1\r\nHost: 127.0.0.1\r\n")
	require.NoError(t, err)
	assert.True(t, closedWithin(c, 10*time.Second), "a client that never ends its headers is cut off")

	// a full request, then idling
	c2, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c2.Close()
	_, err = io.WriteString(c2, "GET /ui/config HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c2), nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, closedWithin(c2, 10*time.Second), "an idle connection is closed")

	// headers beyond the limit
	req, err := http.NewRequest("GET", "http://"+addr+"/ui/config", nil)
	require.NoError(t, err)
	req.Header.Set("X-Big", strings.Repeat("a", MaxHeaderBytes+4096))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err = tr.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
}

// TestSlowReaderIsCutOff: a client that asks for a large answer and does
// not read it holds the connection only until the write timeout.
func TestSlowReaderIsCutOff(t *testing.T) {
	const size = 16 << 20
	lim := &serverLimits{readHeader: time.Second, read: time.Second, write: 300 * time.Millisecond, idle: time.Second}
	s, err := New(Options{Controller: newFake(), limits: lim, Report: func(w io.Writer) error {
		_, err := w.Write(make([]byte, size))
		return err
	}})
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	defer func() { cancel(); require.NoError(t, <-done) }()

	c, err := net.DialTCP("tcp", nil, l.Addr().(*net.TCPAddr))
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "GET /stats/report HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	require.NoError(t, err)
	// Read nothing until the server has given up on us: the write
	// timeout is 300 ms; 2 s is far past it.
	time.Sleep(2 * time.Second)
	// Then read for 3 s: without the cut, all 16 MiB arrive well within
	// that on loopback; with it, only what the kernel had buffered.
	require.NoError(t, c.SetReadDeadline(time.Now().Add(3*time.Second)))
	n, _ := io.Copy(io.Discard, c)
	assert.Less(t, n, int64(size), "the server stopped writing to a reader that did not read")
}
