package transport

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/golocust/golocust/proto/locustpb"
)

// Client defaults. Locust's worker waits 5 s for an ack and tries 60 times;
// the backoff here grows from 250 ms to 5 s.
const (
	DefaultRetries          = 60
	DefaultBackoffBase      = 250 * time.Millisecond
	DefaultBackoffMax       = 5 * time.Second
	DefaultClientHandshake  = 5 * time.Second
	defaultMasterAddressFmt = "127.0.0.1:%d"
)

// ClientOptions configure a worker's connection to its master.
type ClientOptions struct {
	Address string // master "host:port"; default 127.0.0.1:5557

	// TLS, if set, dials with TLS: RootCAs verifies the master, Certificates
	// is presented for mutual TLS (ClientTLSConfig builds one from files).
	TLS *tls.Config
	// Token is sent as "authorization: Bearer <token>". Over plaintext it is
	// only sent to a loopback address (or a custom Dialer) unless
	// InsecureToken is set; use TLS across machines.
	Token         string
	InsecureToken bool

	// Hello is sent on every connect. Zero fields are filled in: WorkerId
	// (<hostname>_<random hex>, fixed for this Client), Version
	// (locustpb.Version), Hostname, Pid, CpuCount.
	Hello *locustpb.Hello

	Retries          int           // connection attempts after the first; default 60; negative = none
	BackoffBase      time.Duration // first wait between attempts; default 250 ms, doubling
	BackoffMax       time.Duration // default 5 s
	HandshakeTimeout time.Duration // wait for the Ack per attempt; default 5 s
	MaxMessageSize   int           // default 16 MiB

	// Dialer replaces the network dialer (tests: bufconn).
	Dialer func(ctx context.Context, addr string) (net.Conn, error)
	Limits locustpb.Limits
	Logger *zap.Logger
}

// Client is a worker's connection to its master. It keeps one gRPC
// connection; Connect opens a stream on it (again after a reconnect).
type Client struct {
	o     ClientOptions
	log   *zap.Logger
	hello *locustpb.Hello
	cc    *grpc.ClientConn
	rpc   locustpb.ClusterClient
}

// NewClient validates the options and prepares the connection; it does no
// network I/O (Connect does).
func NewClient(o ClientOptions) (*Client, error) {
	if o.Address == "" {
		o.Address = fmt.Sprintf(defaultMasterAddressFmt, DefaultPort)
	}
	if o.Retries == 0 {
		o.Retries = DefaultRetries
	} else if o.Retries < 0 {
		o.Retries = 0
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = DefaultBackoffBase
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = DefaultBackoffMax
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultClientHandshake
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	log := o.Logger
	if log == nil {
		log = zap.NewNop()
	}
	hello, err := fillHello(o.Hello)
	if err != nil {
		return nil, err
	}
	if err := locustpb.ValidateWorkerMessage(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Hello{Hello: hello}}, o.Limits); err != nil {
		return nil, fmt.Errorf("worker hello: %w", err)
	}

	dopts := []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(o.MaxMessageSize), grpc.MaxCallSendMsgSize(o.MaxMessageSize)),
		// Within the master's enforcement policy (10 s minimum).
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: o.BackoffBase, Multiplier: 2, Jitter: 0.2, MaxDelay: o.BackoffMax},
			MinConnectTimeout: o.HandshakeTimeout,
		}),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	}
	if o.TLS != nil {
		dopts = append(dopts, grpc.WithTransportCredentials(credentials.NewTLS(o.TLS)))
	} else {
		dopts = append(dopts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if o.Token != "" {
		if o.TLS == nil && o.Dialer == nil && !o.InsecureToken && !isLoopback(o.Address) {
			return nil, fmt.Errorf("worker token over plaintext to %s: enable cluster TLS (--cluster-tls-ca) so the token cannot be sniffed", o.Address)
		}
		dopts = append(dopts, grpc.WithPerRPCCredentials(tokenCreds{token: o.Token, requireTLS: false}))
	}
	if o.Dialer != nil {
		dopts = append(dopts, grpc.WithContextDialer(o.Dialer))
	}
	cc, err := grpc.NewClient("passthrough:///"+o.Address, dopts...)
	if err != nil {
		return nil, fmt.Errorf("master address %s: %w", o.Address, err)
	}
	return &Client{o: o, log: log, hello: hello, cc: cc, rpc: locustpb.NewClusterClient(cc)}, nil
}

func fillHello(h *locustpb.Hello) (*locustpb.Hello, error) {
	out := &locustpb.Hello{}
	if h != nil {
		out.WorkerId, out.Version, out.Hostname, out.Pid, out.CpuCount = h.GetWorkerId(), h.GetVersion(), h.GetHostname(), h.GetPid(), h.GetCpuCount()
	}
	if out.Hostname == "" {
		out.Hostname, _ = os.Hostname()
		if out.Hostname == "" {
			out.Hostname = "worker"
		}
	}
	if out.WorkerId == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		out.WorkerId = strings.ReplaceAll(out.Hostname, "_", "-") + "_" + hex.EncodeToString(b[:])
	}
	if out.Version == "" {
		out.Version = locustpb.Version
	}
	if out.Pid == 0 {
		out.Pid = int64(os.Getpid())
	}
	if out.CpuCount == 0 {
		out.CpuCount = int32(runtime.NumCPU())
	}
	return out, nil
}

