package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/param"
	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/transport"
	"github.com/golocust/golocust/user"
)

// Cluster timing, as in Locust (runners.py).
const (
	DefaultHeartbeatInterval = time.Second
	DefaultHeartbeatLiveness = 3 // intervals without a heartbeat before a worker is missing
	DefaultMissingForget     = 60 * time.Second
	DefaultReportInterval    = 3 * time.Second
	DefaultMasterTimeout     = 60 * time.Second
	// stopWaitExtra is added to the stop timeout for the master's wait
	// for every worker to report it stopped (Locust: stop_timeout + 60 s).
	stopWaitExtra   = 60 * time.Second
	quitWait        = 5 * time.Second
	defaultRampTick = time.Second
)

// maxWorkerLogLines is how many of a worker's log lines the master keeps
// (the newest).
const maxWorkerLogLines = 500

// ErrNoWorkers is returned by Master.Start when no worker is connected.
var ErrNoWorkers = errors.New("you can't start a distributed test before at least one worker process has connected")

// ErrGaveUpWaiting is returned by Master.WaitForWorkers when
// --expect-workers-max-wait passes.
var ErrGaveUpWaiting = errors.New("gave up waiting for workers to connect")

// MasterOptions configure a Master.
type MasterOptions struct {
	Classes  []user.Spawner
	Registry *stats.Registry // nil: a new registry
	Logger   *zap.Logger
	Host     string // the run's host, sent to workers
	// StopTimeout is sent to workers with every spawn.
	StopTimeout       time.Duration
	Tags, ExcludeTags []string
	ResetStats        bool
	// Traceparent is sent to workers with every spawn: their users' calls
	// carry a W3C traceparent header (user.Traced), as with --traceparent
	// on a standalone run.
	Traceparent bool
	// Server configures the gRPC listener (bind address, TLS, token).
	Server transport.ServerOptions
	// DisableRebalancing keeps users where they are when workers join or
	// leave during a run (rebalancing is on by default).
	DisableRebalancing bool
	// Load, when set, is the load model every test runs: an arrival rate
	// and/or an iteration limit, split over the workers when the test
	// starts (see ClusterLoad). With an arrival rate, Start's user count
	// is ignored (each worker's schedule sizes its pool). LoadDone says
	// when every worker's share is over.
	Load *ClusterLoad

	// OnWorker, when set, hears of workers joining ("joined"), leaving
	// ("left") and losing their stream ("missing"), with the worker's id
	// and address (for an audit log). Keep it short.
	OnWorker func(event, id, peer string)

	HeartbeatInterval time.Duration // default 1 s
	HeartbeatLiveness int           // default 3
	MissingForget     time.Duration // default 60 s
	// UserLimit is the most users Start accepts across the cluster (0:
	// DefaultUserLimit); more is refused with ErrTooManyUsers.
	UserLimit int
}

// WorkerInfo describes one worker as the master sees it.
type WorkerInfo struct {
	ID          string
	Index       int
	State       State
	UserCount   int
	CPUPercent  float64
	MemoryBytes uint64
	// LagP50 and LagP99 are the worker's generator lag (how late its paced
	// and arrival-rate iterations started) over its last stats report;
	// zero when it had none.
	LagP50, LagP99 time.Duration
}

// workerNode is the master's record of one worker.
type workerNode struct {
	id       string
	host     string // the worker's hostname (from its hello)
	index    int
	sess     *transport.Session
	state    State
	lastSeen time.Time
	missedAt time.Time // when it went missing
	cpu      float64
	mem      uint64
	users    int
	classes  map[string]int
	assigned []int         // per class, what it was last told
	stopWait chan struct{} // closed when it answers a Stop (or is gone)
	quitting bool          // said goodbye or quit: leaving for good
	cpuWarn  bool
	lag      [2]time.Duration // p50, p99 of the last report's generator lag
}

func (w *workerNode) active() bool {
	return w.sess != nil && w.state != StateMissing && !w.quitting
}

