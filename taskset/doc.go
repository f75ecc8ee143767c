// Package taskset defines what a simulated user does: tasks, the order in
// which it picks them, and how long it waits between them.
//
// A Task is a Go func (usually a method expression such as
// (*Shopper).Browse) or a nested Set. Sets come in two kinds:
//
//   - Weighted picks tasks in a smooth weighted round-robin order (the
//     nginx algorithm): over every cycle of W picks, where W is the sum of
//     the weights divided by their greatest common divisor, each task runs
//     exactly Weight/gcd times, interleaved as evenly as possible (weights
//     5:1 give AAABAA). Each user starts the cycle at a random phase taken
//     from its own random source, so users do not march in step, and the
//     shares are still exact per user. Locust picks at random with the same
//     expected shares; this order has the same shares without the variance.
//   - Sequential runs tasks in declaration order, cycling; a weight of n
//     runs that task n times in a row (Locust's SequentialTaskSet).
//   - Markov (Locust 2.37's MarkovTaskSet) chains tasks by weighted
//     transitions: NewMarkov returns a builder, State adds a task and
//     returns its handle, To adds a transition to another handle, Set
//     validates and builds. The first state is where every entry into the
//     set starts; each next state is drawn from the current one's
//     transitions with the user's random source. Transition targets are Go
//     values, not strings, so the compiler checks them; a state with
//     nowhere to go panics at Set. Tags apply to the set as a whole.
//
// A Task whose Set is non-nil runs that nested set: the user keeps picking
// from the nested set, waiting with the set's own Wait (or the parent's when
// it has none), until one of its tasks returns ErrInterrupt; then the parent
// picks its next task at once (Locust's interrupt(reschedule=True)). Each
// entry into a nested Sequential set starts from its first task. A task
// returning ErrRescheduleNow skips the wait before the next pick.
//
// Tags: Task.Tags, Set.WithTags (applies to every task of the set) and the
// user class's tags (applied by the user package) are combined; Filter keeps
// the tasks having any of the included tags (when include is non-empty) and
// none of the excluded ones. Nested sets left with no tasks are dropped;
// Filter reports false when nothing is left, as Locust's --tags and
// --exclude-tags do.
//
// A Set is immutable once built and shared by all users of a class. The
// per-user state lives in a Picker (position in each set, one Waiter per
// set), which the user package creates for every spawned user; Picker.Next
// does not allocate.
//
// Wait, Waiter and Pacer are the interfaces of wait-time strategies; the
// strategies themselves (Between, Constant, ConstantPacing,
// ConstantThroughput) are in the user package.
package taskset
