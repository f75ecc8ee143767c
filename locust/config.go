package locust

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/internal/bounds"
	"github.com/golocust/golocust/internal/selection"
	"github.com/golocust/golocust/internal/timespan"
	"github.com/golocust/golocust/param"
	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/threshold"
	"github.com/golocust/golocust/user"
)

// Config is everything one run needs. Main fills it from flags and the
// environment; RunHeadless takes it from a test. A zero field means its
// default (the value DefaultConfig holds), so Config{} runs as
// DefaultConfig does, except for the fields whose zero means something of
// its own: Users 0 starts no user (RunHeadless: one), Web.Port 0 picks a
// free port, RunTime 0 runs until stopped, and RunHeadless starts all
// users at once when SpawnRate is 0 (elsewhere 0 spawns one a second, as
// DefaultConfig does).
type Config struct {
	// Users is the peak number of concurrent users (-u/--users).
	Users int
	// UserLimit is the most users a run may ask for, from -u, the web UI
	// or a shape (--user-limit); 0 means runner.DefaultUserLimit (100,000).
	UserLimit int
	// SpawnRate is how many users start (or stop) per second
	// (-r/--spawn-rate). Zero in RunHeadless starts all users at once.
	SpawnRate float64
	// RunTime stops the run after this long (-t/--run-time); zero runs
	// until stopped.
	RunTime time.Duration
	// Host is the base URL of the target (-H/--host); it overrides each
	// class's own Host.
	Host string
	// StopTimeout lets running tasks finish for up to this long when the
	// run stops (-s/--stop-timeout); waiting users stop at once.
	StopTimeout time.Duration
	// Tags keeps only tasks having any of them (-T/--tags); ExcludeTags
	// drops tasks having any of them (-E/--exclude-tags).
	Tags, ExcludeTags []string
	// Classes runs only the user classes with these names (positional
	// arguments); empty runs them all.
	Classes []string
	// ResetStats resets the statistics once spawning completes.
	ResetStats bool

	// Headless runs without the web UI and starts at once.
	Headless bool
	// Autostart starts the run at once with the web UI still up; RunTime
	// then stops the run (the web UI stays up).
	Autostart bool
	// Autoquit ends the process AutoquitAfter after an autostarted run has
	// ended, whether by RunTime, by its load model, by a user's
	// ErrStopTest, by a threshold or by Stop in the web UI (--autoquit N,
	// as Locust's; only with Autostart). A run started from the web UI in
	// the meantime puts the quit off until that run ends.
	Autoquit      bool
	AutoquitAfter time.Duration
	// List prints the user classes and exits (-l/--list).
	List bool
	// headful (--headful) overrides a Headless from a file or LOCUST_*.
	headful bool
	// ConfigFile is read after ~/.locust.conf and ./locust.conf (--config
	// or LOCUST_CONFIG); see configfile.go for the format. Only Main and
	// Run read config files; RunHeadless does not.
	ConfigFile string

	// CSVPrefix writes PREFIX_stats.csv, PREFIX_stats_history.csv,
	// PREFIX_failures.csv and PREFIX_exceptions.csv (--csv).
	CSVPrefix string
	// CSVFullHistory writes a history row for every name, not only the
	// Aggregated one (--csv-full-history).
	CSVFullHistory bool
	// JSON prints the final per-name statistics as JSON on stdout.
	JSON bool
	// PrintStats prints the stats table every 2 s even with the web UI.
	PrintStats bool
	// OnlySummary prints no periodic table in headless mode, only the
	// final summary.
	OnlySummary bool
	// HTML writes a self-contained HTML report to this file at the end
	// (--html).
	HTML string
	// JSONFile writes the final statistics and thresholds to NAME.json
	// (--json-file).
	JSONFile string
	// Thresholds are pass/fail objectives judged on the final statistics
	// (--threshold, repeatable): "p95<300ms", "fail_ratio<0.01",
	// "GET /item:p99<500ms". A breach makes the exit code 3; RunHeadless
	// reports each breach with t.Errorf.
	Thresholds []string
	// ThresholdAbort stops the run as soon as a threshold is breached,
	// checked every 2 s after ThresholdDelay.
	ThresholdAbort bool
	// ThresholdDelay is how long --threshold-abort waits before checking.
	ThresholdDelay time.Duration
	// ExitCodeOnError is the exit code when any request failed or a task
	// panicked (--exit-code-on-error). Zero means the default, 1;
	// ExitZeroOnError makes such a run exit 0, as --exit-code-on-error 0
	// does.
	ExitCodeOnError int

	// LogLevel is DEBUG, INFO, WARNING, ERROR or CRITICAL (-L/--loglevel).
	LogLevel string
	// LogFile sends the log there instead of stderr (--logfile).
	LogFile string

	// Web configures the web UI (ignored when Headless).
	Web WebConfig
	// Health configures the /healthz and /readyz probe listener.
	Health HealthConfig
	// Cluster configures distributed mode: master or worker.
	Cluster ClusterConfig
	// Load configures load models beyond closed users: shapes, stages,
	// arrival rate and iteration limits.
	Load LoadConfig
	// Baseline compares the run with an earlier one (--baseline).
	Baseline BaselineConfig

	// OnRequest is called for every request a user records, on the
	// process whose user made it (standalone, or each worker; never the
	// master), like Locust's events.request. It runs on the user's
	// goroutine and must be safe for concurrent use; nil costs nothing.
	// See user.RequestListener.
	OnRequest user.RequestListener

	// OTel exports the request-duration histogram and the user count over
	// OTLP (--otel, Locust's), configured by the standard OTEL_*
	// variables; see package telemetry. A standalone process or the
	// master exports; workers do not.
	OTel bool
	// Traceparent makes every HTTP and gRPC call carry a W3C traceparent
	// header (--traceparent): the run keeps the trace ids of each name's
	// slowest requests (stats.Entry.Exemplars), and --otel exports them as
	// spans. A master sends it to its workers with every spawn.
	Traceparent bool
	// Params are the scenario's custom parameters (Locust's
	// init_command_line_parser arguments), declared with the param
	// package: each is a flag (--name), LOCUST_NAME and a config-file key,
	// shows in the web form (unless param.Hidden; masked if
	// param.Secret), goes to the workers with every spawn, and is read by
	// users from Env.Params and by the hooks from Environment.Params.
	Params []param.Spec
	// ParamValues are the parameters' values as text, by name: the flags,
	// env and config files fill it; a test sets it directly. A parameter
	// not in it has its declared default.
	ParamValues map[string]string

	// OnTestStart runs on this process (standalone or master) before the
	// users of a test start; an error refuses the start. OnTestStop runs
	// once the test's users are gone; its error is logged. A change of the
	// user count is not a new test. Workers do not run them.
	//
	// Deprecated: use Hooks.TestStart and Hooks.TestStop, which also see
	// the run (host, options, custom parameters, runner, stats). Both run
	// when both are set, these first.
	OnTestStart, OnTestStop func(ctx context.Context) error
	// Hooks see the run's Environment at init, test start and test stop
	// (Locust's init, test_start and test_stop events).
	Hooks Hooks

	// Stdout receives the JSON output; nil means os.Stdout.
	Stdout io.Writer
	// Stderr receives the stats tables, and the log when no LogFile and
	// no Logger are given; nil means os.Stderr.
	Stderr io.Writer
	// Logger, when set, is used instead of building one from LogLevel and
	// LogFile.
	Logger *zap.Logger
}

