package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"

	"github.com/golocust/golocust/internal/bounds"
	locustpb "github.com/golocust/golocust/proto"
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
type Master struct {
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

	ctl  sync.Mutex // serialises Start, Stop, Quit and Configure
	quit bool
	done chan struct{}

	dmu sync.Mutex // serialises dispatches (compute and send)

	wake notifier // notified when the state or a worker's counts change

	mu        sync.Mutex
	classes   []user.Spawner
	names     []string
	weights   []int
	fixed     []int
	host      string
	settings  []*locustpb.ClassSettings // class picker edits, sent with every Spawn
	workers   map[string]*workerNode
	state     State
	cluster   []int // per class, the counts last dispatched
	rows      [][]int
	rowIDs    []string // the workers rows belongs to, in order
	seq       uint64
	gen       uint64
	seqBase   int64            // Env.Seq numbering epoch of this test
	seqStride int              // workers in the epoch; 0 before the first
	seqAdded  map[string][]int // per worker, users per class it was told to add this test
	rampStop  context.CancelFunc
	rampDone  chan struct{}
	stopTest  chan error
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
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.HeartbeatLiveness <= 0 {
		o.HeartbeatLiveness = DefaultHeartbeatLiveness
	}
	if o.MissingForget <= 0 {
		o.MissingForget = DefaultMissingForget
	}
	log := o.Logger
	if log == nil {
		log = zap.NewNop()
	}
	reg := o.Registry
	if reg == nil {
		reg = stats.NewRegistry(stats.Options{})
	}
	m := &Master{
		o: o, log: log, reg: reg, hbEvery: o.HeartbeatInterval,
		done: make(chan struct{}), served: make(chan struct{}),
		workers: map[string]*workerNode{}, state: StateReady,
		stopTest: make(chan error, 1), handlers: map[string]func(string, []byte){},
		unknownCT: map[string]bool{}, joined: make(chan struct{}),
		coal: newCoalescer(reg), seqAdded: map[string][]int{},
	}
	if err := m.configure(o.Classes, o.Host); err != nil {
		return nil, err
	}
	so := o.Server
	if so.Logger == nil {
		so.Logger = log
	}
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
	if len(classes) == 0 {
		return errors.New("runner: no user classes given")
	}
	var names []string
	var weights, fixed []int
	seen := map[string]bool{}
	for _, c := range classes {
		if c == nil {
			return errors.New("runner: nil user class")
		}
		n := c.ClassName()
		if seen[n] {
			return fmt.Errorf("runner: two user classes are named %q; give each a distinct Name", n)
		}
		seen[n] = true
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

// WaitForWorkers waits until at least n workers are ready, logging
// progress every second. maxWait 0 waits until ctx ends; past maxWait it
// returns an error wrapping ErrGaveUpWaiting.
func (m *Master) WaitForWorkers(ctx context.Context, n int, maxWait time.Duration) error {
	start := time.Now()
	var deadline <-chan time.Time
	if maxWait > 0 {
		t := time.NewTimer(maxWait)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		m.mu.Lock()
		have := m.activeLocked()
		joined := m.joined
		m.mu.Unlock()
		if len(have) >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("%w: %d of %d connected after %v", ErrGaveUpWaiting, len(have), n, maxWait)
		case <-joined:
		case <-tick.C:
			lvl := zap.DebugLevel
			if time.Since(start) > 5*time.Second {
				lvl = zap.InfoLevel
			}
			m.log.Log(lvl, fmt.Sprintf("Waiting for workers to be ready, %d of %d connected", len(have), n))
		}
	}
}

// Workers lists the known workers (active and missing), by index.
func (m *Master) Workers() []WorkerInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]WorkerInfo, 0, len(m.workers))
	for _, w := range m.workers {
		out = append(out, WorkerInfo{ID: w.id, Index: w.index, State: w.state, UserCount: w.users, CPUPercent: w.cpu, MemoryBytes: w.mem})
	}
	slices.SortFunc(out, func(a, b WorkerInfo) int {
		if a.Index != b.Index {
			return a.Index - b.Index
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// WorkerCount is the number of workers that take users (not missing).
func (m *Master) WorkerCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.activeLocked())
}

// activeLocked returns the active workers ordered by index (m.mu held).
func (m *Master) activeLocked() []*workerNode {
	var out []*workerNode
	for _, w := range m.workers {
		if w.active() {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b *workerNode) int {
		if a.index != b.index {
			return a.index - b.index
		}
		return strings.Compare(a.id, b.id)
	})
	return out
}

// State is the run state of the cluster.
func (m *Master) State() State {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// setStateLocked changes the state and wakes the waiters. m.mu is held.
func (m *Master) setStateLocked(s State) {
	m.state = s
	m.wake.notify()
}

// WaitState waits until the cluster is in one of states, without polling:
// after Start, WaitState(ctx, StateRunning) returns once every step of the
// ramp is dispatched. It returns an error when ctx ends first, or wrapping
// ErrQuit when the master quits in another state.
func (m *Master) WaitState(ctx context.Context, states ...State) error {
	return waitUntil(ctx, &m.wake, m.done, func() bool { return stateIn(m.State(), states) }, statesText(states), m.State)
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

// StopTest delivers why the run should stop on its own: a user returned
// user.ErrStopTest on a worker (not forwarded yet), or the last worker went
// away. The owner decides (headless: stop and quit).
func (m *Master) StopTest() <-chan error { return m.stopTest }

func (m *Master) signalStopTest(err error) {
	select {
	case m.stopTest <- err:
	default:
	}
}

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

// Done is closed once Quit has finished.
func (m *Master) Done() <-chan struct{} { return m.done }

// Start starts a test with users users spread over the workers and ramped
// at spawnRate users per second across the cluster, or changes the user
// count of the running test.
func (m *Master) Start(users int, spawnRate float64) error {
	if users < 0 {
		return fmt.Errorf("runner: negative user count %d", users)
	}
	if err := checkUserLimit(users, m.o.UserLimit); err != nil {
		return err
	}
	if err := bounds.SpawnRate(spawnRate); err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	m.ctl.Lock()
	defer m.ctl.Unlock()
	if m.quit {
		return ErrQuit
	}
	m.mu.Lock()
	if len(m.activeLocked()) == 0 {
		m.mu.Unlock()
		return fmt.Errorf("runner: %w", ErrNoWorkers)
	}
	fresh := m.state == StateReady || m.state == StateStopped
	if m.o.Load != nil && m.o.Load.Arrival != nil {
		users = 0 // each worker's arrival schedule sizes its pool
	}
	targets := Targets(m.weights, m.fixed, users)
	m.mu.Unlock()
	if fresh {
		select { // a stop request of an earlier test
		case <-m.stopTest:
		default:
		}
		m.coal.discard()
		m.reg.Reset()
	}
	m.waitRamp()
	ctx, cancel := context.WithCancel(m.ctx)
	done := make(chan struct{})
	m.mu.Lock()
	if fresh {
		m.cluster = make([]int, len(m.names))
		m.rows, m.rowIDs = nil, nil
		m.seqBase, m.seqStride, m.seqAdded = 0, 0, map[string][]int{}
		for _, w := range m.workers {
			w.assigned = nil
		}
		m.plan = nil
		if l := m.o.Load; l != nil {
			ws := spreadHosts(m.activeLocked())
			ws = ws[:planWorkers(len(ws), users, l.Arrival != nil)]
			ids := make([]string, len(ws))
			for k, w := range ws {
				ids[k] = w.id
			}
			m.plan = newLoadPlan(ids, l)
			m.log.Info("load model split over the workers", zap.Int("workers", len(ids)),
				zap.Int64("iterations", l.Iterations), zap.Bool("arrival_rate", l.Arrival != nil))
		}
	}
	m.setStateLocked(StateSpawning)
	m.gen++
	gen := m.gen
	m.rampStop, m.rampDone = cancel, done
	m.mu.Unlock()
	m.log.Info("ramping", zap.Int("users", users), zap.Float64("spawn_rate", spawnRate), zap.Int("workers", m.WorkerCount()))
	go m.ramp(ctx, targets, spawnRate, gen, done)
	return nil
}

func (m *Master) waitRamp() {
	m.mu.Lock()
	cancel, done := m.rampStop, m.rampDone
	m.rampStop, m.rampDone = nil, nil
	m.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// ramp moves the cluster from its current counts to targets in steps of
// max(1, floor(rate)) users, a step every step/rate seconds, each step
// dispatched to every worker as absolute targets.
func (m *Master) ramp(ctx context.Context, targets []int, rate float64, gen uint64, done chan struct{}) {
	defer close(done)
	m.mu.Lock()
	n := sum(m.cluster)
	weights, fixed := m.weights, m.fixed
	m.mu.Unlock()
	to := sum(targets)
	cancelled := false
	complete := paceSteps(ctx, rate, func(perStep int) bool {
		switch {
		case n < to:
			n = min(to, n+perStep)
		case n > to:
			n = max(to, n-perStep)
		}
		step := targets
		if n != to {
			step = Targets(weights, fixed, n)
		}
		if ctx.Err() != nil {
			cancelled = true
			return true
		}
		m.dispatch(step, false)
		return n == to
	})
	if !complete || cancelled {
		return
	}
	m.mu.Lock()
	current := m.gen == gen && m.state == StateSpawning
	if current {
		m.setStateLocked(StateRunning)
	}
	ws := m.activeLocked()
	m.mu.Unlock()
	if !current {
		return
	}
	msg := &locustpb.MasterMessage{Kind: &locustpb.MasterMessage_SpawningComplete{SpawningComplete: &locustpb.SpawningComplete{UserCount: int64(to)}}}
	for _, w := range ws {
		_ = w.sess.Send(msg)
	}
	m.log.Info(fmt.Sprintf("All users spawned: %s (%d total users)", formatClassCounts(m.targetMap(targets)), to))
	if m.o.ResetStats {
		m.log.Info("resetting stats")
		m.reg.Reset()
	}
}

// formatClassCounts writes class counts as Locust logs them:
// {"Admin": 1, "Shopper": 9}, sorted by name (not Go's map[...] syntax).
func formatClassCounts(counts map[string]int) string {
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(n))
		b.WriteString(": ")
		b.WriteString(strconv.Itoa(counts[n]))
	}
	b.WriteByte('}')
	return b.String()
}

func (m *Master) targetMap(counts []int) map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.names))
	for i, n := range m.names {
		if i < len(counts) {
			out[n] = counts[i]
		}
	}
	return out
}

