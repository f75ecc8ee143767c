// Command closedloop is the generator side of bench/efficiency.sh: users
// that GET / in a closed loop with no wait, the workload wrk runs too.
package main

import (
	"context"

	"github.com/golocust/golocust/locust"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// Hammer requests the root page as fast as the target answers.
type Hammer struct{ user.HTTP }

// Hit is the one task: a GET of /.
func (h *Hammer) Hit(ctx context.Context) error { return h.Get(ctx, "/").Err() }

func main() {
	locust.Main(user.Class[Hammer]{
		Tasks: taskset.Weighted(taskset.Task[Hammer]{Name: "hit", Run: (*Hammer).Hit}),
	})
}
