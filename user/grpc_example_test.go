package user_test

import (
	"context"
	"errors"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// Checker load-tests a gRPC service: every call made on the connection
// from Conn is timed into the stats as method "GRPC", name the full
// method.
type Checker struct {
	user.GRPC
	health healthpb.HealthClient
}

func (c *Checker) OnStart(ctx context.Context) error {
	conn, err := c.Conn("") // the user's host, grpc://127.0.0.1:PORT
	c.health = healthpb.NewHealthClient(conn)
	return err
}

func (c *Checker) Check(ctx context.Context) error {
	_, err := c.health.Check(ctx, &healthpb.HealthCheckRequest{Service: "shop"})
	return err // a non-OK status is recorded already: not counted twice
}

// A user calling a gRPC service, here grpc-go's health service on
// 127.0.0.1, which knows nothing of the service "shop" (NotFound).
func ExampleGRPC() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	class := user.Class[Checker]{Tasks: taskset.Weighted(taskset.Task[Checker]{Run: (*Checker).Check})}
	reg := stats.NewRegistry(stats.Options{})
	class.Run(context.Background(), &user.Env{Host: "grpc://" + ln.Addr().String(), Stats: reg, Gate: &iterations{n: 3}})
	s := reg.Snapshot()
	for _, e := range s.Entries {
		fmt.Println(e.Method, e.Name, e.NumRequests, e.NumFailures)
	}
	for _, e := range s.Errors {
		fmt.Println(e.Message, e.Occurrences)
	}
	// Output:
	// GRPC /grpc.health.v1.Health/Check 3 3
	// NotFound: unknown service 3
}

// Pinger dials its own connection.
type Pinger struct{ user.Base }

// GRPCDialOptions records the calls of a connection a user dials itself.
func ExampleGRPCDialOptions() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	ping := func(p *Pinger, ctx context.Context) error {
		conn, err := grpc.NewClient(ln.Addr().String(), append(user.GRPCDialOptions(p.Env()),
			grpc.WithTransportCredentials(insecure.NewCredentials()))...)
		if err != nil {
			return err
		}
		defer conn.Close()
		_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		fmt.Println(status.Code(err))
		return errors.Join(err, user.ErrStopUser)
	}
	class := user.Class[Pinger]{Tasks: taskset.Weighted(taskset.Task[Pinger]{Name: "ping", Run: ping})}
	reg := stats.NewRegistry(stats.Options{})
	class.Run(context.Background(), &user.Env{Stats: reg})
	e := reg.Snapshot().Entries[0]
	fmt.Println(e.Method, e.Name, e.NumRequests, e.NumFailures)
	// Output:
	// OK
	// GRPC /grpc.health.v1.Health/Check 1 0
}