// seqInfo is the payload of the reserved seq message: a worker numbers
// the k-th user (class-local, from 0) of class c as Base + k*Stride + Pos[c].

// dispatch sends every active worker its share of the cluster counts.
// When the set of workers changed since the last dispatch (or rebalance is
// set), the users are spread afresh (Distribute), otherwise moved with the
// fewest changes (Adjust).
func (m *Master) dispatch(counts []int, rebalance bool) {
	m.dmu.Lock()
	defer m.dmu.Unlock()
	type out struct {
		sess *transport.Session
		msgs []*locustpb.MasterMessage
	}
	var sends []out
	m.mu.Lock()
	ws := spreadHosts(m.activeLocked())
	if plan := m.plan; plan != nil {
		// Only the workers with a share of the load model take users.
		ws = slices.DeleteFunc(ws, func(w *workerNode) bool { _, ok := plan.part[w.id]; return !ok })
	}
	if len(ws) == 0 {
		m.cluster = slices.Clone(counts)
		m.rows, m.rowIDs = nil, nil
		m.mu.Unlock()
		return
	}
	ids := make([]string, len(ws))
	for k, w := range ws {
		ids[k] = w.id
	}
	fresh := rebalance || !slices.Equal(ids, m.rowIDs) || len(m.rows) != len(ws)
	var rows [][]int
	if fresh {
		rows = Distribute(counts, len(ws))
	} else {
		rows = Adjust(m.rows, counts)
	}
	// Seq numbering: per class, the worker that holds the class's first
	// extra user (Distribute deals round-robin from an offset) is position
	// 0, so that the numbers of a level distribution are 0..n-1.
	//
	// A new distribution during a test starts a new numbering epoch above
	// every number the previous ones can have issued: a worker's users
	// hold class-local numbers below the users it was ever told to add, so
	// the last epoch's numbers are below base + stride × (most added + 1).
	var seqMsgs []*locustpb.MasterMessage
	if fresh {
		if m.seqStride > 0 {
			most := 0
			for _, add := range m.seqAdded {
				for _, n := range add {
					most = max(most, n)
				}
			}
			m.seqBase += int64(m.seqStride) * int64(most+1)
		}
		m.seqStride = len(ws)
		offset := 0
		pos := make([]map[string]int, len(ws))
		for k := range pos {
			pos[k] = make(map[string]int, len(m.names))
		}
		for i, t := range counts {
			for k := range ws {
				pos[k][m.names[i]] = (k - offset + len(ws)) % len(ws)
			}
			if t > 0 {
				offset = (offset + t%len(ws)) % len(ws)
			}
		}
		seqMsgs = make([]*locustpb.MasterMessage, len(ws))
		for k, w := range ws {
			seqMsgs[k] = numberingMessage(seqInfo{Base: m.seqBase, Stride: len(ws), Pos: pos[k]}, w.sess.Hello().GetVersion())
		}
	}
	stopUs := m.o.StopTimeout.Microseconds()
	for k, w := range ws {
		var msgs []*locustpb.MasterMessage
		if seqMsgs != nil {
			msgs = append(msgs, seqMsgs[k])
		}
		if fresh || !slices.Equal(w.assigned, rows[k]) {
			add := m.seqAdded[w.id]
			if add == nil {
				add = make([]int, len(m.names))
				m.seqAdded[w.id] = add
			}
			for i, n := range rows[k] {
				old := 0
				if i < len(w.assigned) {
					old = w.assigned[i]
				}
				if n > old {
					add[i] += n - old
				}
			}
			w.assigned = slices.Clone(rows[k])
			m.seq++
			cc := make(map[string]int64, len(m.names))
			for i, n := range m.names {
				cc[n] = int64(rows[k][i])
			}
			opts := &locustpb.RunOptions{Tags: m.o.Tags, ExcludeTags: m.o.ExcludeTags, ResetStats: m.o.ResetStats, Classes: m.settings}
			if m.plan != nil {
				opts.Arrival = m.o.Load.share(m.plan.part[w.id], m.plan.parts, m.plan.runID)
			}
			msgs = append(msgs, &locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Spawn{Spawn: &locustpb.Spawn{
				Sequence: m.seq, UserClassCounts: cc, Host: m.host, StopTimeoutUs: stopUs,
				Options: opts,
			}}})
		}
		if len(msgs) > 0 {
			sends = append(sends, out{w.sess, msgs})
		}
	}
	m.cluster = slices.Clone(counts)
	m.rows, m.rowIDs = rows, ids
	m.mu.Unlock()
	for _, s := range sends {
		for _, msg := range s.msgs {
			if err := s.sess.Send(msg); err != nil {
				m.log.Debug("sending to a worker failed", zap.String("worker", s.sess.ID()), zap.Error(err))
				break
			}
		}
	}
}

