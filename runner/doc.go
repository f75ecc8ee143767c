// Package runner starts, paces, changes and stops simulated users.
//
// It owns the dispatcher, pure functions that decide how many users of each
// class run and where: [SpawnOrder] (the order users of several classes are
// spawned in, fixed counts first, then a smooth weighted order: weights 5:1
// give AAABAAAAABAA), [Targets] (per-class counts for N users, summing to
// exactly N) and [Distribute] (per-class counts over W workers, balanced to
// within one user).
//
// [Local] runs users in this process: one goroutine per user, spawned at the
// spawn rate with Locust's arithmetic (max(1, floor(rate)) users per step,
// a step every users/rate seconds, no sleep after the last), keeping the
// class mix while ramping; the user count can change mid-run, and a ramp
// down stops the newest users first at the same rate. Stop lets running
// tasks finish within the stop timeout, then cancels the users' contexts.
package runner