// ID is the worker id this client sends in its Hello.
func (c *Client) ID() string { return c.hello.GetWorkerId() }

// Close closes the connection (and with it any open stream).
func (c *Client) Close() error { return c.cc.Close() }

// Connect opens a stream, sends Hello and waits for the Ack, retrying
// (exponential backoff) up to Retries times while the master is unreachable
// or full. A wrong token, an incompatible version or a refused certificate
// is not retried. The stream lives until ctx is cancelled or it is closed.
func (c *Client) Connect(ctx context.Context) (*Stream, error) {
	backoff := c.o.BackoffBase
	var last error
	for attempt := 0; ; attempt++ {
		st, err := c.connectOnce(ctx)
		if err == nil {
			return st, nil
		}
		err = c.explainPlaintextToTLS(ctx, err)
		last = err
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connect to master %s: %w", c.o.Address, ctx.Err())
		}
		if !retryable(err) {
			return nil, fmt.Errorf("connect to master %s: %w", c.o.Address, err)
		}
		if attempt >= c.o.Retries {
			break
		}
		lvl := zap.DebugLevel
		if attempt >= 5 {
			lvl = zap.InfoLevel
		}
		if status.Code(err) == codes.AlreadyExists && attempt >= 3 {
			// Longer than a lost stream takes to free the id: most likely
			// two workers share an id (ClientOptions.Hello.WorkerId set alike).
			lvl = zap.WarnLevel
		}
		c.log.Log(lvl, "failed to connect to master, retrying", zap.String("master", c.o.Address),
			zap.Int("attempt", attempt+1), zap.Int("of", c.o.Retries+1), zap.Error(err))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("connect to master %s: %w", c.o.Address, ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, c.o.BackoffMax)
	}
	return nil, fmt.Errorf("failed to connect to master %s after %d attempts: %w", c.o.Address, c.o.Retries+1, last)
}

func retryable(err error) bool {
	var ve *Error
	if errors.As(err, &ve) && ve.Code == codes.FailedPrecondition {
		return false
	}
	switch status.Code(err) {
	// AlreadyExists: this worker's id still has a live stream on the master,
	// maybe this worker's own from before a connection died unnoticed; the
	// master lets the id go once that stream has been silent a few seconds.
	case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded, codes.Aborted, codes.Canceled, codes.AlreadyExists:
		// A refused client certificate shows as Unavailable with a TLS alert.
		s := err.Error()
		return !strings.Contains(s, "tls: ") && !strings.Contains(s, "x509: ")
	default:
		return false
	}
}