// spreadHosts orders workers so that users are spread over hosts first,
// as Locust does: the first worker of every host (hosts in the order of
// their lowest worker index), then the second of every host, and so on.
func spreadHosts(ws []*workerNode) []*workerNode {
	byHost := map[string][]*workerNode{}
	var hosts []string
	for _, w := range ws {
		h := w.host
		if _, ok := byHost[h]; !ok {
			hosts = append(hosts, h)
		}
		byHost[h] = append(byHost[h], w)
	}
	if len(hosts) <= 1 {
		return ws
	}
	out := make([]*workerNode, 0, len(ws))
	for k := 0; len(out) < len(ws); k++ {
		for _, h := range hosts {
			if k < len(byHost[h]) {
				out = append(out, byHost[h][k])
			}
		}
	}
	return out
}

// rebalance spreads the running users afresh over the active workers
// (after a join, a leave or a worker going missing).
func (m *Master) rebalance(why string) {
	m.mu.Lock()
	st := m.state
	counts := slices.Clone(m.cluster)
	n := len(m.activeLocked())
	m.mu.Unlock()
	if st != StateSpawning && st != StateRunning {
		return
	}
	if n == 0 {
		m.log.Warn("The last worker went away, stopping test", zap.String("reason", why))
		m.signalStopTest(errors.New("the last worker went away: " + why))
		return
	}
	if m.o.DisableRebalancing && !strings.HasPrefix(why, "worker left") {
		return
	}
	m.log.Info("rebalancing users over the workers", zap.String("reason", why), zap.Int("workers", n))
	m.dispatch(counts, true)
}

