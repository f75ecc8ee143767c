package main

import (
	"context"
	"time"

	"github.com/golocust/golocust/locust"
	"github.com/golocust/golocust/user"
)

// Shopper is one simulated user (each gets its own value); its HTTP client is bound to -H and timed.
type Shopper struct{ user.HTTP }

// OnStart runs once per user before its first task; a failed login is recorded and the user goes on
// (return user.ErrStopUser to end it). OnStop runs when the user ends.
func (s *Shopper) OnStart(ctx context.Context) error {
	return s.Post(ctx, "/login", user.JSON(map[string]string{"user": "demo"})).Err()
}

func (s *Shopper) Browse(ctx context.Context) error { // /item?id=7, /item?id=8, ... as one stats name
	return s.Get(ctx, "/item?id=7", user.Name("/item?id=[id]")).Err()
}

func (s *Shopper) Buy(ctx context.Context) error { // any other status is a failure
	return s.Post(ctx, "/checkout", user.ExpectStatus(200)).Err()
}

func main() {
	locust.Main(user.Class[Shopper]{
		Weight: 3,
		Wait:   user.Between(time.Second, 5*time.Second),
		Tasks:  user.Tasks(user.Task(5, (*Shopper).Browse), user.Task(1, (*Shopper).Buy)),
	})
}