func (c *Client) connectOnce(ctx context.Context) (*Stream, error) {
	sctx, cancel := context.WithCancel(ctx)
	stream, err := c.rpc.Connect(sctx)
	if err != nil {
		cancel()
		return nil, err
	}
	// Bound the handshake: cancelling the stream unblocks Recv.
	timedOut := false
	var tmu sync.Mutex
	timer := time.AfterFunc(c.o.HandshakeTimeout, func() {
		tmu.Lock()
		timedOut = true
		tmu.Unlock()
		cancel()
	})
	fail := func(err error) (*Stream, error) {
		timer.Stop()
		cancel()
		tmu.Lock()
		defer tmu.Unlock()
		if timedOut && ctx.Err() == nil {
			return nil, status.Errorf(codes.DeadlineExceeded, "no ack from the master within %v", c.o.HandshakeTimeout)
		}
		return nil, err
	}
	if err := stream.Send(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Hello{Hello: c.hello}}); err != nil {
		if errors.Is(err, io.EOF) {
			_, err = stream.Recv() // the real status
		}
		return fail(err)
	}
	m, err := stream.Recv()
	if err != nil {
		return fail(err)
	}
	ack := m.GetAck()
	if ack == nil {
		return fail(status.Errorf(codes.InvalidArgument, "master answered hello with %T, not an ack", m.GetKind()))
	}
	if err := locustpb.CheckVersion(c.hello.GetVersion(), ack.GetVersion()); err != nil {
		c.log.Error("refusing a master with an incompatible version", zap.String("master_version", ack.GetVersion()),
			zap.String("worker_version", c.hello.GetVersion()))
		_ = stream.Send(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Goodbye{Goodbye: &locustpb.Goodbye{Reason: err.Error()}}})
		return fail(codeErr(codes.FailedPrecondition, err))
	}
	if err := locustpb.ValidateMasterMessage(m, c.o.Limits); err != nil {
		return fail(status.Errorf(codes.InvalidArgument, "bad ack: %v", err))
	}
	if !timer.Stop() {
		return fail(status.Errorf(codes.DeadlineExceeded, "no ack from the master within %v", c.o.HandshakeTimeout))
	}
	c.log.Info("connected to master", zap.String("master", c.o.Address), zap.Int32("index", ack.GetWorkerIndex()))
	return &Stream{c: c, stream: stream, ack: ack, ctx: sctx, cancel: cancel}, nil
}

// Stream is a worker's registered stream to the master. Send may be called
// from several goroutines; Recv from one at a time.
type Stream struct {
	c      *Client
	stream grpc.BidiStreamingClient[locustpb.WorkerMessage, locustpb.MasterMessage]
	ack    *locustpb.Ack
	ctx    context.Context
	cancel context.CancelFunc

	sendMu    sync.Mutex
	closeOnce sync.Once
}

// Ack is the master's Ack (do not modify).
func (s *Stream) Ack() *locustpb.Ack { return s.ack }

// Index is this worker's index (0..W-1).
func (s *Stream) Index() int { return int(s.ack.GetWorkerIndex()) }

// Context is cancelled when the stream is closed.
func (s *Stream) Context() context.Context { return s.ctx }

// Send sends one message to the master.
func (s *Stream) Send(m *locustpb.WorkerMessage) error {
	if s.ctx.Err() != nil {
		return ErrClosed
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if err := s.stream.Send(m); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("send to master: %w", ErrClosed)
		}
		return fmt.Errorf("send to master: %w", err)
	}
	return nil
}

// Recv returns the master's next message. io.EOF means the master ended the
// stream cleanly (after a Goodbye). A status error with codes.Aborted or a
// Reconnect message both mean: Connect again. An error wrapping
// ErrBadMessage means the message was invalid (the stream stays open).
func (s *Stream) Recv() (*locustpb.MasterMessage, error) {
	m, err := s.stream.Recv()
	if err != nil {
		if s.ctx.Err() != nil && !errors.Is(err, io.EOF) && status.Code(err) == codes.Canceled {
			return nil, fmt.Errorf("%w: %v", ErrClosed, err)
		}
		return nil, err
	}
	if err := locustpb.ValidateMasterMessage(m, s.c.o.Limits); err != nil {
		return m, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	return m, nil
}

// Close sends a Goodbye (best effort), closes the sending side and ends the
// stream. Safe to call twice.
func (s *Stream) Close(reason string) {
	s.closeOnce.Do(func() {
		if s.sendMu.TryLock() {
			_ = s.stream.Send(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Goodbye{Goodbye: &locustpb.Goodbye{Reason: reason}}})
			_ = s.stream.CloseSend()
			s.sendMu.Unlock()
		}
		s.cancel()
	})
}

// String describes the stream for logs.
func (s *Stream) String() string {
	return "worker " + s.c.ID() + " index " + strconv.Itoa(s.Index()) + " on " + s.c.o.Address
}