// Stop stops the test on every worker and waits until each has reported
// it stopped (after its final stats, which are merged by then), at most
// the stop timeout plus a minute.
func (m *Master) Stop() {
	m.ctl.Lock()
	defer m.ctl.Unlock()
	m.stopLocked()
}

func (m *Master) stopLocked() {
	m.mu.Lock()
	if m.state != StateSpawning && m.state != StateRunning {
		m.mu.Unlock()
		return
	}
	m.setStateLocked(StateStopping)
	m.mu.Unlock()
	m.waitRamp()
	m.dmu.Lock() // no dispatch after the stop
	m.mu.Lock()
	var waits []chan struct{}
	var sess []*transport.Session
	for _, w := range m.workers {
		if w.sess == nil {
			continue
		}
		sess = append(sess, w.sess)
		if w.active() { // a silent (missing) worker is not waited for
			w.stopWait = make(chan struct{})
			waits = append(waits, w.stopWait)
		}
	}
	m.mu.Unlock()
	stop := &locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Stop{Stop: &locustpb.Stop{}}}
	for _, s := range sess {
		_ = s.Send(stop)
	}
	m.dmu.Unlock()
	deadline := time.NewTimer(m.o.StopTimeout + stopWaitExtra)
	defer deadline.Stop()
	for _, ch := range waits {
		select {
		case <-ch:
		case <-deadline.C:
			m.log.Warn("Timeout waiting for all workers to stop")
			deadline.Reset(0)
		}
	}
	m.coal.fold()
	m.mu.Lock()
	m.setStateLocked(StateStopped)
	m.cluster = make([]int, len(m.names))
	m.rows, m.rowIDs = nil, nil
	for _, w := range m.workers {
		w.assigned = nil
		w.stopWait = nil
	}
	m.mu.Unlock()
	m.log.Info("test stopped")
}

