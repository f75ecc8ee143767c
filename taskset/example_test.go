package taskset_test

import (
	"context"
	"fmt"
	"math/rand/v2"
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

// A Markov chain of tasks (Locust's MarkovTaskSet): after each task the
// user moves on along a transition drawn by weight. Targets are state
// values, so a misspelt one does not compile.
func ExampleMarkov() {
	m := taskset.NewMarkov[Shopper]()
	browse := m.State((*Shopper).Browse) // the first state is the start
	add := m.State((*Shopper).Add)
	buy := m.State((*Shopper).Buy)
	browse.To(browse, 2).To(add, 1)
	add.To(browse, 1).To(buy, 1)
	buy.To(browse, 1)
	tasks := m.Set()

	for _, s := range tasks.Transitions("Add") {
		fmt.Printf("Add -> %s %.2f\n", s.Name, s.Share)
	}
	for _, s := range tasks.Ratio() { // long-run share of each state's runs
		fmt.Printf("%s %.3f\n", s.Name, s.Share)
	}
	p := tasks.NewPicker(rand.New(rand.NewPCG(1, 2)), nil) // the user's random source
	fmt.Println(p.Next().Name)
	// Output:
	// Add -> Browse 0.50
	// Add -> Buy 0.50
	// Browse 0.667
	// Add 0.222
	// Buy 0.111
	// Browse
}
