package runner_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/transport"
	"github.com/golocust/golocust/user"
)

type idler struct{}

func (*idler) Idle(ctx context.Context) error { return nil }

// A master and a worker in one process (they are usually separate
// processes: locust.Main with --master and --worker): the master splits
// the users over its workers and merges their stats.
func ExampleMaster() {
	class := user.Class[idler]{
		Name:  "Idler",
		Wait:  user.Constant(time.Second),
		Tasks: taskset.Weighted(taskset.Task[idler]{Run: (*idler).Idle}),
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	m, err := runner.NewMaster(runner.MasterOptions{
		Classes: []user.Spawner{class},
		Server:  transport.ServerOptions{Listener: l},
	})
	if err != nil {
		panic(err)
	}
	defer m.Quit() // tells the workers to quit

	w, err := runner.NewWorker(runner.WorkerOptions{
		Classes: []user.Spawner{class},
		Client:  transport.ClientOptions{Address: m.Addr()},
	})
	if err != nil {
		panic(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.WaitForWorkers(ctx, 1, 0); err != nil {
		panic(err)
	}
	if err := m.Start(5, 100); err != nil {
		panic(err)
	}
	if err := m.WaitUsers(ctx, 5); err != nil {
		panic(err)
	}
	fmt.Println(m.UserCount(), "users on", m.WorkerCount(), "worker")
	m.Quit()
	fmt.Println("worker:", <-done)
	// Output:
	// 5 users on 1 worker
	// worker: <nil>
}
