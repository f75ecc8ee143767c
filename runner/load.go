package runner

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/user"
)

// Load is a run's load model beyond a fixed number of closed users. At
// most one of Shape and Arrival drives the user count; Iterations
// combines with either, or with closed users.
type Load struct {
	// Shape drives the user count over time (Stages, Steps or your own).
	Shape Shape
	// Arrival runs the open model: iterations at a rate, whatever the
	// target's response times.
	Arrival *Arrival
	// Iterations, when > 0, ends the run after exactly this many task
	// iterations across its users.
	Iterations int64
}

// gates tells whether the model hands out iterations (an arrival rate or
// an iteration limit), so that its users need a gate.
func (l Load) gates() bool { return l.Arrival != nil || l.Iterations > 0 }

// Cluster is the part of l a master splits over its workers (the arrival
// rate and the iteration limit): its MasterOptions.Load; nil when l has
// neither.
func (l Load) Cluster() *ClusterLoad {
	if !l.gates() {
		return nil
	}
	return &ClusterLoad{Arrival: l.Arrival, Iterations: l.Iterations}
}

// Driver is what a load model drives: a runner of users. Local and
// Master are Drivers.
type Driver interface {
	Start(users int, spawnRate float64) error
	Stop()
	Quit()
	State() State
	UserCount() int
	ClassCounts() map[string]int
	StopTest() <-chan error
}

// clusterDriver is a master's Driver: its workers carry out the arrival
// rate and the iteration limit, and it knows when every share is done.
type clusterDriver interface {
	LoadDone() <-chan struct{}
	Iterations() (run, dropped int64, ok bool)
}

// ErrUsersDriven refuses a change of the user count while a shape or an
// arrival rate sets it.
var ErrUsersDriven = errors.New("a load shape or arrival rate drives this run; its user count cannot be edited")

// LoadModelOptions configure a LoadModel.
type LoadModelOptions struct {
	Logger *zap.Logger
	// Registry gets the back-filled latencies of the iterations an
	// arrival schedule drops (nil: none recorded).
	Registry *stats.Registry
	// Cluster: the runs are a master's; its workers carry out the arrival
	// rate and iteration limit (MasterOptions.Load is ClusterLoad), and a
	// run ends when every worker's share is done.
	Cluster bool
	// IgnoredUsers: -u/-r were given although the model drives the user
	// count; each run warns once.
	IgnoredUsers bool
}

// LoadModel composes a Load, once, around every run of a process: the
// runs' users take their iterations from Gate, and Drive wraps each run's
// Driver so that the model starts it, drives it and says when it is
// over. Its methods accept a nil *LoadModel, which is no model.
type LoadModel struct {
	l   Load
	o   LoadModelOptions
	log *zap.Logger
	fwd gateForwarder

	mu   sync.Mutex
	last *LoadRun // the latest run
}

// NewLoadModel returns the model l for the runs of a process (an empty
// l: closed users at the count each Start asks, unless a run is given a
// shape).
func NewLoadModel(l Load, o LoadModelOptions) *LoadModel {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return &LoadModel{l: l, o: o, log: o.Logger}
}

// Gate is the Options.Gate of every Local the model drives: nil when the
// model hands out no iterations. It forwards to the current run's gate.
func (m *LoadModel) Gate() user.IterationGate {
	if m == nil || !m.l.gates() {
		return nil
	}
	return &m.fwd
}

// Cluster is the MasterOptions.Load of a master the model drives; nil
// without an arrival rate or iteration limit.
func (m *LoadModel) Cluster() *ClusterLoad {
	if m == nil {
		return nil
	}
	return m.l.Cluster()
}

// Drive wraps the Driver of a new run with the model; shape drives the
// run in place of Load.Shape (a shape chosen for this run; pass
// Load.Shape or nil otherwise). Without a shape, an arrival rate or an
// iteration limit it returns d itself.
func (m *LoadModel) Drive(d Driver, shape Shape) Driver {
	if m == nil || (shape == nil && !m.l.gates()) {
		return d
	}
	r := &LoadRun{Driver: d, m: m, shape: shape, finished: make(chan struct{}, 1)}
	m.mu.Lock()
	m.last = r
	m.mu.Unlock()
	return r
}

// Iterations returns the latest run's iterations run and dropped, and
// whether the model counts them (an arrival rate or iteration limit).
func (m *LoadModel) Iterations() (run, dropped int64, ok bool) {
	if m == nil || !m.l.gates() {
		return 0, 0, false
	}
	m.mu.Lock()
	r := m.last
	m.mu.Unlock()
	if r == nil {
		return 0, 0, true
	}
	return r.counts()
}

// gateForwarder is the stable user.IterationGate handed to every runner;
// it forwards to the current run's gate.
type gateForwarder struct{ cur atomic.Pointer[gateBox] }

type gateBox struct{ g user.IterationGate }

// KeepsClassWait implements user.WaitKeeper for the current run's gate (an
// iteration limit over closed users keeps the class's wait). The gate is
// stored before the run's users start.
func (f *gateForwarder) KeepsClassWait() bool {
	b := f.cur.Load()
	if b == nil {
		return false
	}
	k, ok := b.g.(user.WaitKeeper)
	return ok && k.KeepsClassWait()
}

func (f *gateForwarder) Next(ctx context.Context) (time.Time, bool) {
	b := f.cur.Load()
	if b == nil {
		return time.Time{}, false
	}
	return b.g.Next(ctx)
}

// gateOf builds the gate of a run of l: an arrival schedule, an iteration
// limit over it, or both; nil for neither. warn and omitted go to the
// schedule.
func gateOf(l Load, warn func(string), omitted func(time.Duration)) (g user.IterationGate, a *ArrivalGate, lim *IterationLimit, err error) {
	if l.Arrival != nil {
		cfg := *l.Arrival
		cfg.Warn, cfg.Omitted = warn, omitted
		if a, err = NewArrivalGate(cfg); err != nil {
			return nil, nil, nil, err
		}
		g = a
	}
	if l.Iterations > 0 {
		lim = NewIterationLimit(NewCounter(l.Iterations), g)
		g = lim
	}
	return g, a, lim, nil
}
