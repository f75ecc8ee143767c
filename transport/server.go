package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/golocust/golocust/proto/locustpb"
)

// Defaults shared by server and client.
const (
	DefaultBindHost         = "127.0.0.1"
	DefaultPort             = 5557
	DefaultMaxMessageSize   = 16 << 20
	DefaultMaxWorkers       = 10_000
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultShutdownGrace bounds how long Serve waits for streams to end
	// after its context is cancelled before it cuts them.
	DefaultShutdownGrace = 5 * time.Second
)

// ServerOptions configure the master's listener. The zero value serves
// plaintext on 127.0.0.1:5557 without a token.
type ServerOptions struct {
	BindHost string       // default 127.0.0.1 (loopback only; 0.0.0.0 must be asked for)
	BindPort int          // default 5557
	Listener net.Listener // if set, used instead of BindHost/BindPort (tests: bufconn or port 0)

	// TLS, if set, serves TLS. Set ClientCAs and ClientAuth =
	// tls.RequireAndVerifyClientCert for mutual TLS (ServerTLSConfig does).
	TLS *tls.Config
	// Token, if set, must be presented by every worker ("authorization:
	// Bearer <token>" metadata). It is checked in constant time before any
	// message is read, and never logged.
	Token string

	MaxMessageSize   int           // largest message received or sent; default 16 MiB (larger: ResourceExhausted)
	MaxWorkers       int           // connected workers at most; default 10,000 (more: ResourceExhausted)
	HandshakeTimeout time.Duration // time for a worker to send Hello; default 10 s
	// AuthTimeout closes a connection on which no worker completed the
	// handshake (token, TLS, Hello) in this time; default 5 s.
	AuthTimeout time.Duration
	// MaxUnauthenticated bounds the connections open at once that have
	// not completed a handshake; past it the oldest is closed. Default 256.
	MaxUnauthenticated int
	ShutdownGrace      time.Duration // default 5 s
	// TakeoverAfter is how long a worker's stream must have been silent
	// before a hello with the same worker id may replace it; until then
	// such a hello is refused (AlreadyExists). Default 3 s.
	TakeoverAfter time.Duration
	Version       string // protocol version; default locustpb.Version
	Limits        locustpb.Limits
	Logger        *zap.Logger
	// OnRefused, when set, hears of every worker refused (wrong token,
	// worker cap, version, id in use): the worker's id when known, its
	// address and why. It is called from gRPC handlers: keep it short.
	OnRefused func(workerID, peer, reason string)
}

// Server is the master's end: it accepts worker streams, checks the token,
// the worker cap and the Hello, acks each worker with an index, and hands
// the stream to the runner as a Session.
type Server struct {
	locustpb.UnimplementedClusterServer

	o      ServerOptions
	log    *zap.Logger
	lis    net.Listener
	guard  *guardListener // lis: closes connections that never authenticate
	gs     *grpc.Server
	accept chan *Session

	stopping chan struct{} // closed when Serve begins shutting down
	stopOnce sync.Once

	mu       sync.Mutex
	slots    int                 // reserved + registered streams (worker cap)
	byIndex  map[int]*Session    // connected sessions by worker index
	byID     map[string]*Session // connected sessions by worker id
	lastIdx  map[string]int      // last index of every worker id seen (bounded by cleanup)
	certOf   map[string]string   // under mutual TLS, the certificate name each worker id is bound to (bounded by cleanup)
	serving  bool
	handlers atomic.Int64 // handler invocations, i.e. streams that passed the interceptors
	rejected atomic.Int64 // streams refused by the token check
}