// Quit stops the test, tells every worker to quit, waits briefly for them
// to leave, and stops serving.
func (m *Master) Quit() {
	m.ctl.Lock()
	defer m.ctl.Unlock()
	if m.quit {
		return
	}
	m.stopLocked()
	m.quit = true
	m.mu.Lock()
	var sess []*transport.Session
	for _, w := range m.workers {
		if w.sess != nil {
			w.quitting = true
			sess = append(sess, w.sess)
		}
	}
	m.mu.Unlock()
	q := &locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Quit{Quit: &locustpb.Quit{Reason: "the master quits"}}}
	for _, s := range sess {
		_ = s.Send(q)
	}
	t := time.NewTimer(quitWait)
	defer t.Stop()
	for _, s := range sess {
		select {
		case <-s.Done():
		case <-t.C:
			t.Reset(0)
		}
	}
	m.close()
	close(m.done)
}

// Close stops serving at once, without telling workers to quit (they
// reconnect to the next master). Quit is the orderly way.
func (m *Master) Close() {
	m.ctl.Lock()
	defer m.ctl.Unlock()
	m.waitRamp()
	m.close()
}

func (m *Master) close() {
	m.cancel()
	m.wg.Wait()
	m.coal.fold()
}

// foldLoop folds the coalesced reports into the registry every
// mergeInterval.
func (m *Master) foldLoop() {
	defer m.wg.Done()
	t := time.NewTicker(mergeInterval)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
			m.coal.fold()
		}
	}
}

// RegisterHandler registers the handler of a custom message type sent by
// workers. Registering a type twice is an error. Handlers run on the
// sending worker's receive goroutine: keep them short.
func (m *Master) RegisterHandler(typ string, fn func(workerID string, data []byte)) error {
	return addHandler(&m.mu, m.handlers, typ, fn, fn == nil)
}

// addHandler registers fn for a custom message type in handlers, guarded
// by mu: the master's and the worker's registries follow the same rules.
func addHandler[F any](mu *sync.Mutex, handlers map[string]F, typ string, fn F, isNil bool) error {
	if typ == "" || strings.HasPrefix(typ, reservedPrefix) {
		return fmt.Errorf("runner: custom message type %q is empty or reserved", typ)
	}
	if isNil {
		return errors.New("runner: nil custom message handler")
	}
	mu.Lock()
	defer mu.Unlock()
	if _, ok := handlers[typ]; ok {
		return fmt.Errorf("runner: a handler for custom message type %q is already registered", typ)
	}
	handlers[typ] = fn
	return nil
}

// Send sends a custom message to one worker, or to every connected worker
// when workerID is "".
func (m *Master) Send(typ string, data []byte, workerID string) error {
	msg := &locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Custom{Custom: &locustpb.Custom{Type: typ, Data: data}}}
	m.mu.Lock()
	var sess []*transport.Session
	for _, w := range m.workers {
		if w.sess != nil && (workerID == "" || w.id == workerID) {
			sess = append(sess, w.sess)
		}
	}
	m.mu.Unlock()
	if workerID != "" && len(sess) == 0 {
		return fmt.Errorf("runner: no connected worker %q", workerID)
	}
	var errs []error
	for _, s := range sess {
		errs = append(errs, s.Send(msg))
	}
	return errors.Join(errs...)
}

func (m *Master) acceptLoop() {
	defer m.wg.Done()
	for {
		sess, err := m.srv.Accept(m.ctx)
		if err != nil {
			return
		}
		m.join(sess)
		m.wg.Add(1)
		go m.serveWorker(sess)
	}
}