// DefaultConfig returns the values Main starts from before it reads flags
// and the environment: one user, one per second, exit code 1 on errors.
func DefaultConfig() Config {
	return Config{
		Users:           1,
		SpawnRate:       1,
		ExitCodeOnError: 1,
		LogLevel:        "INFO",
		Web:             WebConfig{Host: "127.0.0.1", Port: 8089},
		Health:          HealthConfig{Host: "127.0.0.1"},
	}
}

// ExitZeroOnError, as Config.ExitCodeOnError, makes a run in which
// requests failed or tasks panicked exit 0 (a zero ExitCodeOnError means
// the default, 1).
const ExitZeroOnError = -1

// withDefaults returns c with each zero field that has a default set to
// it: the one place where Config{} becomes DefaultConfig's values. Fields
// whose zero is meaningful (Web.Port 0 picks a free port, RunTime 0 runs
// until stopped, Users 0 starts none) stay as they are.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.ExitCodeOnError == 0 {
		c.ExitCodeOnError = d.ExitCodeOnError
	}
	if c.LogLevel == "" {
		c.LogLevel = d.LogLevel
	}
	if c.Web.Host == "" {
		c.Web.Host = d.Web.Host
	}
	if c.Health.Host == "" {
		c.Health.Host = d.Health.Host
	}
	return c
}

