// Command grpc load-tests a gRPC service: users embed user.GRPC, get a
// connection with one call (Conn), and every unary call and stream on it
// is recorded in the stats as method "GRPC", name the full method name;
// a status other than OK is a failure, with the code as its error.
//
// Without -H it starts grpc-go's health service on 127.0.0.1 (with a
// little latency and a service that answers NotFound) and tests that, so
// it runs with no setup:
//
//	go run ./examples/grpc --headless -u 10 -r 10 -t 10s
//
// With -H http://127.0.0.1:PORT it tests the grpc.health.v1 service of
// that server instead (https:// for TLS).
//
// One task in thirteen asks for a service the server does not know, to
// show failures: the run exits 1, as Locust does when requests failed
// (--exit-code-on-error 0 to exit 0).
package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/golocust/golocust/locust"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// Prober checks the health of a few services and watches one.
type Prober struct {
	user.GRPC
	health healthpb.HealthClient
}

// OnStart opens the user's connection to the host; it connects on the
// first call and is closed when the user ends.
func (p *Prober) OnStart(ctx context.Context) error {
	conn, err := p.Conn("")
	if err != nil {
		return err
	}
	p.health = healthpb.NewHealthClient(conn)
	return nil
}

// CheckShop is a unary call: one sample "GRPC /grpc.health.v1.Health/Check".
func (p *Prober) CheckShop(ctx context.Context) error {
	_, err := p.health.Check(ctx, &healthpb.HealthCheckRequest{Service: "shop"})
	return err // a failure is recorded already: returning it does not count it twice
}

// CheckUnknown asks for a service the server does not know: a failure
// recorded as "NotFound: unknown service".
func (p *Prober) CheckUnknown(ctx context.Context) error {
	_, err := p.health.Check(ctx, &healthpb.HealthCheckRequest{Service: "legacy"})
	return err
}

// WatchShop opens a server stream, reads the first update and leaves by
// cancelling the stream's ctx: one sample "GRPC
// /grpc.health.v1.Health/Watch", a success, timed from open to close.
func (p *Prober) WatchShop(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := p.health.Watch(ctx, &healthpb.HealthCheckRequest{Service: "shop"})
	if err != nil {
		return err
	}
	_, err = w.Recv()
	return err
}

// startService starts grpc-go's health service on 127.0.0.1 with 1-10 ms
// of latency per call and returns its address and a stop func.
func startService() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	slow := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		select {
		case <-time.After(time.Millisecond + rand.N(9*time.Millisecond)):
		case <-ctx.Done():
		}
		return h(ctx, req)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(slow))
	hs := health.NewServer()
	hs.SetServingStatus("shop", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), srv.Stop, nil
}

func main() {
	host := ""
	if !hostGiven(os.Args[1:]) {
		addr, stop, err := startService()
		if err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(1)
		}
		defer stop()
		host = "grpc://" + addr
		fmt.Fprintf(os.Stderr, "No -H given: testing the embedded gRPC health service at %s\n", addr)
	}
	locust.Main(class(host))
}

func class(host string) user.Class[Prober] {
	return user.Class[Prober]{
		Host: host,
		Wait: user.Between(50*time.Millisecond, 200*time.Millisecond),
		Tasks: taskset.Weighted(
			taskset.Task[Prober]{Weight: 10, Run: (*Prober).CheckShop},
			taskset.Task[Prober]{Weight: 2, Run: (*Prober).WatchShop},
			taskset.Task[Prober]{Weight: 1, Run: (*Prober).CheckUnknown},
		),
	}
}

// hostGiven tells whether the command line or LOCUST_HOST names a target,
// in which case the embedded service is not started.
func hostGiven(args []string) bool {
	if v, ok := os.LookupEnv("LOCUST_HOST"); ok && v != "" {
		return true
	}
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && (name == "H" || name == "host") {
			return true
		}
	}
	return false
}
