// Package runner starts, paces, changes and stops simulated users: in this
// process ([Local]), or over a cluster ([Master] splits users over
// [Worker]s and merges their statistics exactly), under the load model the
// run asks for (a fixed count, a [Shape] such as [Stages] or [Steps], an
// open arrival rate through [NewArrivalGate], an iteration limit through
// [NewIterationLimit]), composed once by a [LoadModel].
//
// # One engine
//
// One lifecycle (lifecycle.go: start, ramp, change users, stop, quit,
// waiting for a state) is embedded by [Local] and [Master]; what a ramp
// step does is theirs (spawn users here, send targets to workers). A
// [Worker] runs each test the master starts on a Local of its own, so a
// standalone run, locust.RunHeadless and every worker run users through
// the same code; the master plans and merges, it never runs users. A
// [LoadModel] ([Load]: shape, arrival rate, iteration limit) drives any
// [Driver] (a Local, or a Master whose workers carry out their share
// through the same LoadModel over their Local), run by run ([LoadRun]).
//
// # Dispatcher
//
// Pure functions decide how many users of each class run and where; the local
// runner and the master use them:
//
//   - [Targets]: per-class counts for N users, summing to exactly N. Fixed
//     counts first; the rest split by weight with the largest-remainder
//     method (ties to the lower class index), so every class gets its exact
//     share rounded up or down.
//   - [Distribute]: per-class counts over W workers, as Locust deals users
//     round-robin over its ordered workers: column sums exact, worker totals
//     and per-class counts within one of each other. 7 users over 5 workers
//     give 2,2,1,1,1. O(W × classes): 1,000,000 users of 50 classes over
//     10,000 workers take a few milliseconds.
//   - [Adjust]: moves a worker distribution to new per-class targets with
//     the fewest changes while keeping workers level, for a master's ramp.
//
// Classes keep the order they are given in (Locust sorts them by name).
// Users of several classes are spawned with fixed-count classes first
// (round-robin until each has its count), then the weighted classes in
// smooth weighted round-robin order: weights 5:1 give AAABAAAAABAA.
//
// # Local runner
//
// [Local] runs users in this process, one goroutine per user, owned by an
// internal user pool that spawns a user of a class, stops the newest users of
// a class, or stops them all.
//
// Spawning follows Locust's arithmetic: max(1, floor(rate)) users per step, a
// step every users/rate seconds measured from the first (so the time spawning
// takes is not added), no sleep after the last step: rate 0.5 spawns a user
// every 2 s, rate 2.5 two users every 0.8 s. A ramp heads for [Targets] of the
// new user count and keeps the class mix on the way: additions follow the
// smooth weighted order (a class leaves the rotation once it has its target),
// removals stop the newest live user among the classes above target. The same
// rate applies up and down. A new Start during a ramp redirects it from where
// it stands.
//
// Stopping closes every user's Env.Stopping (a waiting user leaves at once),
// lets running tasks finish within StopTimeout, then cancels the users'
// contexts and waits at most user.OnStopGrace (OnStop runs with a context of
// its own, bounded by it) plus StopGrace more. Users that ignore their context
// are then left running and counted in a warning, so Stop never hangs. Users
// removed by a ramp-down get the same StopTimeout, in the background.
//
// Choices worth knowing:
//   - A user that ends by itself (user.ErrStopUser, a closed Gate, a panic,
//     which is recovered and recorded as an exception) is not replaced and no
//     longer counts.
//   - user.ErrStopTest does not stop the runner by itself: the first reason is
//     delivered on [Local.StopTest] and the owner decides (Quit when
//     headless, Stop in the web UI).
//   - Env.Seq is 0..n-1 per class in a steady state: the number of a user
//     that has exited is reused, smallest first, but not while the user that
//     held it may still be running (a ramp-down within its stop timeout).
//   - A fresh test (Start from ready or stopped) resets the stats registry
//     and runs OnTestStart; a change of user count does neither. The hooks
//     run while Start/Stop hold the runner and must not call them.
//   - [Local.WaitState], [Master.WaitState] and [Worker.WaitState] wait for a
//     state (after Start, StateRunning once the ramp is complete) without
//     polling; [Master.WaitUsers] waits for the workers' reported count.
//   - Env.Rand of user i is seeded from Options.Seed and i, so a run with a
//     fixed seed gives each user the same random stream again.
//
// # Master and workers
//
// [Master] serves the gRPC side of package transport, waits for workers,
// ramps the cluster at the global spawn rate by sending each worker absolute
// per-class targets ([Targets], [Distribute], [Adjust]), rebalances when
// workers join, leave or go missing, and folds the workers' stats deltas
// into one registry, histogram by histogram, so cluster percentiles are
// exact. [Worker] connects (with retries and backoff), runs each test on a
// [Local] (built on the test's first spawn with its host, tags, class
// settings and custom parameters, its share of a load model run by a
// [LoadRun]; each spawn's targets applied at once, as a ramp of one step),
// runs WorkerOptions.OnTestStart and OnTestStop through that Local,
// heartbeats every second, sends a delta every 3 s and a final one on
// stop, and reconnects after a master restart. See the README's "Distributed mode" for the behaviour in full.
//
// # Load models
//
// A [Shape] is ticked about once a second ([RunShape]) and sets the user
// count and spawn rate; [Stages] and [Steps] are built in. The open model
// hands iterations to idle users of a pool on a smooth schedule
// ([NewArrivalGate]): an iteration due while every user is busy is dropped
// and counted, never queued or burst later, and its wait is back-filled into
// the corrected (coordinated-omission) latency. [NewIterationLimit] stops a
// run after exactly N iterations.
//
// # Where do I change X
//
// How a worker report is merged: in [ReportSum.Add] (report_sum.go), the
// one decoder, folding into stats.Entry.Merge (stats/merge.go). In full: a
// worker turns its delta into a
// locustpb.StatsReport with [SnapshotToReport] (wire.go); the master
// decodes it with [ReportSum.Add] (report_sum.go, the one decoder, also
// behind [ReportToSnapshot]) and folds the sum into its registry every
// 250 ms (master_merge.go). Two entries combine in exactly one place,
// stats.Entry.Merge and its tally (stats/merge.go), which the registry,
// the master and the threshold evaluator all use. A new field travels
// through locust.proto (StatsEntry), SnapshotToReport, ReportSum.Add and
// stats/merge.go; testdata/wire pins the merged numbers.
//
// How a wait strategy is added: implement taskset.Wait (NewWaiter returns
// a per-user Waiter whose Pause says how long to wait after a task) next
// to user.Between and user.Constant in user/wait.go; the user loop
// (user.Class.Run) calls it, and the runner needs no change. A strategy
// that paces from the intended start also records the corrected latency.
//
// How an HTTP option is added: add an optKind and its constructor beside
// user.Name and user.Timeout in user/httpoption.go and read it in
// parseOptions there; a header every request carries is set in
// httpCall.setHeaders (user/httpcall.go): both clients (user.HTTP on
// fasthttp and user.NetHTTP) share that front half of a call. An option that is a
// verdict rule can be built on user.Check, as user.ExpectStatus is
// (user/shortcuts.go).
//
// How a REST endpoint is added: register the route in webui.Server's
// routes (webui/server.go), with its handler in webui/api.go; it reaches
// the run through the webui.Controller interface (webui/controller.go),
// which package locust implements (locust/web.go). New POST routes are
// for operators unless webui/access.go lists them otherwise.
//
// How a load model is added: in [Load] and [LoadRun.Start] (load.go,
// load_run.go), the one place that composes models for standalone runs,
// masters and workers alike. In full: a model that sets users and spawn
// rate over time is a [Shape] (shape.go: [Stages], [Steps]) set as
// Load.Shape; one that admits iterations is a user.IterationGate like
// [NewArrivalGate] (arrival.go) or [NewIterationLimit] (iterations.go),
// built in gateOf (load.go); a split over workers goes in [ClusterLoad]
// (cluster_load.go), whose share each worker runs as a Load. Its flag and
// parser go in locust/load_flags.go and its field in locust.LoadConfig,
// which locust converts to a Load (LoadConfig.model in locust/load.go).
package runner
