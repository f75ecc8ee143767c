package user

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"slices"
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
	mu    sync.Mutex
	seen  []*http.Request // every request read, body consumed
	body  []string        // their bodies
}

// requests returns the requests the server has read so far.
func (s *scriptedServer) requests() ([]*http.Request, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen), slices.Clone(s.body)
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
		body, _ := io.ReadAll(req.Body)
		s.mu.Lock()
		s.seen, s.body = append(s.seen, req), append(s.body, string(body))
		s.mu.Unlock()
		switch req.URL.Path {
		case "/cookie": // sets a cookie for the host
			_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nSet-Cookie: sid=7\r\nContent-Length: 2\r\n\r\nok"))
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

// A repeated plain request is written from the bytes kept of the first
// one; any difference (method, path, host, a header, a body, a cookie)
// builds the request anew, so the target always sees what the call asked.
func TestRepeatedRequestsAreWrittenAsAsked(t *testing.T) {
	s := newScriptedServer(t)
	h := &HTTP{}
	_, err := h.bindHTTP(&Env{Host: "http://" + s.ln.Addr().String()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.start(ctx)
	defer h.close()

	base := "http://" + s.ln.Addr().String()
	calls := []func() *Response{
		func() *Response { return h.Get(ctx, "/a") },
		func() *Response { return h.Get(ctx, "/a") }, // from the kept bytes
		func() *Response { return h.Get(ctx, "/b") },
		func() *Response { return h.Head(ctx, "/b") },
		func() *Response { return h.Get(ctx, "/b", Header("X-A", "1")) },
		func() *Response { return h.Get(ctx, "/b") },
		func() *Response { return h.Post(ctx, "/b", Body([]byte("hi"))) },
		func() *Response { return h.Get(ctx, "/b", Name("named")) }, // a name is no header: kept bytes
		func() *Response { return h.Get(ctx, base+"/b?q=1") },
		func() *Response { return h.Get(ctx, "/cookie") },
		func() *Response { return h.Get(ctx, "/b") }, // now with the cookie
	}
	for i, call := range calls {
		require.NoError(t, call().Err(), "call %d", i)
	}
	seen, bodies := s.requests()
	require.Len(t, seen, len(calls))
	type view struct{ method, uri, xa, cookie, body string }
	var got []view
	for i, r := range seen {
		got = append(got, view{r.Method, r.RequestURI, r.Header.Get("X-A"), r.Header.Get("Cookie"), bodies[i]})
		assert.Equal(t, s.ln.Addr().String(), r.Host, "request %d", i)
		assert.Equal(t, userAgent, r.Header.Get("User-Agent"), "request %d", i)
	}
	assert.Equal(t, []view{
		{"GET", "/a", "", "", ""},
		{"GET", "/a", "", "", ""},
		{"GET", "/b", "", "", ""},
		{"HEAD", "/b", "", "", ""},
		{"GET", "/b", "1", "", ""},
		{"GET", "/b", "", "", ""},
		{"POST", "/b", "", "", "hi"},
		{"GET", "/b", "", "", ""},
		{"GET", "/b?q=1", "", "", ""},
		{"GET", "/cookie", "", "", ""},
		{"GET", "/b", "", "sid=7", ""},
	}, got)
	// The last plain request is the one kept: the calls with a cookie
	// were built anew each time.
	assert.True(t, strings.HasPrefix(string(h.c.wire.bytes), "GET /cookie HTTP/1.1\r\n"), "%q", h.c.wire.bytes)
}
