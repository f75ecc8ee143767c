package user_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// API is a user of an HTTP/2 service, with the net/http client.
type API struct {
	user.NetHTTP
}

// OnStart chooses h2c (HTTP/2 over plain TCP with prior knowledge); for an
// https host HTTP/2 is negotiated by TLS ALPN and nothing needs setting.
func (a *API) OnStart(ctx context.Context) error {
	a.Protocols = user.H2C()
	return nil
}

// Item fetches one item: the same calls and options as user.HTTP.
func (a *API) Item(ctx context.Context) error {
	r := a.Get(ctx, "/item?id=7", user.Name("/item"))
	fmt.Println(a.HTTPResponse().Proto, string(r.Body))
	return r.Err()
}

// A NetHTTP user speaking HTTP/2 to an h2c server.
func ExampleNetHTTP() {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "served over %s", r.Proto)
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	defer srv.Close()

	class := user.Class[API]{Tasks: taskset.Weighted(taskset.Task[API]{Run: (*API).Item})}
	reg := stats.NewRegistry(stats.Options{})
	class.Run(context.Background(), &user.Env{Host: srv.URL, Stats: reg, Gate: &iterations{n: 2}})
	e := reg.Snapshot().Entries[0]
	fmt.Println(e.Method, e.Name, e.NumRequests, e.NumFailures)
	// Output:
	// HTTP/2.0 served over HTTP/2.0
	// HTTP/2.0 served over HTTP/2.0
	// GET /item 2 0
}

// Account logs in as its own test account: Env.Seq numbers the users of a
// class 0, 1, 2, ... (across all workers in distributed mode), so that no
// two users share an account.
type Account struct {
	user.NetHTTP
	name string
}

func (a *Account) OnStart(ctx context.Context) error {
	a.name = "user-" + strconv.FormatInt(a.Env().Seq, 10)
	return a.Post(ctx, "/login", user.JSON(map[string]string{"account": a.name})).Err()
}

func (a *Account) Orders(ctx context.Context) error {
	return a.Get(ctx, "/orders?account="+a.name, user.Name("/orders")).Err()
}

// Per-user test data from Env.Seq. The runner sets Seq; here three users
// are run by hand the way the runner would.
func ExampleEnv_seq() {
	var mu sync.Mutex
	var logins []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			var body struct{ Account string }
			if err := json.NewDecoder(r.Body).Decode(&body); err == nil {
				mu.Lock()
				logins = append(logins, body.Account)
				mu.Unlock()
			}
		}
	}))
	defer srv.Close()

	class := user.Class[Account]{Tasks: taskset.Weighted(taskset.Task[Account]{Run: (*Account).Orders})}
	reg := stats.NewRegistry(stats.Options{})
	var wg sync.WaitGroup
	for seq := range 3 {
		wg.Go(func() {
			class.Run(context.Background(), &user.Env{Host: srv.URL, Stats: reg, Seq: int64(seq), Gate: &iterations{n: 1}})
		})
	}
	wg.Wait()
	slices.Sort(logins)
	fmt.Println(logins)
	// Output:
	// [user-0 user-1 user-2]
}