// read validates c and normalises what flags, LOCUST_* variables, config
// files and code all fill alike, through the one parser of each input
// (internal/selection), so that the run sees the same values whichever
// entry set them.
func (c *Config) read() error {
	if err := c.Validate(); err != nil {
		return &UsageError{Msg: err.Error()}
	}
	c.Host, _ = selection.Host(c.Host) // Validate has refused what it cannot read
	c.Tags, c.ExcludeTags = selection.Names(c.Tags), selection.Names(c.ExcludeTags)
	return nil
}

// errorExitCode is the exit code of a run in which requests failed.
func (c *Config) errorExitCode() int {
	if c.ExitCodeOnError == ExitZeroOnError {
		return 0
	}
	return c.ExitCodeOnError
}

// userLimit is the most users a run may ask for.
func (c *Config) userLimit() int {
	if c.UserLimit > 0 {
		return c.UserLimit
	}
	return runner.DefaultUserLimit
}

// maxUsers bounds -u and --user-limit so that an absurd value is a usage
// error, not an out-of-memory crash.
const maxUsers = 10_000_000

// Validate reports every problem with c at once, each naming the flag to
// fix.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Users < 0 || c.Users > maxUsers {
		add("-u/--users is %d: want a whole number from 0 to %d", c.Users, maxUsers)
	} else if c.Users > c.userLimit() {
		add("-u/--users is %d: more than --user-limit %d; raise --user-limit to run that many users", c.Users, c.userLimit())
	}
	if c.UserLimit < 0 || c.UserLimit > maxUsers {
		add("--user-limit is %d: want a whole number from 1 to %d (0: %d)", c.UserLimit, maxUsers, runner.DefaultUserLimit)
	}
	if c.SpawnRate != 0 && bounds.SpawnRate(c.SpawnRate) != nil { // 0: RunHeadless starts every user at once
		add("-r/--spawn-rate is %v: want a number %s", c.SpawnRate, bounds.SpawnRateRange)
	}
	if c.RunTime < 0 || c.RunTime > MaxTimespan {
		add("-t/--run-time is %v: want a span such as 20s, 3m or 1h20m, at most %s", c.RunTime, timespan.MaxText)
	}
	if c.StopTimeout < 0 || c.StopTimeout > MaxTimespan {
		add("-s/--stop-timeout is %v: want a span such as 10s, at most %s", c.StopTimeout, timespan.MaxText)
	}
	if _, err := selection.Host(c.Host); err != nil {
		add("-H/--host is %v", err)
	}
	if c.Autoquit && !c.Autostart {
		add("--autoquit needs --autostart: a headless run quits when it ends, a web UI run waits for you")
	}
	if c.AutoquitAfter < 0 {
		add("--autoquit is %v: want a span such as 10 (seconds) or 1m", c.AutoquitAfter)
	}
	if c.CSVFullHistory && c.CSVPrefix == "" {
		add("--csv-full-history needs --csv PREFIX")
	}
	if _, err := threshold.ParseAll(c.Thresholds); err != nil {
		add("--threshold: %v", err)
	}
	if c.ThresholdDelay < 0 || c.ThresholdDelay > MaxTimespan {
		add("--threshold-delay is %v: want a span such as 30s, at most %s", c.ThresholdDelay, timespan.MaxText)
	}
	if c.ExitCodeOnError < ExitZeroOnError || c.ExitCodeOnError > 255 {
		add("--exit-code-on-error is %d: want an exit code from 0 to 255", c.ExitCodeOnError)
	}
	errs = append(errs, c.validateParams()...)
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if !c.Headless {
		errs = append(errs, c.Web.validate()...)
	}
	errs = append(errs, c.Cluster.validate()...)
	errs = append(errs, c.Load.validate()...)
	errs = append(errs, c.validateShapes()...)
	errs = append(errs, c.validateBaseline()...)
	return errors.Join(errs...)
}

// usageErrorf builds a *UsageError.
func usageErrorf(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}
