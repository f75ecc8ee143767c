package runner

import (
	"errors"
	"fmt"
)

// DefaultUserLimit is the most users a run may ask for unless told
// otherwise (Options.UserLimit, MasterOptions.UserLimit; --user-limit):
// every user is a goroutine with its own state, so an absurd count (a typo,
// or a hostile form) would otherwise run the process out of memory long
// before it failed. A cluster that needs more raises it.
const DefaultUserLimit = 100_000

// ErrTooManyUsers is wrapped by Start when the user count is over the
// run's limit; nothing is started or changed.
var ErrTooManyUsers = errors.New("more users than the user limit")

// checkUserLimit refuses a count over limit (0: DefaultUserLimit).
func checkUserLimit(users, limit int) error {
	if limit <= 0 {
		limit = DefaultUserLimit
	}
	if users > limit {
		return fmt.Errorf("runner: %w: %d users asked for, the limit is %d (raise it with --user-limit, or UserLimit in the options)",
			ErrTooManyUsers, users, limit)
	}
	return nil
}
