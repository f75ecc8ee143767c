package transport

import (
	"container/list"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/peer"
)

// Defaults of the guard against connections that never authenticate.
const (
	// DefaultAuthTimeout is how long a connection may stay open before a
	// worker on it completes the handshake (token, TLS, Hello).
	DefaultAuthTimeout = 5 * time.Second
	// DefaultMaxUnauthenticated bounds the connections open at once that
	// have not completed a handshake.
	DefaultMaxUnauthenticated = 256
)

// guardListener keeps file descriptors from piling up before
// authentication. The token is checked per stream, so without this a
// connection that never opens a stream (or never finishes TLS) would hold
// a descriptor for ever: enough of them take the whole process past its
// descriptor limit. Every accepted connection is "pending" until a worker
// on it completes the handshake (Server.Connect calls authenticated); a
// pending connection is closed after the auth timeout, and when more than
// max are pending the oldest is closed. Closing the oldest rather than
// refusing the newest keeps a flood from locking honest workers out: a
// worker's handshake takes milliseconds, so it is rarely the oldest.
type guardListener struct {
	net.Listener
	timeout time.Duration
	max     int
	log     *zap.Logger

	mu      sync.Mutex
	pending list.List // of *guardConn, oldest first
	warned  bool

	closedEarly atomic.Int64 // pending connections closed by the guard
}

func newGuardListener(l net.Listener, timeout time.Duration, max int, log *zap.Logger) *guardListener {
	return &guardListener{Listener: l, timeout: timeout, max: max, log: log}
}

// Accept wraps the next connection and starts its auth clock.
func (l *guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	gc := &guardConn{Conn: c, l: l}
	gc.addr = &guardAddr{Addr: c.RemoteAddr(), c: gc}
	var evict *guardConn
	l.mu.Lock()
	if l.pending.Len() >= l.max {
		evict = l.pending.Front().Value.(*guardConn)
		l.removeLocked(evict)
	}
	gc.elem = l.pending.PushBack(gc)
	gc.timer = time.AfterFunc(l.timeout, gc.expire)
	l.mu.Unlock()
	if evict != nil {
		l.cut(evict, "too many connections that have not authenticated: closed the oldest")
	}
	return gc, nil
}

// Pending is the number of connections that have not authenticated yet.
func (l *guardListener) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pending.Len()
}

// removeLocked takes c off the pending list; false if it was not on it.
func (l *guardListener) removeLocked(c *guardConn) bool {
	if c.elem == nil {
		return false
	}
	l.pending.Remove(c.elem)
	c.elem = nil
	c.timer.Stop()
	return true
}

// cut closes a pending connection, with one warning per listener (the
// rest at debug level: a flood must not flood the log too).
func (l *guardListener) cut(c *guardConn, why string) {
	l.closedEarly.Add(1)
	_ = c.Conn.Close()
	l.mu.Lock()
	first := !l.warned
	l.warned = true
	l.mu.Unlock()
	lvl := zap.DebugLevel
	if first {
		lvl = zap.WarnLevel
	}
	l.log.Log(lvl, "closed a worker connection before authentication: "+why+" (further ones are logged at debug level)",
		zap.String("peer", c.addr.String()), zap.Duration("auth_timeout", l.timeout), zap.Int("max_unauthenticated", l.max))
}

// guardConn is an accepted connection on a guardListener.
type guardConn struct {
	net.Conn
	l     *guardListener
	addr  *guardAddr
	elem  *list.Element // on l.pending while unauthenticated (guarded by l.mu)
	timer *time.Timer
}

// RemoteAddr returns the peer's address, wrapped so that a gRPC handler
// finds this connection from its stream's peer (guardAddr).
func (c *guardConn) RemoteAddr() net.Addr { return c.addr }

func (c *guardConn) Close() error {
	c.l.mu.Lock()
	c.l.removeLocked(c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

func (c *guardConn) expire() {
	c.l.mu.Lock()
	was := c.l.removeLocked(c)
	c.l.mu.Unlock()
	if was {
		c.l.cut(c, "no worker handshake within the auth timeout")
	}
}

// authenticated ends the connection's auth clock: a worker on it passed
// the handshake, so it may stay as long as it likes.
func (c *guardConn) authenticated() {
	c.l.mu.Lock()
	c.l.removeLocked(c)
	c.l.mu.Unlock()
}

// guardAddr is the peer address gRPC reports for a guarded connection.
type guardAddr struct {
	net.Addr
	c *guardConn
}

// markAuthenticated tells the guard that the connection of a stream
// passed the handshake.
func markAuthenticated(ctx context.Context) {
	if p, ok := peer.FromContext(ctx); ok {
		if ga, ok := p.Addr.(*guardAddr); ok {
			ga.c.authenticated()
		}
	}
}
