package user

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// connPair dials a fresh TCP connection to a listener on 127.0.0.1 and
// returns both ends.
func connPair(t *testing.T) (client *net.TCPConn, server *net.TCPConn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	s, err := ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(); _ = s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// rawEdges runs every edge of reading and writing a socket through conn
// (the raw path or net.Conn's own) and returns the errors met, with the
// connection's addresses replaced, so that both paths can be compared.
func rawEdges(t *testing.T, wrap func(*net.TCPConn) io.ReadWriter) map[string]string {
	t.Helper()
	got := map[string]string{}
	text := func(c *net.TCPConn, err error) string {
		if err == nil {
			return "<nil>"
		}
		s := strings.ReplaceAll(err.Error(), c.LocalAddr().String(), "LOCAL")
		return strings.ReplaceAll(s, c.RemoteAddr().String(), "REMOTE")
	}

	// A read that waits for the peer (parked in the poller), then reads.
	c, s := connPair(t)
	rw := wrap(c)
	go func() { time.Sleep(10 * time.Millisecond); _, _ = s.Write([]byte("hello")) }()
	buf := make([]byte, 16)
	n, err := rw.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(buf[:n]))

	// A read past its deadline.
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Millisecond)))
	_, err = rw.Read(buf)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())
	got["deadline"] = text(c, err)

	// A parked read whose deadline another goroutine brings forward (a
	// hard stop does that).
	require.NoError(t, c.SetDeadline(time.Time{}))
	go func() { time.Sleep(10 * time.Millisecond); _ = c.SetDeadline(time.Now()) }()
	_, err = rw.Read(buf)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	got["deadline moved"] = text(c, err)
	require.NoError(t, c.SetDeadline(time.Time{}))

	// The peer closes: io.EOF, bare.
	require.NoError(t, s.Close())
	_, err = rw.Read(buf)
	assert.Same(t, io.EOF, err)
	got["eof"] = text(c, err)

	// Writing to a closed peer fails, sooner or later, with a reset or a
	// broken pipe.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, err = rw.Write([]byte("x")); err != nil {
			break
		}
	}
	require.Error(t, err)
	assert.True(t, errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET), "%v", err)
	var oe *net.OpError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "write", oe.Op)

	// The peer resets: the read says so.
	c, s = connPair(t)
	rw = wrap(c)
	require.NoError(t, s.SetLinger(0))
	require.NoError(t, s.Close())
	_, err = rw.Read(buf)
	assert.ErrorIs(t, err, syscall.ECONNRESET)
	got["reset"] = text(c, err)

	// A read after the connection was closed here.
	require.NoError(t, c.Close())
	_, err = rw.Read(buf)
	assert.ErrorIs(t, err, net.ErrClosed)
	got["closed"] = text(c, err)

	// A write far larger than the socket's buffers: written in parts,
	// waiting for room in between, and read whole and in order.
	c, s = connPair(t)
	rw = wrap(c)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	sum := make(chan [32]byte, 1)
	go func() {
		h := sha256.New()
		_, _ = io.CopyN(h, s, int64(len(big)))
		sum <- [32]byte(h.Sum(nil))
	}()
	n, err = rw.Write(big)
	require.NoError(t, err)
	assert.Equal(t, len(big), n)
	assert.Equal(t, sha256.Sum256(big), <-sum)

	// Empty reads and writes do nothing.
	n, err = rw.Read(nil)
	assert.Zero(t, n)
	require.NoError(t, err)
	n, err = rw.Write(nil)
	assert.Zero(t, n)
	require.NoError(t, err)
	return got
}

// The raw socket path behaves as net.Conn's Read and Write do, errors
// and their texts included, on every edge.
func TestRawIOBehavesAsNetConn(t *testing.T) {
	raw := rawEdges(t, func(c *net.TCPConn) io.ReadWriter {
		r := rawIOOf(c)
		require.NotNil(t, r)
		return r
	})
	plain := rawEdges(t, func(c *net.TCPConn) io.ReadWriter { return c })
	assert.Equal(t, plain, raw)
	assert.Contains(t, raw["deadline"], "read tcp LOCAL->REMOTE: i/o timeout")
	assert.Contains(t, raw["reset"], "read tcp LOCAL->REMOTE: read: connection reset by peer")
	assert.Equal(t, "EOF", raw["eof"])
}

// A connection that is not TCP keeps net.Conn's own Read and Write.
func TestRawIOOnlyForTCP(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	assert.Nil(t, rawIOOf(a))
}
