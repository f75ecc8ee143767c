package webui

import (
	"errors"
	"time"

	"github.com/golocust/golocust/stats"
)

// Run states as the UI shows them (Locust's strings).
const (
	StateReady    = "ready"
	StateSpawning = "spawning"
	StateRunning  = "running"
	StateCleanup  = "cleanup"
	StateStopping = "stopping"
	StateStopped  = "stopped"
	StateMissing  = "missing"
)

// StartRequest is a validated POST /swarm. When a test is already running it
// edits it: only Users and SpawnRate are set then, the rest is zero.
type StartRequest struct {
	Users     int           // peak number of concurrent users, >= 0
	SpawnRate float64       // users started (or stopped) per second, > 0
	Host      string        // "" keeps the configured host
	RunTime   time.Duration // 0: no time limit
	Classes   []string      // nil: all classes
	// Shape is the shape chosen in the form's "Shape class" select
	// (shape_class, with the class picker; see ShapeChooser): "" for
	// DefaultShape. A chosen shape sets the user count, so Users and
	// SpawnRate may then be zero and one.
	Shape string
	// Params are the form's custom parameters, by name, as text (only
	// those Options.Params declares; an empty secret means "unchanged").
	// The controller checks them and answers a *FieldError naming the
	// parameter.
	Params map[string]string
}

// CustomParam is one of the scenario's custom parameters as the start form
// shows it (Locust's "Custom parameters").
type CustomParam struct {
	Name    string   `json:"name"`          // form field name
	Label   string   `json:"label"`         // what it is for
	Kind    string   `json:"kind"`          // string, int, float, bool or duration
	Value   string   `json:"default_value"` // current value ("" for a secret)
	Choices []string `json:"choices,omitempty"`
	Secret  bool     `json:"is_secret,omitempty"`
	// HasValue tells, for a secret, whether one is set (its value is
	// never sent to the browser).
	HasValue bool `json:"has_value,omitempty"`
}

// WorkerInfo is one row of the Workers tab (master mode only).
type WorkerInfo struct {
	ID          string  `json:"id"`
	State       string  `json:"state"`
	UserCount   int     `json:"user_count"`
	CPUUsage    float64 `json:"cpu_usage"`    // percent of one core
	MemoryUsage int64   `json:"memory_usage"` // bytes
	// LagP50 and LagP99 are the worker's generator lag in ms over its
	// last report (0: none).
	LagP50 float64 `json:"generator_lag_p50"`
	LagP99 float64 `json:"generator_lag_p99"`
}

// Ratio is a share of users (per class) or of task picks (per task), with
// nested task sets in Tasks. It is Locust's /tasks shape.
type Ratio struct {
	Ratio float64          `json:"ratio"`
	Tasks map[string]Ratio `json:"tasks,omitempty"`
}

// TaskRatios is the answer of GET /tasks: the ratio per class (tasks are
// shares within the class) and in total (tasks are shares of all users).
type TaskRatios struct {
	PerClass map[string]Ratio `json:"per_class"`
	Total    map[string]Ratio `json:"total"`
}

// Logs is the answer of GET /logs: the last lines of this process and, in
// master mode, of each worker by id.
type Logs struct {
	Master  []string            `json:"master"`
	Workers map[string][]string `json:"workers"`
}

// Controller is what the web UI needs from the runner. The locust package
// implements it on top of the local or master runner.
//
// All methods are called concurrently from HTTP handlers and must be safe
// for that. Start must not block for the ramp-up; Stop may block until the
// users are gone (the stop timeout).
type Controller interface {
	// Start starts a test, or edits the running one (new user count and
	// spawn rate). It returns a *FieldError (or an error wrapping
	// ErrInvalid) for a request it refuses (answered with 400), an error
	// wrapping ErrNoWorkers or ErrConflict when the request is fine but
	// cannot run now (409); anything else is answered with 500.
	Start(req StartRequest) error
	Stop() error
	ResetStats()
	State() string // one of the State constants
	UserCount() int
	Snapshot() *stats.Snapshot     // cumulative stats
	History() []stats.HistoryPoint // chart history, oldest first
	ClassNames() []string          // user classes that can be picked
	TaskRatio() TaskRatios         // current class and task shares
	Workers() []WorkerInfo         // empty outside master mode
	IsMaster() bool                // distributed mode: shows workers
	Logs() Logs                    // recent log lines
	Host() string                  // the effective target host
}

// Sentinel errors a Controller returns (wrapped or not).
var (
	// ErrInvalid marks a start request the controller refuses: 400.
	ErrInvalid = errors.New("invalid request")
	// ErrNoWorkers means a distributed test cannot start before a worker
	// has connected: 409.
	ErrNoWorkers = errors.New("no workers connected: start at least one worker before starting a distributed test")
	// ErrConflict means the request cannot run in the current state
	// (for example while stopping): 409.
	ErrConflict = errors.New("not possible in the current state")
)

// FieldError is a refused value of one form field of POST /swarm. The UI
// shows Message next to the field named Field.
type FieldError struct {
	Field   string // form field name, e.g. "user_count"
	Message string // what is wrong and what is expected
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Is makes errors.Is(err, ErrInvalid) true for a *FieldError.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// LoadInfo describes the load model driving the run, when there is one
// beyond a fixed number of users.
type LoadInfo struct {
	// Model names it ("stages", "steps", "shape", "arrival rate"); empty
	// for the closed model with a user count.
	Model string
	// ShapeDriven means the model sets the user count: the UI hides the
	// user-count fields.
	ShapeDriven bool
	// Shape is the name of the shape chosen in the form for the current
	// (or last) run, "" for none (see ShapeChooser).
	Shape string
	// DefaultModel and DefaultShapeDriven are Model and ShapeDriven for
	// a run with DefaultShape, read when the controller is a ShapeChooser
	// (without one, Model and ShapeDriven are the default's).
	DefaultModel       string
	DefaultShapeDriven bool
	// Counted means Iterations and Dropped are kept (arrival rate,
	// iteration limit).
	Counted             bool
	Iterations, Dropped int64
}