// NewServer binds the listener (unless one is given) and prepares the gRPC
// server. Nothing is served until Serve.
func NewServer(o ServerOptions) (*Server, error) {
	if o.BindHost == "" {
		o.BindHost = DefaultBindHost
	}
	if o.BindPort == 0 {
		o.BindPort = DefaultPort
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.MaxWorkers <= 0 {
		o.MaxWorkers = DefaultMaxWorkers
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = DefaultShutdownGrace
	}
	if o.TakeoverAfter <= 0 {
		o.TakeoverAfter = DefaultTakeoverAfter
	}
	if o.AuthTimeout <= 0 {
		o.AuthTimeout = DefaultAuthTimeout
	}
	if o.MaxUnauthenticated <= 0 {
		o.MaxUnauthenticated = DefaultMaxUnauthenticated
	}
	if o.Version == "" {
		o.Version = locustpb.Version
	}
	if _, err := locustpb.MajorVersion(o.Version); err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = zap.NewNop()
	}
	s := &Server{
		o: o, log: log, accept: make(chan *Session), stopping: make(chan struct{}),
		byIndex: map[int]*Session{}, byID: map[string]*Session{}, lastIdx: map[string]int{}, certOf: map[string]string{},
	}

	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(o.MaxMessageSize),
		grpc.MaxSendMsgSize(o.MaxMessageSize),
		grpc.MaxConcurrentStreams(8), // a worker needs one stream; a few more cover a reconnect overlap
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.ConnectionTimeout(o.HandshakeTimeout),
	}
	if o.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(o.TLS)))
	}
	if o.Token != "" {
		chk := newTokenChecker(o.Token)
		opts = append(opts, grpc.StreamInterceptor(chk.streamInterceptor(func(ctx context.Context) {
			s.rejected.Add(1)
			log.Warn("refused a worker stream: missing or wrong worker token", zap.String("peer", peerAddr(ctx)))
			s.refused("", peerAddr(ctx), "missing or wrong worker token")
		})))
	}
	s.gs = grpc.NewServer(opts...)
	locustpb.RegisterClusterServer(s.gs, s)

	lis := o.Listener
	if lis == nil {
		addr := net.JoinHostPort(o.BindHost, strconv.Itoa(o.BindPort))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("master: listen on %s: %w (is another master running? pick another --master-bind-port)", addr, err)
		}
		lis = l
		if !isLoopback(addr) && o.Token == "" && o.TLS == nil {
			log.Warn("the master listens beyond loopback with neither TLS nor a worker token: anyone who reaches it can join as a worker",
				zap.String("addr", addr))
		}
	}
	s.guard = newGuardListener(lis, o.AuthTimeout, o.MaxUnauthenticated, log)
	s.lis = s.guard
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.lis.Addr() }

// Serve serves until ctx is cancelled, then tells every connected worker
// goodbye, ends their streams, and returns nil once everything has stopped
// (after at most ShutdownGrace, then streams are cut). It returns an error
// if serving fails. Serve may be called once.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	if s.serving {
		s.mu.Unlock()
		return errors.New("transport: Serve called twice, or after Close")
	}
	s.serving = true
	s.mu.Unlock()

	errc := make(chan error, 1)
	go func() { errc <- s.gs.Serve(s.lis) }()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
		errc = nil
	}
	s.stopOnce.Do(func() { close(s.stopping) })
	for _, sess := range s.Sessions() {
		sess.Close(codes.Unavailable, "master shutting down")
	}
	done := make(chan struct{})
	go func() { s.gs.GracefulStop(); close(done) }()
	t := time.NewTimer(s.o.ShutdownGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.gs.Stop()
		<-done
	}
	if errc != nil {
		if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			serveErr = err
		}
	}
	return serveErr
}

// Close releases the listener of a server whose Serve was never called
// (after a setup error, say). A serving server stops with Serve's context.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serving {
		return nil
	}
	s.serving = true // Serve may no longer be called
	s.stopOnce.Do(func() { close(s.stopping) })
	return s.lis.Close()
}

// Accept waits for the next worker that completed the handshake.
func (s *Server) Accept(ctx context.Context) (*Session, error) {
	select {
	case sess := <-s.accept:
		return sess, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.stopping:
		return nil, ErrServerClosed
	}
}

// Sessions returns the connected workers, ordered by index.
func (s *Server) Sessions() []*Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Session, 0, len(s.byIndex))
	for i := 0; len(out) < len(s.byIndex); i++ {
		if sess, ok := s.byIndex[i]; ok {
			out = append(out, sess)
		}
	}
	return out
}

func (s *Server) refused(id, peer, reason string) {
	if s.o.OnRefused != nil {
		s.o.OnRefused(id, peer, reason)
	}
}

