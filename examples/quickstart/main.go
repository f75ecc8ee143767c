// Command quickstart is a complete golocust scenario: two user classes of
// a web shop, weighted tasks, a sequential checkout flow nested inside the
// shopper's tasks, a login in OnStart and URL grouping in the stats.
//
// Without -H it starts an embedded demo shop on 127.0.0.1 and tests that,
// so it runs with no setup:
//
//	go run ./examples/quickstart --headless -u 50 -r 10 -t 30s
//
// With -H http://127.0.0.1:PORT it tests that host instead. Every request
// is a GET or a POST on a path any web server answers.
package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/golocust/golocust/internal/demotarget"
	"github.com/golocust/golocust/locust"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// Shopper logs in, browses items and now and then goes through checkout.
type Shopper struct {
	user.HTTP
	cart int
}

// OnStart logs the shopper in once; the session cookie is kept per user.
func (s *Shopper) OnStart(ctx context.Context) error {
	return s.Post(ctx, "/login", user.JSON(map[string]string{"user": "demo", "password": "demo"})).Err()
}

// Browse opens one item; all item pages are grouped under one stats name.
func (s *Shopper) Browse(ctx context.Context) error {
	id := s.Env().Rand.IntN(1000)
	return s.Get(ctx, "/item?id="+strconv.Itoa(id), user.Name("/item?id=[id]")).Err()
}

// List opens the item list.
func (s *Shopper) List(ctx context.Context) error {
	return s.Get(ctx, "/items").Err()
}

// AddToCart puts a random item in the cart.
func (s *Shopper) AddToCart(ctx context.Context) error {
	form := url.Values{"id": {strconv.Itoa(s.Env().Rand.IntN(1000))}}
	if err := s.Post(ctx, "/cart", user.Form(form)).Err(); err != nil {
		return err
	}
	s.cart++
	return nil
}

// Checkout pays for the cart, then leaves the checkout flow: returning
// taskset.ErrInterrupt hands control back to the shopper's main tasks.
func (s *Shopper) Checkout(ctx context.Context) error {
	r := s.Post(ctx, "/checkout", user.Check(func(r *user.Response) error {
		// Decide success yourself, as Locust's catch_response: here any
		// answer other than 200 counts as a failed checkout.
		if r.StatusCode != 200 {
			return fmt.Errorf("checkout answered %d", r.StatusCode)
		}
		return nil
	}))
	s.cart = 0
	if err := r.Err(); err != nil {
		return err
	}
	return taskset.ErrInterrupt
}

// Visitor reads the home page and searches, without logging in.
type Visitor struct{ user.HTTP }

// Home opens the front page.
func (v *Visitor) Home(ctx context.Context) error { return v.Get(ctx, "/").Err() }

// Search runs a search; all queries are grouped under one stats name.
func (v *Visitor) Search(ctx context.Context) error {
	terms := []string{"shoes", "socks", "hats", "bags"}
	q := terms[v.Env().Rand.IntN(len(terms))]
	return v.Get(ctx, "/search?q="+q, user.Name("/search?q=[term]")).Err()
}

func classes(host string) []user.Spawner {
	checkout := taskset.Sequential(
		taskset.Task[Shopper]{Name: "add to cart", Weight: 2, Run: (*Shopper).AddToCart},
		taskset.Task[Shopper]{Name: "checkout", Run: (*Shopper).Checkout},
	).WithWait(user.Between(200*time.Millisecond, 500*time.Millisecond))
	return []user.Spawner{
		user.Class[Shopper]{
			Weight: 3,
			Host:   host,
			Wait:   user.Between(500*time.Millisecond, 2*time.Second),
			Tasks: taskset.Weighted(
				taskset.Task[Shopper]{Weight: 6, Run: (*Shopper).Browse},
				taskset.Task[Shopper]{Weight: 2, Run: (*Shopper).List},
				taskset.Task[Shopper]{Name: "checkout flow", Weight: 1, Set: checkout},
			),
		},
		user.Class[Visitor]{
			Weight: 1,
			Host:   host,
			Wait:   user.Between(1*time.Second, 3*time.Second),
			Tasks: taskset.Weighted(
				taskset.Task[Visitor]{Weight: 1, Run: (*Visitor).Home},
				taskset.Task[Visitor]{Weight: 2, Run: (*Visitor).Search},
			),
		},
	}
}

func main() {
	host := ""
	if !hostGiven(os.Args[1:]) {
		demo, err := demotarget.Start(context.Background(), demotarget.Options{
			MinLatency: 2 * time.Millisecond,
			MaxLatency: 30 * time.Millisecond,
			ErrorRate:  0.01,
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(1)
		}
		host = demo.URL
		fmt.Fprintf(os.Stderr, "No -H given: testing the embedded demo shop at %s\n", host)
	}
	locust.Main(classes(host)...)
}

// hostGiven tells whether the command line or LOCUST_HOST names a target
// (or asks only for help or the class list), in which case the demo shop
// is not started.
func hostGiven(args []string) bool {
	if v, ok := os.LookupEnv("LOCUST_HOST"); ok && v != "" {
		return true
	}
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") {
			continue
		}
		switch name {
		case "H", "host":
			return true
		case "h", "help", "l", "list": // nothing will be tested
			return true
		}
	}
	return false
}
