// Package locust is the public entry of golocust: Main turns a program
// holding user classes into Locust's command line (standalone, master
// (--master) or worker (--worker), with a web UI or headless), and
// RunHeadless runs the same code path inside go test and hands back the
// final statistics.
//
// The package owns the process: configuration, flags and environment,
// logging, the outputs (console tables, CSV, JSON, HTML report, metrics),
// thresholds and the web UI's wiring. Running users, load models and the
// cluster belong to package runner, which this package drives through one
// interface, runner.Driver (Start, Stop, Quit, State, counts): a
// runner.Local, or the master (cluster.go), wrapped by the run's
// runner.LoadModel (load.go converts Config.Load into a runner.Load). A
// worker (--worker) is a runner.Worker, which runs each test on a
// runner.Local as a standalone process does.
//
// Everything a run needs is one Config. Main fills it from flags and
// LOCUST_* environment variables (a flag wins over its variable);
// RunHeadless takes it from the test. A zero field means its default, so
// Config{} runs as DefaultConfig, but for the few fields whose zero means
// something of its own (Config says which: Users 0 starts no user).
// Config.Validate is the one place that judges it, so both paths report
// the same errors.
//
// Exit codes follow Locust: 0 when the run went well, Config.ExitCodeOnError
// (default 1) when any request failed or a task panicked, and 2 for a usage
// error (a bad flag, an unknown user class).
package locust