// Connect implements locustpb.ClusterServer; gRPC calls it for every worker
// stream that passed the interceptors. Not for direct use.
func (s *Server) Connect(stream grpc.BidiStreamingServer[locustpb.WorkerMessage, locustpb.MasterMessage]) error {
	s.handlers.Add(1)
	ctx := stream.Context()
	if !s.reserve() {
		s.log.Warn("refused a worker: worker cap reached", zap.Int("max_workers", s.o.MaxWorkers), zap.String("peer", peerAddr(ctx)))
		s.refused("", peerAddr(ctx), "worker cap reached")
		return status.Errorf(codes.ResourceExhausted, "the master already has its maximum of %d workers", s.o.MaxWorkers)
	}
	registered := false
	defer func() {
		if !registered {
			s.release()
		}
	}()

	hello, err := s.readHello(stream)
	if err != nil {
		return err
	}
	if err := locustpb.CheckVersion(s.o.Version, hello.GetVersion()); err != nil {
		s.log.Error("refused a worker with an incompatible version", zap.String("worker", hello.GetWorkerId()),
			zap.String("worker_version", hello.GetVersion()), zap.String("master_version", s.o.Version), zap.Error(err))
		s.refused(hello.GetWorkerId(), peerAddr(ctx), err.Error())
		return status.Error(codes.FailedPrecondition, err.Error())
	}

	sctx, cancel := context.WithCancel(ctx)
	sess := &Session{srv: s, stream: stream, hello: hello, ctx: sctx, cancel: cancel, peer: peerAddr(ctx), tlsName: peerCertName(ctx),
		sendSem: make(chan struct{}, 1), lastWait: lastMessageWait}
	sess.heard.Store(time.Now().UnixNano())
	replaced, err := s.register(sess)
	if err != nil {
		s.log.Warn("refused a worker", zap.String("worker", hello.GetWorkerId()), zap.String("peer", sess.peer), zap.Error(err))
		s.refused(hello.GetWorkerId(), sess.peer, err.Error())
		cancel()
		return err
	}
	registered = true
	defer s.unregister(sess)
	if replaced != nil {
		s.log.Warn("a worker came back while its old stream was silent: replacing that stream", zap.String("worker", sess.ID()),
			zap.String("old_peer", replaced.peer), zap.String("peer", sess.peer))
		replaced.Close(codes.Aborted, "replaced by a new stream of the same worker")
	}
	if err := sess.Send(&locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Ack{Ack: &locustpb.Ack{
		WorkerIndex: int32(sess.index), WorkerCount: int32(sess.count), Version: s.o.Version,
	}}}); err != nil {
		return err
	}
	markAuthenticated(ctx)
	s.log.Info("worker connected", zap.String("worker", sess.ID()), zap.Int("index", sess.index), zap.String("peer", sess.peer))

	select {
	case s.accept <- sess:
	case <-sctx.Done():
	case <-s.stopping:
		sess.Close(codes.Unavailable, "master shutting down")
	}
	<-sctx.Done()
	sess.fence()
	return sess.status()
}

func (s *Server) readHello(stream grpc.BidiStreamingServer[locustpb.WorkerMessage, locustpb.MasterMessage]) (*locustpb.Hello, error) {
	type result struct {
		m   *locustpb.WorkerMessage
		err error
	}
	// The receive ends when the handler returns (gRPC cancels the stream),
	// so this goroutine never outlives the stream.
	rc := make(chan result, 1)
	go func() {
		m, err := stream.Recv()
		rc <- result{m, err}
	}()
	t := time.NewTimer(s.o.HandshakeTimeout)
	defer t.Stop()
	var r result
	select {
	case r = <-rc:
	case <-t.C:
		return nil, status.Errorf(codes.DeadlineExceeded, "no hello within %v", s.o.HandshakeTimeout)
	case <-s.stopping:
		return nil, status.Error(codes.Unavailable, "master shutting down")
	}
	if r.err != nil {
		if errors.Is(r.err, io.EOF) {
			return nil, status.Error(codes.Canceled, "worker closed the stream before hello")
		}
		return nil, r.err
	}
	if err := locustpb.ValidateWorkerMessage(r.m, s.o.Limits); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "bad hello: %v", err)
	}
	h := r.m.GetHello()
	if h == nil {
		return nil, status.Error(codes.InvalidArgument, "the first message must be hello")
	}
	return h, nil
}