// join records a worker that completed the handshake (new, or back from
// missing) and gives it users if a test runs.
func (m *Master) join(sess *transport.Session) {
	m.mu.Lock()
	w, back := m.workers[sess.ID()]
	if !back {
		w = &workerNode{id: sess.ID()}
		m.workers[sess.ID()] = w
	}
	wasMissing := back && w.state == StateMissing
	w.sess, w.index, w.state, w.lastSeen = sess, sess.Index(), StateReady, time.Now()
	w.host = sess.Hello().GetHostname()
	w.quitting, w.users, w.classes, w.assigned = false, 0, nil, nil
	w.missedAt = time.Time{}
	close(m.joined)
	m.joined = make(chan struct{})
	outside := false
	if m.plan != nil && (m.state == StateSpawning || m.state == StateRunning) {
		_, in := m.plan.part[sess.ID()]
		outside = !in
	}
	m.mu.Unlock()
	if outside {
		m.log.Info("a worker joined during a run split by a load model (arrival rate or iteration limit): it takes a share from the next run", zap.String("worker", sess.ID()))
	}
	switch {
	case wasMissing:
		m.log.Info("a missing worker came back", zap.String("worker", sess.ID()))
	case back:
		m.log.Info("a worker reconnected", zap.String("worker", sess.ID()))
	}
	m.workerEvent("joined", sess)
	m.rebalance("worker joined: " + sess.ID())
}

func (m *Master) workerEvent(event string, sess *transport.Session) {
	if m.o.OnWorker != nil {
		m.o.OnWorker(event, sess.ID(), sess.Peer())
	}
}

// serveWorker reads one worker's messages until its stream ends.
func (m *Master) serveWorker(sess *transport.Session) {
	defer m.wg.Done()
	clean := false
	for {
		msg, err := sess.Recv()
		if err != nil {
			if errors.Is(err, transport.ErrBadMessage) {
				m.log.Warn("bad message from a worker: telling it to reconnect", zap.String("worker", sess.ID()), zap.Error(err))
				sess.Reconnect("bad message: " + shortErr(err))
				break
			}
			if errors.Is(err, io.EOF) {
				clean = true
				sess.Close(codes.OK, "stream closed by the worker")
			} else {
				m.log.Debug("worker stream ended", zap.String("worker", sess.ID()), zap.Error(err))
			}
			break
		}
		if !m.handle(sess, msg) {
			clean = true
			sess.Close(codes.OK, "goodbye")
			break
		}
	}
	m.left(sess, clean)
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// handle applies one message; false when the worker said goodbye or quit.
func (m *Master) handle(sess *transport.Session, msg *locustpb.WorkerMessage) bool {
	defer m.wake.notify() // a message may change a worker's state or counts
	id := sess.ID()
	m.mu.Lock()
	w := m.workers[id]
	if w == nil || w.sess != sess {
		m.mu.Unlock()
		return true // a replaced stream
	}
	w.lastSeen = time.Now()
	healed := false
	if w.state == StateMissing {
		w.state = StateReady
		w.missedAt = time.Time{}
		healed = true
	}
	m.mu.Unlock()
	if healed {
		m.log.Info("worker self-healed with a heartbeat", zap.String("worker", id))
		m.rebalance("worker back: " + id)
	}
	switch k := msg.GetKind().(type) {
	case *locustpb.WorkerMessage_Heartbeat:
		h := k.Heartbeat
		m.mu.Lock()
		if st := stateFromWire(h.GetState()); st != "" {
			w.state = st
		}
		// The user count comes from spawning-complete and stats messages,
		// which the worker sends in order with its spawns; a heartbeat's
		// count may be older than the last spawn.
		w.cpu, w.mem = h.GetCpuPercent(), h.GetMemoryBytes()
		warn := w.cpu > 90 && !w.cpuWarn
		if warn {
			w.cpuWarn = true
		}
		m.mu.Unlock()
		if warn {
			m.log.Warn("a worker's CPU usage is above 90%: it may not generate the load asked for; add workers", zap.String("worker", id), zap.Float64("cpu_percent", h.GetCpuPercent()))
		}
		_ = sess.Send(&locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Heartbeat{Heartbeat: &locustpb.Heartbeat{}}})
	case *locustpb.WorkerMessage_Spawning:
		m.mu.Lock()
		w.state = StateSpawning
		m.mu.Unlock()
	case *locustpb.WorkerMessage_SpawningComplete:
		sc := k.SpawningComplete
		m.mu.Lock()
		w.state = StateRunning
		w.users, w.classes = int(sc.GetUserCount()), countsFromWire(sc.GetUserClassCounts())
		m.mu.Unlock()
	case *locustpb.WorkerMessage_Stats:
		r := k.Stats
		if err := m.coal.add(r, id); err != nil {
			m.log.Warn("undecodable stats report from a worker: telling it to reconnect", zap.String("worker", id), zap.Error(err))
			sess.Reconnect("undecodable stats report")
			return true
		}
		if r.GetFinal() {
			m.coal.fold()
		}
		m.mu.Lock()
		w.users = int(r.GetUserCount())
		if r.GetUserClassCounts() != nil || r.GetFinal() {
			w.classes = countsFromWire(r.GetUserClassCounts())
		}
		if p := m.plan; p != nil && r.GetRunId() == p.runID {
			if _, ok := p.part[id]; ok {
				p.iters[id] = [2]int64{r.GetIterationsRun(), r.GetIterationsDropped()}
				if r.GetShareDone() {
					p.markDone(id)
				}
			}
		}
		m.mu.Unlock()
	case *locustpb.WorkerMessage_Stopped:
		m.mu.Lock()
		w.state, w.users, w.classes = StateReady, 0, nil
		if w.stopWait != nil {
			close(w.stopWait)
			w.stopWait = nil
		}
		m.mu.Unlock()
	case *locustpb.WorkerMessage_Quit:
		m.log.Info("a worker quit", zap.String("worker", id), zap.String("reason", k.Quit.GetReason()))
		return false
	case *locustpb.WorkerMessage_Goodbye:
		m.log.Info("a worker said goodbye", zap.String("worker", id), zap.String("reason", k.Goodbye.GetReason()))
		return false
	case *locustpb.WorkerMessage_StopTest:
		m.workerStopTest(id, k.StopTest.GetReason())
	case *locustpb.WorkerMessage_Leaving:
		m.workerLeaving(w, id)
	case *locustpb.WorkerMessage_Logs:
		m.addLogs(id, k.Logs.GetLines())
	case *locustpb.WorkerMessage_Custom:
		c := k.Custom
		if wc, ok := controlOf(c); ok { // a 1.0 worker's control message
			switch {
			case wc.stopTest != nil:
				m.workerStopTest(id, wc.stopTest.GetReason())
			case wc.leaving:
				m.workerLeaving(w, id)
			case wc.badLogs != nil:
				m.log.Debug("undecodable log lines from a worker, ignored", zap.String("worker", id), zap.Error(wc.badLogs))
			default:
				m.addLogs(id, wc.logs)
			}
			return true
		}
		m.mu.Lock()
		fn := m.handlers[c.GetType()]
		warn := fn == nil && !m.unknownCT[c.GetType()]
		if warn && len(m.unknownCT) < 1000 {
			m.unknownCT[c.GetType()] = true
		}
		m.mu.Unlock()
		if fn != nil {
			fn(id, c.GetData())
		} else if warn {
			m.log.Warn("unknown message type from a worker: register a handler with RegisterHandler", zap.String("type", c.GetType()), zap.String("worker", id))
		}
	}
	return true
}

