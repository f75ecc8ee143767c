// Command baseline is a shop scenario whose test records a baseline and
// then fails a branch that made /checkout 20 % slower (see main_test.go,
// and the README's "Did this change make us slower?").
//
// Against your own target, record a baseline on main and compare a branch
// with it:
//
//	go run ./examples/baseline --headless -u 10 -t 30s -H http://127.0.0.1:8080 --json-file main
//	go run ./examples/baseline --headless -u 10 -t 30s -H http://127.0.0.1:8080 --baseline main.json --json-file branch
//	go run ./examples/baseline --compare main.json branch.json
//
// The second run and --compare exit 3 when an endpoint got significantly
// slower or failed more often.
package main

import (
	"context"

	"github.com/golocust/golocust/locust"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// Shopper looks at the cart and a product, and checks out, in equal
// measure.
type Shopper struct{ user.HTTP }

// Cart reads the cart.
func (s *Shopper) Cart(ctx context.Context) error { return s.Get(ctx, "/cart").Err() }

// Product reads a product.
func (s *Shopper) Product(ctx context.Context) error { return s.Get(ctx, "/product").Err() }

// Checkout checks out.
func (s *Shopper) Checkout(ctx context.Context) error { return s.Post(ctx, "/checkout").Err() }

var shopper = user.Class[Shopper]{
	Tasks: taskset.Weighted(
		taskset.Task[Shopper]{Weight: 1, Run: (*Shopper).Cart},
		taskset.Task[Shopper]{Weight: 1, Run: (*Shopper).Product},
		taskset.Task[Shopper]{Weight: 1, Run: (*Shopper).Checkout},
	),
}

func main() { locust.Main(shopper) }
