// Command clustertest is the load-test binary of golocust's multi-process
// cluster tests (locust/cluster_test.go): the same binary runs as master
// and as workers, against a counting target given with -H.
//
// Classes:
//   - Hitter (default): GET /hit every 20 ms, with the process id in the
//     X-Pid header so the target can count per worker.
//   - Numbered: GET /seq?n=<Env.Seq> once, then waits until stopped; the
//     target sees every user's cluster-wide sequence number.
package main

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/golocust/golocust/locust"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

var pid = strconv.Itoa(os.Getpid())

// Hitter hits the target at a steady pace.
type Hitter struct{ user.HTTP }

// Hit sends one request.
func (h *Hitter) Hit(ctx context.Context) error {
	return h.Get(ctx, "/hit", user.Header("X-Pid", pid)).Err()
}

// Numbered reports its sequence number once.
type Numbered struct {
	user.HTTP
	sent bool
}

// Report sends the user's Seq the first time.
func (n *Numbered) Report(ctx context.Context) error {
	if n.sent {
		return nil
	}
	n.sent = true
	return n.Get(ctx, "/seq?n="+strconv.FormatInt(n.Env().Seq, 10), user.Name("/seq"), user.Header("X-Pid", pid)).Err()
}

func main() {
	locust.Main(
		user.Class[Hitter]{
			Name:  "Hitter",
			Wait:  user.Constant(20 * time.Millisecond),
			Tasks: taskset.Weighted(taskset.Task[Hitter]{Run: (*Hitter).Hit}),
		},
		user.Class[Numbered]{
			Name:  "Numbered",
			Wait:  user.Constant(time.Hour),
			Tasks: taskset.Weighted(taskset.Task[Numbered]{Run: (*Numbered).Report}),
		},
	)
}