func stateFromWire(s locustpb.WorkerState) State {
	switch s {
	case locustpb.WorkerState_WORKER_STATE_READY:
		return StateReady
	case locustpb.WorkerState_WORKER_STATE_SPAWNING:
		return StateSpawning
	case locustpb.WorkerState_WORKER_STATE_RUNNING:
		return StateRunning
	case locustpb.WorkerState_WORKER_STATE_CLEANUP:
		return StateCleanup
	case locustpb.WorkerState_WORKER_STATE_STOPPING:
		return StateStopping
	case locustpb.WorkerState_WORKER_STATE_STOPPED:
		return StateStopped
	}
	return ""
}

func stateToWire(s State) locustpb.WorkerState {
	switch s {
	case StateReady:
		return locustpb.WorkerState_WORKER_STATE_READY
	case StateSpawning:
		return locustpb.WorkerState_WORKER_STATE_SPAWNING
	case StateRunning:
		return locustpb.WorkerState_WORKER_STATE_RUNNING
	case StateCleanup:
		return locustpb.WorkerState_WORKER_STATE_CLEANUP
	case StateStopping:
		return locustpb.WorkerState_WORKER_STATE_STOPPING
	case StateStopped:
		return locustpb.WorkerState_WORKER_STATE_STOPPED
	}
	return locustpb.WorkerState_WORKER_STATE_UNSPECIFIED
}