func (s *Server) reserve() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.slots >= s.o.MaxWorkers {
		return false
	}
	s.slots++
	return true
}

func (s *Server) release() {
	s.mu.Lock()
	s.slots--
	s.mu.Unlock()
}

// register gives the session an index: its previous one if free, else the
// lowest free one, so indexes stay 0..W-1. An older, silent session of the
// same worker id is returned to be closed (its index passes to the new
// one); a live one makes register refuse (see claim).
func (s *Server) register(sess *Session) (replaced *Session, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := sess.ID()
	old, err := s.claim(sess, time.Now())
	if err != nil {
		return nil, err
	}
	s.bindCert(sess)
	idx := -1
	if old != nil {
		replaced = old
		idx = old.index
		old.unlisted = true
		delete(s.byIndex, idx)
		s.slots-- // the old stream's slot passes to the new one
	} else if prev, ok := s.lastIdx[id]; ok {
		if _, taken := s.byIndex[prev]; !taken {
			idx = prev
		}
	}
	if idx < 0 {
		for idx = 0; ; idx++ {
			if _, taken := s.byIndex[idx]; !taken {
				break
			}
		}
	}
	sess.index = idx
	s.byIndex[idx] = sess
	s.byID[id] = sess
	if len(s.lastIdx) > 4*s.o.MaxWorkers {
		clear(s.lastIdx)
	}
	s.lastIdx[id] = idx
	sess.count = len(s.byIndex)
	return replaced, nil
}

func (s *Server) unregister(sess *Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess.unlisted {
		return
	}
	delete(s.byIndex, sess.index)
	if s.byID[sess.ID()] == sess {
		delete(s.byID, sess.ID())
	}
	s.slots--
}

func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

func peerCertName(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return ""
	}
	if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.PeerCertificates) > 0 {
		return ti.State.PeerCertificates[0].Subject.CommonName
	}
	return ""
}

// Session is one worker's stream on the master, after the handshake.
// Send may be called from several goroutines; Recv from one at a time.
type Session struct {
	srv     *Server
	stream  grpc.BidiStreamingServer[locustpb.WorkerMessage, locustpb.MasterMessage]
	hello   *locustpb.Hello
	ctx     context.Context
	cancel  context.CancelFunc
	peer    string
	tlsName string
	index   int
	count   int

	unlisted bool         // guarded by srv.mu: replaced by a newer session of the same id
	heard    atomic.Int64 // unix nanos of the handshake or the last message received

	// sendSem (capacity 1) serializes Send. After the session ends, fence
	// takes it for good, so no Send reaches the stream once the handler has
	// returned.
	sendSem   chan struct{}
	lastWait  time.Duration // lastMessageWait; tests lengthen it
	closeOnce sync.Once
	closeSt   *status.Status
}

// ID is the worker id from its Hello.
func (s *Session) ID() string { return s.hello.GetWorkerId() }

// Hello is the worker's Hello message (do not modify).
func (s *Session) Hello() *locustpb.Hello { return s.hello }

// Index is the worker index sent in the Ack (0..W-1 among connected workers).
func (s *Session) Index() int { return s.index }

// WorkerCount is the number of connected workers when this one was acked.
func (s *Session) WorkerCount() int { return s.count }

// Peer is the worker's network address.
func (s *Session) Peer() string { return s.peer }

// CertName is the common name of the worker's TLS client certificate, or "".
func (s *Session) CertName() string { return s.tlsName }

// Context is cancelled when the session ends.
func (s *Session) Context() context.Context { return s.ctx }

// Done is closed when the session ends.
func (s *Session) Done() <-chan struct{} { return s.ctx.Done() }

