// Command accounts gives every user its own slice of test data from its
// sequence number, Env.Seq: the users of a class are numbered 0, 1, 2, ...
// (across all workers in distributed mode), so user n logs in as account
// "user-n" and creates orders with IDs n*1000000+1, n*1000000+2, ...; no
// two users ever share an account or an ID.
//
// Without -H it starts a small account service on 127.0.0.1 that refuses
// an account already logged in and an order ID already used (409), so a
// collision would show as a failure:
//
//	go run ./examples/accounts --headless -u 100 -r 50 -t 10s
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golocust/golocust/locust"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// Customer logs in with its own account and places orders with IDs of its
// own range.
type Customer struct {
	user.HTTP
	account string
	nextID  int64
}

// idsPerUser is the size of each user's range of order IDs.
const idsPerUser = 1_000_000

// OnStart logs in as "user-<Seq>".
func (c *Customer) OnStart(ctx context.Context) error {
	seq := c.Env().Seq
	c.account = "user-" + strconv.FormatInt(seq, 10)
	c.nextID = seq * idsPerUser
	return c.Post(ctx, "/login", user.JSON(map[string]string{"account": c.account})).Err()
}

// Order places an order with the next ID of the user's range.
func (c *Customer) Order(ctx context.Context) error {
	c.nextID++
	return c.Post(ctx, "/orders", user.JSON(map[string]int64{"id": c.nextID})).Err()
}

// Orders lists the user's orders.
func (c *Customer) Orders(ctx context.Context) error {
	return c.Get(ctx, "/orders").Err()
}

// OnStop logs out, so that the account is free again.
func (c *Customer) OnStop(ctx context.Context) error {
	return c.Post(ctx, "/logout").Err()
}

func class(host string) user.Class[Customer] {
	return user.Class[Customer]{
		Host: host,
		Wait: user.Between(100*time.Millisecond, 500*time.Millisecond),
		Tasks: taskset.Weighted(
			taskset.Task[Customer]{Weight: 1, Run: (*Customer).Order},
			taskset.Task[Customer]{Weight: 3, Run: (*Customer).Orders},
		),
	}
}

// shop is the account service: a session cookie per login; an account
// logged in twice or an order ID used twice is refused with 409.
type shop struct {
	mu       sync.Mutex
	sessions map[string]string // session -> account
	online   map[string]bool   // accounts logged in
	logins   map[string]int    // account -> logins
	orders   map[int64]string  // order ID -> account
	next     int
}

func newShop() *shop {
	return &shop{sessions: map[string]string{}, online: map[string]bool{}, logins: map[string]int{}, orders: map[int64]string{}}
}

func (s *shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	account := ""
	if c, err := r.Cookie("session"); err == nil {
		account = s.sessions[c.Value]
	}
	switch r.Method + " " + r.URL.Path {
	case "POST /login":
		var body struct{ Account string }
		if json.NewDecoder(r.Body).Decode(&body) != nil || body.Account == "" {
			http.Error(w, "no account", http.StatusBadRequest)
			return
		}
		if s.online[body.Account] {
			http.Error(w, "account in use", http.StatusConflict)
			return
		}
		s.next++
		sid := strconv.Itoa(s.next)
		s.sessions[sid] = body.Account
		s.online[body.Account] = true
		s.logins[body.Account]++
		http.SetCookie(w, &http.Cookie{Name: "session", Value: sid})
	case "POST /logout":
		delete(s.online, account)
	case "POST /orders":
		var body struct{ ID int64 }
		switch {
		case account == "":
			http.Error(w, "log in first", http.StatusUnauthorized)
		case json.NewDecoder(r.Body).Decode(&body) != nil:
			http.Error(w, "no order ID", http.StatusBadRequest)
		case s.orders[body.ID] != "":
			http.Error(w, "order ID used", http.StatusConflict)
		default:
			s.orders[body.ID] = account
		}
	case "GET /orders":
		if account == "" {
			http.Error(w, "log in first", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "orders of %s", account)
	default:
		http.NotFound(w, r)
	}
}

// accounts returns the accounts that logged in, with their login counts.
func (s *shop) accounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.logins))
	for k, v := range s.logins {
		m[k] = v
	}
	return m
}

// start serves s on 127.0.0.1 and returns its URL and a stop func.
func (s *shop) start() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

func main() {
	host := ""
	if !hostGiven(os.Args[1:]) {
		url, stop, err := newShop().start()
		if err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(1)
		}
		defer stop()
		host = url
		fmt.Fprintf(os.Stderr, "No -H given: testing the embedded account service at %s\n", host)
	}
	locust.Main(class(host))
}

// hostGiven tells whether the command line or LOCUST_HOST names a target,
// in which case the embedded service is not started.
func hostGiven(args []string) bool {
	if v, ok := os.LookupEnv("LOCUST_HOST"); ok && v != "" {
		return true
	}
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && (name == "H" || name == "host") {
			return true
		}
	}
	return false
}
