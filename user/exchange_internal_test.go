package user

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
)

// scriptedServer answers each request on 127.0.0.1 as its path says, by
// hand, so that a test controls the bytes and when the connection ends.
type scriptedServer struct {
	ln    net.Listener
	conns atomic.Int32
	wg    sync.WaitGroup
}

const okResponse = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

func newScriptedServer(t *testing.T) *scriptedServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &scriptedServer{ln: ln}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			s.wg.Go(func() { s.serve(c) })
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *scriptedServer) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		switch req.URL.Path {
		case "/close-after": // answer, then close while the client is idle
			_, _ = c.Write([]byte(okResponse))
			return
		case "/extra": // answer, then bytes that belong to no request
			_, _ = c.Write([]byte(okResponse + "garbage"))
		case "/split": // the answer in two parts, the second a little later
			_, _ = c.Write([]byte(okResponse[:20]))
			time.Sleep(20 * time.Millisecond)
			_, _ = c.Write([]byte(okResponse[20:]))
		case "/big": // a body far larger than one read
			body := strings.Repeat("x", 100_000)
			_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + body))
		case "/silent": // reads the request and never answers
			_, _ = br.ReadByte() // blocks until the client gives up
			return
		default:
			_, _ = c.Write([]byte(okResponse))
		}
	}
}

// Every edge of an exchange on a kept-alive connection: a keep-alive
// connection the server closed while idle is redialled once, bytes after
// the response keep the connection from reuse, a split answer and a large
// body are read whole, and a silent server times out.
func TestExchangeEdges(t *testing.T) {
	s := newScriptedServer(t)
	reg := stats.NewRegistry(stats.Options{})
	h := &HTTP{}
	_, err := h.bindHTTP(&Env{Host: "http://" + s.ln.Addr().String(), Stats: reg})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.start(ctx)
	defer h.close()

	get := func(path string, opts ...Option) *Response { return h.Get(ctx, path, opts...) }

	r := get("/close-after")
	require.NoError(t, r.Err())
	assert.Equal(t, "ok", string(r.Body))
	// The server closes it now or soon: either the write or the read of
	// the next request finds out, and the request goes on a new one.
	require.NoError(t, get("/").Err(), "a connection closed while idle is redialled")
	assert.EqualValues(t, 2, s.conns.Load())

	require.NoError(t, get("/extra").Err())
	require.NoError(t, get("/").Err(), "after extra bytes the next request takes a new connection")
	assert.EqualValues(t, 3, s.conns.Load())

	r = get("/split")
	require.NoError(t, r.Err())
	assert.Equal(t, "ok", string(r.Body))

	r = get("/big")
	require.NoError(t, r.Err())
	assert.Len(t, r.Body, 100_000)

	err = get("/silent", Timeout(100*time.Millisecond)).Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "timeout after 100ms")
	require.NoError(t, get("/").Err(), "a fresh connection after the timeout")

	snap := reg.Snapshot()
	assert.EqualValues(t, 8, snap.Total.NumRequests)
	assert.EqualValues(t, 1, snap.Total.NumFailures)
}
