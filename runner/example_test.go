package runner_test

import (
	"context"
	"fmt"
	"time"

	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

func ExampleSpawnOrder() {
	// Classes A and B with weights 5:1, spawned one by one.
	for _, i := range runner.SpawnOrder([]int{5, 1}, []int{0, 0}, 12) {
		fmt.Print(string(rune('A' + i)))
	}
	fmt.Println()
	// Output: AAABAAAAABAA
}

func ExampleTargets() {
	// One admin (fixed count 1) and two weighted classes 1:1, at 9 users.
	fmt.Println(runner.Targets([]int{1, 1, 1}, []int{1, 0, 0}, 9))
	// Output: [1 4 4]
}

func ExampleDistribute() {
	// 7 users of one class over 5 workers; then 9 users of three classes
	// over 3 workers. Rows are workers, columns classes.
	fmt.Println(runner.Distribute([]int{7}, 5))
	fmt.Println(runner.Distribute([]int{1, 4, 4}, 3))
	// Output:
	// [[2] [2] [1] [1] [1]]
	// [[1 1 1] [0 2 1] [0 1 2]]
}

func ExampleAdjust() {
	// A master ramps 2 classes (weights 1:1) over 3 workers, 2 users per
	// step: each step only adds users, and workers stay level.
	rows := runner.Distribute([]int{0, 0}, 3)
	for _, n := range []int{2, 4, 6} {
		rows = runner.Adjust(rows, runner.Targets([]int{1, 1}, []int{0, 0}, n))
		fmt.Println(rows)
	}
	// Output:
	// [[1 0] [0 1] [0 0]]
	// [[1 1] [0 1] [1 0]]
	// [[1 1] [1 1] [1 1]]
}

// Reader is a user type: every spawned user gets its own Reader.
type Reader struct{ user.Base }

// Read records a custom call that takes a millisecond.
func (r *Reader) Read(ctx context.Context) error {
	return user.Measure(r.Env(), "custom", "read", func() (int64, error) {
		time.Sleep(time.Millisecond)
		return 0, nil
	})
}

func ExampleLocal() {
	reader := user.Class[Reader]{
		Name:  "Reader",
		Wait:  user.Constant(100 * time.Millisecond),
		Tasks: taskset.Weighted(taskset.Task[Reader]{Run: (*Reader).Read}),
	}
	admin := reader
	admin.Name, admin.FixedCount = "Admin", 1

	l, err := runner.NewLocal(runner.Options{
		Classes:     []user.Spawner{reader, admin},
		StopTimeout: time.Second,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Quit()
	// 5 users, 100 per second: the ramp completes in one step.
	if err := l.Start(5, 100); err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.WaitState(ctx, runner.StateRunning); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.State(), l.UserCount(), l.ClassCounts())

	// Fewer users: the newest stop first.
	_ = l.Start(2, 100)
	if err := l.WaitState(ctx, runner.StateRunning); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.ClassCounts())
	l.Stop()
	fmt.Println(l.State(), l.UserCount())
	// Output:
	// running 5 map[Admin:1 Reader:4]
	// map[Admin:1 Reader:1]
	// stopped 0
}
