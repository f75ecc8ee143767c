package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrMasterSpeaksTLS is wrapped by Connect when a worker without TLS
// reached a master that serves TLS: retrying cannot help.
var ErrMasterSpeaksTLS = errors.New("the master speaks TLS and this worker does not")

// tlsProbeTimeout bounds the probe that tells why the HTTP/2 handshake failed.
const tlsProbeTimeout = 2 * time.Second

// explainPlaintextToTLS turns the failure of a plaintext connect into a
// clear, final error when the master turns out to speak TLS. A TLS master
// drops a plaintext worker's HTTP/2 preface, which gRPC reports as an
// unavailable master ("error reading server preface"); the worker would
// retry for minutes without saying why. So on that error a plaintext
// client opens one more connection and starts a TLS handshake, only to
// learn whether the master answers in TLS: nothing is sent over it.
func (c *Client) explainPlaintextToTLS(ctx context.Context, err error) error {
	if c.o.TLS != nil || status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "server preface") {
		return err
	}
	if !c.masterSpeaksTLS(ctx) {
		return err
	}
	return codeErr(codes.FailedPrecondition, fmt.Errorf("%w: the master at %s serves TLS; give this worker the CA that signed the master's certificate (--cluster-tls-ca), and its own certificate and key if the master asks for one (mutual TLS)",
		ErrMasterSpeaksTLS, c.o.Address))
}

func (c *Client) masterSpeaksTLS(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, tlsProbeTimeout)
	defer cancel()
	var conn net.Conn
	var err error
	if c.o.Dialer != nil {
		conn, err = c.o.Dialer(ctx, c.o.Address)
	} else {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", c.o.Address)
	}
	if err != nil {
		return false
	}
	defer func() { _ = conn.Close() }()
	// Verification is off because the probe only asks whether the peer
	// answers a ClientHello; it sends nothing and trusts nothing.
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}) //nolint:gosec // see above
	err = tc.HandshakeContext(ctx)
	var alert tls.AlertError
	return err == nil || errors.As(err, &alert)
}
