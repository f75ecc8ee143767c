package user

import (
	"context"
	"fmt"
	"slices"

	"github.com/golocust/golocust/taskset"
)

// This file holds the short forms of the authoring surface, so that a
// scenario needs only this package besides locust:
//
//	Tasks: user.Tasks(user.Task(5, (*Shopper).Browse), user.Task(1, (*Shopper).Buy)),
//
// is the same as
//
//	Tasks: taskset.Weighted(
//		taskset.Task[Shopper]{Weight: 5, Run: (*Shopper).Browse},
//		taskset.Task[Shopper]{Weight: 1, Run: (*Shopper).Buy},
//	),
//
// The long forms stay; use them for names, tags and nested sets.

// Task is a task of weight weight that runs run; the user type is
// inferred from the method expression: user.Task(5, (*Shopper).Browse).
// Its name is the method's, as for taskset.Task.
func Task[U any](weight int, run func(u *U, ctx context.Context) error) taskset.Task[U] {
	return taskset.Task[U]{Weight: weight, Run: run}
}

// Tasks is a set that picks its tasks at random by weight
// (taskset.Weighted).
func Tasks[U any](tasks ...taskset.Task[U]) *taskset.Set[U] { return taskset.Weighted(tasks...) }

// ExpectStatus makes any status other than codes a failure, recorded as
// "HTTP 503, want 200": the common case of Check.
func ExpectStatus(codes ...int) Option {
	return Check(func(r *Response) error {
		if slices.Contains(codes, r.StatusCode) {
			return nil
		}
		if len(codes) == 1 {
			return fmt.Errorf("HTTP %d, want %d", r.StatusCode, codes[0])
		}
		return fmt.Errorf("HTTP %d, want one of %v", r.StatusCode, codes)
	})
}