// Master is the master of a cluster: it accepts workers, splits users over
// them with the dispatcher, ramps at the global spawn rate, rebalances when
// workers come and go, and merges their stats reports into one registry.
//
// Start, Stop and Quit are serialised; the getters may be called at any
// time. Start with no worker connected returns an error wrapping
// ErrNoWorkers.
//
// The master is in parts, one file each: master.go (this type, options,
// getters), master_lifecycle.go (Start, ramp, Stop, Quit),
// master_members.go (membership and liveness), master_dispatch.go
// (dispatch, numbering, rebalancing), master_handlers.go (one handler per
// message type), master_merge.go (merging the workers' stats).
//
// Locking: the lock order is ctl, then dmu, then mu; coal and wake have
// their own locks and are taken with none or any of those held, never the
// other way round. Sends to a worker's session happen outside mu.
type Master struct {
	// Set by NewMaster, then read-only.
	o       MasterOptions
	log     *zap.Logger
	reg     *stats.Registry
	coal    *coalescer
	srv     *transport.Server
	ctx     context.Context // the master's life
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	served  chan struct{}
	hbEvery time.Duration

	dmu sync.Mutex // serialises dispatches (compute and send)

	// lifecycle is the test's state machine (lifecycle.go): its ctl
	// serialises Start, Stop, Quit and Configure; its wake is also
	// notified when a worker's counts change; its mu guards everything
	// below. mu is held briefly: never across a send, a wait or a call
	// into user code (custom handlers run after Unlock).
	lifecycle
	classes   []user.Spawner
	names     []string
	weights   []int
	fixed     []int
	host      string
	settings  []*locustpb.ClassSettings // class picker edits, sent with every Spawn
	params    param.Values              // custom parameters, sent with every Spawn
	workers   map[string]*workerNode
	cluster   []int // per class, the counts last dispatched
	rows      [][]int
	rowIDs    []string // the workers rows belongs to, in order
	seq       uint64
	seqBase   int64            // Env.Seq numbering epoch of this test
	seqStride int              // workers in the epoch; 0 before the first
	seqAdded  map[string][]int // per worker, users per class it was told to add this test
	handlers  map[string]func(workerID string, data []byte)
	unknownCT map[string]bool
	joined    chan struct{} // closed and replaced whenever a worker joins
	plan      *loadPlan     // the current test's split of o.Load; nil without one
	// logs are the last log lines each known worker shipped.
	logs workerLogs
}

// NewMaster binds the listener and starts serving workers. Quit (or
// Close) ends everything it started.
func NewMaster(o MasterOptions) (*Master, error) {
	if len(o.Classes) == 0 {
		return nil, errors.New("runner: no user classes given")
	}
	if o.StopTimeout < 0 {
		return nil, fmt.Errorf("runner: negative stop timeout %v", o.StopTimeout)
	}
	if o.Load != nil {
		if err := o.Load.Validate(); err != nil {
			return nil, err
		}
	}
	o.HeartbeatInterval = orDefault(o.HeartbeatInterval, DefaultHeartbeatInterval)
	o.HeartbeatLiveness = orDefault(o.HeartbeatLiveness, DefaultHeartbeatLiveness)
	o.MissingForget = orDefault(o.MissingForget, DefaultMissingForget)
	log, reg := orDefaults(o.Logger, o.Registry)
	m := &Master{
		o: o, log: log, reg: reg, hbEvery: o.HeartbeatInterval,
		served: make(chan struct{}), lifecycle: newLifecycle(),
		workers: map[string]*workerNode{}, handlers: map[string]func(string, []byte){},
		unknownCT: map[string]bool{}, joined: make(chan struct{}),
		coal: newCoalescer(reg), seqAdded: map[string][]int{},
	}
	if err := m.configure(o.Classes, o.Host); err != nil {
		return nil, err
	}
	so := o.Server
	so.Logger = cmp.Or(so.Logger, log)
	srv, err := transport.NewServer(so)
	if err != nil {
		return nil, err
	}
	m.srv = srv
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.wg.Add(4)
	go m.foldLoop()
	go func() {
		defer m.wg.Done()
		defer close(m.served)
		if err := srv.Serve(m.ctx); err != nil {
			log.Error("master: serving workers failed", zap.Error(err))
		}
	}()
	go m.acceptLoop()
	go m.checkLoop()
	log.Info("master listening for workers", zap.String("addr", srv.Addr().String()))
	return m, nil
}

