package transport

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const (
	authHeader   = "authorization"
	bearerPrefix = "Bearer "
)

// errUnauthenticated is what a worker with a missing or wrong token hears.
// It never contains either token.
var errUnauthenticated = status.Error(codes.Unauthenticated,
	"missing or wrong worker token: start master and workers with the same --worker-token (or LOCUST_WORKER_TOKEN)")

// tokenChecker compares a presented token with the configured one in
// constant time: both are hashed first, so neither content nor length leaks
// through timing.
type tokenChecker struct{ want [sha256.Size]byte }

func newTokenChecker(token string) *tokenChecker {
	return &tokenChecker{want: sha256.Sum256([]byte(token))}
}

func (c *tokenChecker) ok(ctx context.Context) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(authHeader)
	var got string
	present := 0
	if len(vals) == 1 && strings.HasPrefix(vals[0], bearerPrefix) {
		got = vals[0][len(bearerPrefix):]
		present = 1
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], c.want[:])&present == 1
}

// streamInterceptor runs before the handler, so before any message of the
// stream is read.
func (c *tokenChecker) streamInterceptor(onReject func(ctx context.Context)) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if !c.ok(ss.Context()) {
			onReject(ss.Context())
			return errUnauthenticated
		}
		return handler(srv, ss)
	}
}

// tokenCreds attaches the worker token to every stream.
type tokenCreds struct {
	token      string
	requireTLS bool
}

func (t tokenCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{authHeader: bearerPrefix + t.token}, nil
}

func (t tokenCreds) RequireTransportSecurity() bool { return t.requireTLS }

// ServerTLSConfig loads the master's certificate and key. With a CA file,
// workers must present a certificate signed by that CA (mutual TLS).
func ServerTLSConfig(certFile, keyFile, caFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load cluster TLS certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pool, err := loadCA(caFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ClientTLSConfig builds a worker's TLS configuration: the CA that signed
// the master's certificate (empty = the system roots), and the worker's own
// certificate and key for mutual TLS (empty = none). serverName overrides
// the name checked in the master's certificate (empty = the dialled host).
func ClientTLSConfig(certFile, keyFile, caFile, serverName string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load cluster TLS certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if caFile != "" {
		pool, err := loadCA(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func loadCA(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("load cluster TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("load cluster TLS CA: no PEM certificate in " + file)
	}
	return pool, nil
}

// isLoopback reports whether host:port names the local machine.
func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