// Send sends one message to the worker.
func (s *Session) Send(m *locustpb.MasterMessage) error {
	select {
	case s.sendSem <- struct{}{}:
	case <-s.ctx.Done():
		return ErrClosed
	}
	defer func() { <-s.sendSem }()
	if s.ctx.Err() != nil {
		return ErrClosed
	}
	if err := s.stream.Send(m); err != nil {
		return fmt.Errorf("send to worker %s: %w", s.ID(), err)
	}
	return nil
}

// Recv returns the worker's next message. io.EOF means the worker closed
// its side (Close the session). An error wrapping ErrBadMessage means it sent something invalid:
// a message that decoded but failed validation leaves the session open (tell
// the worker to Reconnect, or Close it); one that failed to decode or was
// oversized has already ended the stream (status Internal or
// ResourceExhausted, also reported by status.Code). Any other error means
// the stream is gone.
func (s *Session) Recv() (*locustpb.WorkerMessage, error) {
	if s.ctx.Err() != nil {
		return nil, ErrClosed
	}
	m, err := s.stream.Recv()
	if err == nil {
		s.heard.Store(time.Now().UnixNano())
	}
	if err != nil {
		switch status.Code(err) {
		case codes.Internal, codes.ResourceExhausted:
			// Undecodable or oversized: gRPC has already ended the stream.
			return nil, fmt.Errorf("%w: worker %s: %w", ErrBadMessage, s.ID(), err)
		}
		if s.ctx.Err() != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %w", ErrClosed, err)
		}
		return nil, err
	}
	if err := locustpb.ValidateWorkerMessage(m, s.srv.o.Limits); err != nil {
		return m, fmt.Errorf("%w: worker %s: %w", ErrBadMessage, s.ID(), err)
	}
	if m.GetHello() != nil {
		return m, fmt.Errorf("%w: worker %s: hello after the handshake", ErrBadMessage, s.ID())
	}
	return m, nil
}

// Reconnect tells the worker to register again and ends this stream.
func (s *Session) Reconnect(reason string) {
	_ = s.trySend(&locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Reconnect{Reconnect: &locustpb.Reconnect{Reason: reason}}})
	s.Close(codes.Aborted, "reconnect: "+reason)
}

// Close ends the stream. With codes.OK the worker gets a Goodbye and a clean
// end of stream; with another code it gets that status. Safe to call twice.
func (s *Session) Close(code codes.Code, reason string) {
	s.closeOnce.Do(func() {
		if code == codes.OK {
			// Best effort: wait at most lastMessageWait behind a Send in progress.
			_ = s.trySend(&locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Goodbye{Goodbye: &locustpb.Goodbye{Reason: reason}}})
			s.closeSt = nil
		} else {
			s.closeSt = status.New(code, reason)
		}
		s.cancel()
	})
}

func (s *Session) status() error {
	var st *status.Status
	s.closeOnce.Do(func() { s.cancel() }) // stream ended by the peer
	st = s.closeSt
	if st == nil {
		return nil
	}
	return st.Err()
}

// lastMessageWait bounds how long the last message of a session (Reconnect,
// Goodbye) waits for a Send already in progress, such as a spawn to the same
// worker. Dropping it at once lost the Reconnect whenever another goroutine
// happened to be sending; waiting without bound would hang Close behind a
// Send stuck on flow control (a worker that stopped reading).
const lastMessageWait = time.Second

// trySend sends m unless the session has ended, waiting at most
// lastMessageWait for a Send in progress.
func (s *Session) trySend(m *locustpb.MasterMessage) error {
	t := time.NewTimer(s.lastWait)
	defer t.Stop()
	select {
	case s.sendSem <- struct{}{}:
	case <-s.ctx.Done():
		return ErrClosed
	case <-t.C:
		return ErrClosed // a Send is stuck (maybe on flow control)
	}
	defer func() { <-s.sendSem }()
	if s.ctx.Err() != nil {
		return ErrClosed
	}
	return s.stream.Send(m)
}

// fence runs when the session has ended, before the handler returns: it
// waits (briefly) for a Send in progress and then blocks all further ones.
// A Send stuck on flow control (a worker that stopped reading) is not waited
// for: the handler's return aborts the stream, which unblocks it.
func (s *Session) fence() {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case s.sendSem <- struct{}{}: // held for good
	case <-t.C:
	}
}
