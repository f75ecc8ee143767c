package user_test

import (
	"context"
	"fmt"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/user"
)

// Buyer expects its purchases to be answered 201 Created.
type Buyer struct{ user.HTTP }

func (b *Buyer) Browse(ctx context.Context) error {
	return b.Get(ctx, "/item?id=7", user.Name("/item")).Err()
}

func (b *Buyer) Buy(ctx context.Context) error {
	return b.Post(ctx, "/cart", user.ExpectStatus(201)).Err()
}

// Task infers the user type from the method expression, Tasks picks by
// weight, and ExpectStatus judges a response by its status.
func ExampleTask() {
	target := demoTarget() // answers 409 to every purchase
	defer target.Close()

	class := user.Class[Buyer]{
		Tasks: user.Tasks(user.Task(5, (*Buyer).Browse), user.Task(1, (*Buyer).Buy)),
	}
	reg := stats.NewRegistry(stats.Options{})
	class.Run(context.Background(), &user.Env{Host: target.URL, Stats: reg, Gate: &iterations{n: 12}})
	for _, t := range class.TaskRatio() {
		fmt.Printf("%s %.2f\n", t.Name, t.Share)
	}
	for _, e := range reg.Snapshot().Errors {
		fmt.Println(e.Method, e.Name, e.Message, e.Occurrences)
	}
	// Output:
	// Browse 0.83
	// Buy 0.17
	// POST /cart HTTP 409, want 201 2
}
