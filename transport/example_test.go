package transport_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/test/bufconn"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/transport"
)

// A master and one worker over an in-memory connection: handshake, a spawn
// one way, spawning-complete the other, and a clean goodbye.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lis := bufconn.Listen(1 << 20)

	srv, err := transport.NewServer(transport.ServerOptions{Listener: lis, Token: "shared-secret"})
	if err != nil {
		panic(err)
	}
	served := make(chan error, 1)
	serveCtx, stopServing := context.WithCancel(ctx)
	go func() { served <- srv.Serve(serveCtx) }()

	worker, err := transport.NewClient(transport.ClientOptions{
		Address: "bufnet", Token: "shared-secret",
		Hello:  &locustpb.Hello{WorkerId: "box1_a1"},
		Dialer: func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) },
	})
	if err != nil {
		panic(err)
	}
	defer worker.Close()
	stream, err := worker.Connect(ctx)
	if err != nil {
		panic(err)
	}
	session, err := srv.Accept(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("master sees", session.ID(), "index", session.Index())

	_ = session.Send(&locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Spawn{Spawn: &locustpb.Spawn{
		Sequence: 1, UserClassCounts: map[string]int64{"Shopper": 5},
	}}})
	m, _ := stream.Recv()
	fmt.Println("worker told to run", m.GetSpawn().GetUserClassCounts()["Shopper"], "users")

	_ = stream.Send(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_SpawningComplete{SpawningComplete: &locustpb.SpawningComplete{UserCount: 5}}})
	w, _ := session.Recv()
	fmt.Println("master hears", w.GetSpawningComplete().GetUserCount(), "users running")

	session.Close(codes.OK, "test over")
	m, _ = stream.Recv()
	fmt.Println("worker hears goodbye:", m.GetGoodbye().GetReason())

	stopServing()
	fmt.Println("serve:", <-served)
	// Output:
	// master sees box1_a1 index 0
	// worker told to run 5 users
	// master hears 5 users running
	// worker hears goodbye: test over
	// serve: <nil>
}