// left handles the end of a worker's stream: after a goodbye or quit it is
// removed at once; otherwise it is missing (it may come back) until
// MissingForget passes.
func (m *Master) left(sess *transport.Session, clean bool) {
	defer m.wake.notify()
	m.mu.Lock()
	w := m.workers[sess.ID()]
	if w == nil || w.sess != sess {
		m.mu.Unlock()
		return
	}
	w.sess = nil
	if w.stopWait != nil {
		close(w.stopWait)
		w.stopWait = nil
	}
	gone := clean || w.quitting
	lostShare := false
	if gone {
		delete(m.workers, w.id)
		m.logs.forget(w.id)
		if m.plan != nil && (m.state == StateSpawning || m.state == StateRunning) {
			lostShare = m.plan.markDone(w.id) // its unfinished share leaves with it
		}
	} else if w.state != StateMissing {
		w.state = StateMissing
		w.missedAt = time.Now()
		w.users, w.classes = 0, nil
	}
	m.mu.Unlock()
	if m.ctx.Err() != nil {
		return
	}
	if lostShare {
		m.log.Warn("a worker left before its share of the load model was done: the run ends short of it", zap.String("worker", sess.ID()))
	}
	if gone {
		m.log.Info("worker left", zap.String("worker", sess.ID()))
		m.workerEvent("left", sess)
		m.rebalance("worker left: " + sess.ID())
	} else {
		m.log.Warn("worker connection lost: marked missing", zap.String("worker", sess.ID()))
		m.workerEvent("missing", sess)
		m.rebalance("worker missing: " + sess.ID())
	}
}

// workerStopTest: a user on worker id stopped the test.
func (m *Master) workerStopTest(id, reason string) {
	m.log.Info("a user on a worker stopped the test", zap.String("worker", id), zap.String("reason", reason))
	m.signalStopTest(fmt.Errorf("%w (worker %s: %s)", user.ErrStopTest, id, reason))
}

// workerLeaving: worker w is shutting down; its users move now.
func (m *Master) workerLeaving(w *workerNode, id string) {
	m.mu.Lock()
	w.quitting = true
	m.mu.Unlock()
	m.log.Info("a worker is shutting down: moving its users", zap.String("worker", id))
	m.rebalance("worker left: " + id)
}

// addLogs keeps the log lines a worker shipped: the newest
// maxWorkerLogLines per worker, each cut at maxLogLineBytes.
func (m *Master) addLogs(id string, lines []string) {
	if len(lines) > maxWorkerLogLines {
		lines = lines[len(lines)-maxWorkerLogLines:]
	}
	for i, l := range lines {
		lines[i] = truncateLine(l)
	}
	m.mu.Lock()
	full := m.workers[id] != nil && m.logs.add(id, lines) // else forgotten meanwhile
	m.mu.Unlock()
	if full {
		m.log.Warn("the workers' log lines exceed what the master keeps: newer lines of some workers are dropped (see the workers' own logs)",
			zap.Int("max_lines", maxTotalLogLines))
	}
}

// WorkerLogs returns the last log lines each known worker shipped (see
// WorkerOptions.LogLines), oldest first, by worker id.
func (m *Master) WorkerLogs() map[string][]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.logs.copy()
}

// checkLoop marks silent workers missing and forgets long-missing ones.
func (m *Master) checkLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.hbEvery)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case now := <-t.C:
			m.check(now)
		}
	}
}

func (m *Master) check(now time.Time) {
	defer m.wake.notify()
	silent := time.Duration(m.o.HeartbeatLiveness) * m.hbEvery
	var missing, forgotten []string
	m.mu.Lock()
	for id, w := range m.workers {
		switch {
		case w.state == StateMissing:
			if now.Sub(w.missedAt) >= m.o.MissingForget {
				delete(m.workers, id)
				m.logs.forget(id)
				if m.plan != nil && m.plan.markDone(id) {
					forgotten = append(forgotten, id+" (its unfinished share of the load model is lost)")
				} else {
					forgotten = append(forgotten, id)
				}
				if w.sess != nil {
					w.sess.Close(codes.Unavailable, "missing for too long")
				}
			}
		case now.Sub(w.lastSeen) > silent:
			w.state = StateMissing
			w.missedAt = now
			w.users, w.classes = 0, nil
			missing = append(missing, id)
		}
	}
	m.mu.Unlock()
	for _, id := range missing {
		m.log.Warn("worker missed its heartbeats: marked missing", zap.String("worker", id))
	}
	for _, id := range forgotten {
		m.log.Warn("worker missing for too long: forgotten", zap.String("worker", id))
	}
	if len(missing) > 0 || len(forgotten) > 0 {
		m.rebalance("worker missing")
	}
}