// Addr is the address workers connect to.
func (m *Master) Addr() string { return m.srv.Addr().String() }

// Registry is the merged stats registry.
func (m *Master) Registry() *stats.Registry { return m.reg }

// SetParams sets the custom parameters sent to the workers with every
// spawn of the next test (Locust sends its options with each spawn).
func (m *Master) SetParams(v param.Values) {
	m.mu.Lock()
	m.params = v
	m.mu.Unlock()
}

// Configure sets the user classes and host of the next test (between
// tests; a running test keeps its own).
func (m *Master) Configure(classes []user.Spawner, host string) error {
	m.ctl.Lock()
	defer m.ctl.Unlock()
	m.mu.Lock()
	st := m.state
	m.mu.Unlock()
	if st == StateSpawning || st == StateRunning {
		return errors.New("runner: stop the running test before changing its classes or host")
	}
	return m.configure(classes, host)
}

func (m *Master) configure(classes []user.Spawner, host string) error {
	if err := checkSpawners(classes); err != nil {
		return err
	}
	var names []string
	var weights, fixed []int
	for _, c := range classes {
		n := c.ClassName()
		if c.ClassFixedCount() < 0 || c.ClassWeight() < 0 {
			return fmt.Errorf("runner: user class %q has a negative weight or fixed count", n)
		}
		names = append(names, n)
		weights = append(weights, c.ClassWeight())
		fixed = append(fixed, c.ClassFixedCount())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.classes, m.names, m.weights, m.fixed, m.host = classes, names, weights, fixed, host
	m.settings = classSettings(m.o.Classes, classes)
	m.cluster = make([]int, len(names))
	m.rows, m.rowIDs = nil, nil
	for _, w := range m.workers {
		w.assigned = nil
	}
	return nil
}

// WaitUsers waits until the workers report n users in all (UserCount),
// without polling. It returns an error when ctx ends first, or wrapping
// ErrQuit when the master quits.
func (m *Master) WaitUsers(ctx context.Context, n int) error {
	return waitUntil(ctx, &m.wake, m.done, func() bool { return m.UserCount() == n }, fmt.Sprintf("%d users", n), m.State)
}

// UserCount is the sum of the users the workers report.
func (m *Master) UserCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, w := range m.workers {
		if w.state != StateMissing {
			n += w.users
		}
	}
	return n
}

// ClassCounts sums the per-class user counts the workers report.
func (m *Master) ClassCounts() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.names))
	for _, n := range m.names {
		out[n] = 0
	}
	for _, w := range m.workers {
		if w.state == StateMissing {
			continue
		}
		for k, v := range w.classes {
			out[k] += v
		}
	}
	return out
}

func (m *Master) signalStopTest(err error) { m.offerStopTest(err) }

// LoadDone is closed once every worker's share of the current test's load
// model (MasterOptions.Load) is over: its schedule ended or its iterations
// ran, and its users left (or the worker went away). nil, which blocks,
// without a load model or before the first test.
func (m *Master) LoadDone() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.plan == nil {
		return nil
	}
	return m.plan.doneC
}

// Iterations returns the iterations run and dropped in the current (or
// last) test across the workers, as of their latest reports (exact after
// Stop), and whether a load model counts them.
func (m *Master) Iterations() (run, dropped int64, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.o.Load == nil {
		return 0, 0, false
	}
	if m.plan == nil {
		return 0, 0, true
	}
	run, dropped = m.plan.totals()
	return run, dropped, true
}
