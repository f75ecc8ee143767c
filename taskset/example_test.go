package taskset_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/golocust/golocust/taskset"
)

type Shopper struct{ cart int }

func (s *Shopper) Browse(context.Context) error { return nil }
func (s *Shopper) Buy(context.Context) error    { s.cart = 0; return nil }
func (s *Shopper) Add(context.Context) error    { s.cart++; return nil }
func (s *Shopper) Leave(context.Context) error  { return taskset.ErrInterrupt }

// A weighted set with a nested sequential checkout flow, and the order one
// user picks its tasks in.
func Example() {
	checkout := taskset.Sequential(
		taskset.Task[Shopper]{Run: (*Shopper).Add, Weight: 2},
		taskset.Task[Shopper]{Run: (*Shopper).Buy},
		taskset.Task[Shopper]{Run: (*Shopper).Leave}, // back to the parent set
	).WithName("Checkout")
	tasks := taskset.Weighted(
		taskset.Task[Shopper]{Run: (*Shopper).Browse, Weight: 2, Tags: []string{"read"}},
		taskset.Task[Shopper]{Set: checkout, Tags: []string{"write"}},
	)

	p := tasks.NewPicker(nil, nil) // nil source: start at the first task
	var names []string
	for range 8 {
		t := p.Next()
		names = append(names, t.Name)
		if t.Name == "Leave" {
			p.Interrupt() // what the user loop does on ErrInterrupt
		}
	}
	fmt.Println(strings.Join(names, " "))
	for _, s := range tasks.Ratio() {
		fmt.Printf("%s %.2f\n", s.Name, s.Share)
	}
	// Output:
	// Browse Add Add Buy Leave Browse Browse Add
	// Browse 0.67
	// Checkout 0.33
}

// Filtering by tags as --tags and --exclude-tags do.
func ExampleSet_Filter() {
	tasks := taskset.Weighted(
		taskset.Task[Shopper]{Run: (*Shopper).Browse, Tags: []string{"read"}},
		taskset.Task[Shopper]{Run: (*Shopper).Buy, Tags: []string{"write"}},
	)
	onlyRead, ok := tasks.Filter([]string{"read"}, nil)
	fmt.Println(ok, onlyRead.Len())
	_, ok = tasks.Filter(nil, []string{"read", "write"})
	fmt.Println(ok)
	// Output:
	// true 1
	// false
}
