package user_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// Shopper is a user type: every spawned user gets its own Shopper, with
// its own HTTP client and cookies.
type Shopper struct {
	user.HTTP
	items int
}

func (s *Shopper) OnStart(ctx context.Context) error {
	return s.Post(ctx, "/login", user.Form(url.Values{"user": {"alice"}})).Err()
}

func (s *Shopper) Browse(ctx context.Context) error {
	// Group /item?id=7, /item?id=8, ... under one stats name.
	return s.Get(ctx, "/item?id=7", user.Name("/item")).Err()
}

func (s *Shopper) Buy(ctx context.Context) error {
	s.items++
	return s.Post(ctx, "/cart", user.JSON(map[string]int{"item": 7}),
		user.Header("X-Request-Source", "golocust"), user.Timeout(5*time.Second)).Err()
}

// demoTarget is a small web server on 127.0.0.1.
func demoTarget() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cart" {
			w.WriteHeader(http.StatusConflict) // every purchase fails
			return
		}
		fmt.Fprint(w, "ok")
	}))
}

// iterations is an Env.Gate that lets a user run n tasks.
type iterations struct{ n int }

func (it *iterations) Next(context.Context) (time.Time, bool) {
	it.n--
	return time.Time{}, it.n >= 0
}

// A user class with weighted tasks, run for one user the way the runner
// runs each of its users.
func Example() {
	target := demoTarget()
	defer target.Close()

	class := user.Class[Shopper]{
		Wait: user.Between(time.Second, 3*time.Second),
		Tasks: taskset.Weighted(
			taskset.Task[Shopper]{Run: (*Shopper).Browse, Weight: 5},
			taskset.Task[Shopper]{Run: (*Shopper).Buy},
		),
	}
	reg := stats.NewRegistry(stats.Options{})
	env := &user.Env{
		Class: class.ClassName(),
		Host:  target.URL,
		Stats: reg,
		Gate:  &iterations{n: 12}, // a gate schedules iterations: no waits
	}
	class.Run(context.Background(), env)

	s := reg.Snapshot()
	for _, e := range s.Entries {
		fmt.Println(e.Method, e.Name, e.NumRequests, e.NumFailures)
	}
	for _, e := range s.Errors {
		fmt.Println(e.Method, e.Name, e.Message, e.Occurrences)
	}
	// Output:
	// POST /cart 2 2
	// GET /item 10 0
	// POST /login 1 0
	// POST /cart HTTP 409 Conflict 2
}

type checker struct{ user.HTTP }

// Check decides success or failure from the response, like Locust's
// catch_response.
func ExampleCheck() {
	target := demoTarget()
	defer target.Close()

	class := user.Class[checker]{Tasks: taskset.Weighted(taskset.Task[checker]{Name: "check",
		Run: func(c *checker, ctx context.Context) error {
			// A 409 is expected here: a success.
			c.Post(ctx, "/cart", user.Check(func(r *user.Response) error {
				if r.StatusCode == http.StatusConflict {
					return nil
				}
				return r.StatusError()
			}))
			// A 200 with the wrong body: a failure.
			err := c.Get(ctx, "/item", user.Check(func(r *user.Response) error {
				if !strings.Contains(string(r.Body), "price") {
					return errors.New("no price in the page")
				}
				return nil
			})).Err()
			fmt.Println(err)
			return user.ErrStopUser
		}})}
	reg := stats.NewRegistry(stats.Options{})
	class.Run(context.Background(), &user.Env{Host: target.URL, Stats: reg})
	fmt.Println(reg.Snapshot().Total.NumRequests, reg.Snapshot().Total.NumFailures)
	// Output:
	// GET /item: no price in the page
	// 2 1
}

type cacheUser struct{ user.Base }

// Measure times a call of any protocol into the same stats.
func ExampleMeasure() {
	class := user.Class[cacheUser]{Tasks: taskset.Sequential(taskset.Task[cacheUser]{Name: "get",
		Run: func(u *cacheUser, ctx context.Context) error {
			err := user.Measure(u.Env(), "CACHE", "get user:1", func() (int64, error) {
				return 42, nil // call the cache here; return the response size
			})
			if err != nil {
				return err // recorded already: not counted twice
			}
			return user.ErrStopUser
		}})}
	reg := stats.NewRegistry(stats.Options{})
	class.Run(context.Background(), &user.Env{Stats: reg})
	e := reg.Snapshot().Entries[0]
	fmt.Println(e.Method, e.Name, e.NumRequests, e.TotalBytes)
	// Output:
	// CACHE get user:1 1 42
}

// Wait strategies, as in Locust. Custom ones implement taskset.Wait; a
// nested set may have its own.
func ExampleConstantPacing() {
	now := time.Now()
	w := user.ConstantPacing(time.Second).NewWaiter(nil)
	fmt.Println(w.Pause(now, now.Add(300*time.Millisecond))) // the task took 300ms
	fmt.Println(user.ConstantThroughput(4).NewWaiter(nil).Pause(now, now))
	fmt.Println(user.Constant(2*time.Second).NewWaiter(nil).Pause(now, now))
	// Output:
	// 700ms
	// 250ms
	// 2s
}

// With Traceparent, every call carries a W3C traceparent header; the
// stats keep the trace ids of each name's slowest requests, for the
// target's tracing tool.
func ExampleClass_traceparent() {
	var seen string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Get(user.TraceparentHeader)
	}))
	defer srv.Close()
	reg := stats.NewRegistry(stats.Options{})
	c := user.Class[Shopper]{Traceparent: true, Tasks: taskset.Weighted(
		taskset.Task[Shopper]{Run: (*Shopper).Browse},
	)}
	c.Run(context.Background(), &user.Env{Host: srv.URL, Stats: reg, Gate: &iterations{n: 1}})
	var item *stats.Entry
	for _, e := range reg.Snapshot().Entries {
		if e.Name == "/item" {
			item = e
		}
	}
	x := item.Exemplars[0]
	fmt.Println(seen == "00-"+x.TraceID.String()+"-"+x.SpanID.String()+"-01")
	// Output: true
}

// A Markov chain with a state that no transition leads to: the class says
// so, and locust.Main logs it as a warning before the run.
func ExampleClass_ClassWarnings() {
	m := taskset.NewMarkov[Shopper]()
	browse, buy := m.State((*Shopper).Browse), m.State((*Shopper).Buy)
	browse.To(browse, 1)
	buy.To(browse, 1) // nothing leads to Buy
	c := user.Class[Shopper]{Tasks: m.Set()}
	for _, w := range c.ClassWarnings() {
		fmt.Println(w)
	}
	// Output:
	// user class Shopper: the Markov states Buy of MarkovTaskSet are never reached from its first state; add a transition to them with To, or leave them out
}
