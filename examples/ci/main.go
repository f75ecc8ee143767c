// Command ci is a load test shaped for a CI job, the Locust idiom
// `locust --autostart --autoquit N -t T`: it starts at once with the web UI
// up, stops after the run time, quits N seconds later and exits with the
// run's code (0 passed, 1 errors, 3 a threshold missed). The settings live
// in ./locust.conf beside it, as a Locust project keeps them; point it at
// the system under test with -H (or host = ... in the file):
//
//	cd examples/ci && go run . -H http://127.0.0.1:8080
//
// Any setting can be overridden: LOCUST_RUN_TIME=2m go run . -H ..., or
// go run . -H ... -u 50 --autoquit 0.
package main

import (
	"context"
	"strconv"
	"time"

	"github.com/golocust/golocust/locust"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// Visitor browses the catalogue: the list, then an item page.
type Visitor struct {
	user.HTTP
	n int
}

// List reads the catalogue.
func (v *Visitor) List(ctx context.Context) error { return v.Get(ctx, "/items").Err() }

// Item reads one item page; every id is counted under one name.
func (v *Visitor) Item(ctx context.Context) error {
	v.n = v.n%10 + 1
	return v.Get(ctx, "/item?id="+strconv.Itoa(v.n), user.Name("/item?id=[id]")).Err()
}

var visitor = user.Class[Visitor]{
	Wait: user.Between(50*time.Millisecond, 150*time.Millisecond),
	Tasks: taskset.Weighted(
		taskset.Task[Visitor]{Weight: 1, Run: (*Visitor).List},
		taskset.Task[Visitor]{Weight: 3, Run: (*Visitor).Item},
	),
}

func main() { locust.Main(visitor) }
