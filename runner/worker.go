package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	locustpb "github.com/golocust/golocust/proto"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/transport"
	"github.com/golocust/golocust/user"
)

// DefaultLogInterval is how often a worker ships its new log lines (as
// Locust: 10 s).
const DefaultLogInterval = 10 * time.Second

// Bounds of one log shipment: at most maxShippedLines lines (the newest;
// a first line says how many were skipped), each cut at maxLogLineBytes,
// so a message stays far below the transport's size limit.
const (
	maxShippedLines = 200
	maxLogLineBytes = 2000
)

// ErrMasterGone is returned by Worker.Run when the master has not been
// heard from for WorkerOptions.MasterTimeout and could not be reached again.
var ErrMasterGone = errors.New("no master heard from")

// WorkerOptions configure a Worker.
type WorkerOptions struct {
	Classes  []user.Spawner
	Registry *stats.Registry // nil: a new registry
	Logger   *zap.Logger
	// Host is used when the master sends no host (it sends its -H).
	Host string
	// Client configures the connection to the master (address, TLS,
	// token, retries).
	Client transport.ClientOptions
	// StopGrace bounds the wait for users that ignore their context after
	// the stop timeout (0: DefaultStopGrace). The stop timeout itself comes
	// from the master with every spawn.
	StopGrace time.Duration
	Seed      uint64
	Gate      user.IterationGate
	// OnRequest is called for every request this worker's users record
	// (Locust's events.request, which fires on the worker); see
	// user.RequestListener.
	OnRequest user.RequestListener

	HeartbeatInterval time.Duration // default 1 s
	ReportInterval    time.Duration // default 3 s
	MasterTimeout     time.Duration // default 60 s
	// FenceAfter: a worker that has not heard its master this long stops
	// its users and reconnects (self-fencing, see fence.go); default three
	// heartbeat intervals, at least MinFenceAfter.
	FenceAfter time.Duration

	// LogLines, when set, returns the lines logged since its previous
	// call; every LogInterval (default DefaultLogInterval) the worker
	// sends them to the master, which shows them in its web UI. At most
	// the newest 200 lines go per interval.
	LogLines    func() []string
	LogInterval time.Duration
}

// Worker runs users on behalf of a master: it applies the master's spawn
// targets with a user pool, reports stats deltas every ReportInterval and
// a final one on stop, heartbeats, and reconnects after a master restart or
// a reconnect message.
type Worker struct {
	o      WorkerOptions
	log    *zap.Logger
	reg    *stats.Registry
	client *transport.Client

	connected atomic.Bool
	index     atomic.Int64

	wake notifier // notified on every state change

	mu       sync.Mutex
	state    State
	pool     *userPool
	names    []string // the pool's classes
	weights  []int
	isFixed  []bool
	seqBase  int64
	stride   int
	pos      map[string]int
	stream   *transport.Stream
	handlers map[string]func(data []byte)
	unknown  map[string]bool
	stopTO   time.Duration
	resetOn  bool // reset the stats when the cluster finishes spawning (--reset-stats)
	cpu      cpuMeter
	// share is this worker's share of the latest run's cluster load model
	// (nil: none); driven tells that its arrival schedule sizes the pool
	// (the spawn messages' user counts are then ignored).
	share  *workerShare
	driven bool
	// sent is what the last report said of the share: run, dropped, done.
	sent      [3]int64
	reportNow chan struct{} // asks the serve loop for a report now
}

// NewWorker checks the options and prepares the connection (no I/O).
func NewWorker(o WorkerOptions) (*Worker, error) {
	if len(o.Classes) == 0 {
		return nil, errors.New("runner: no user classes given")
	}
	if o.StopGrace <= 0 {
		o.StopGrace = DefaultStopGrace
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.ReportInterval <= 0 {
		o.ReportInterval = DefaultReportInterval
	}
	if o.MasterTimeout <= 0 {
		o.MasterTimeout = DefaultMasterTimeout
	}
	if o.FenceAfter <= 0 {
		o.FenceAfter = defaultFenceAfter(o.HeartbeatInterval)
	}
	if o.LogInterval <= 0 {
		o.LogInterval = DefaultLogInterval
	}
	if o.Seed == 0 {
		o.Seed = rand.Uint64() | 1
	}
	log := o.Logger
	if log == nil {
		log = zap.NewNop()
	}
	reg := o.Registry
	if reg == nil {
		reg = stats.NewRegistry(stats.Options{})
	}
	seen := map[string]bool{}
	for _, c := range o.Classes {
		if c == nil {
			return nil, errors.New("runner: nil user class")
		}
		if seen[c.ClassName()] {
			return nil, fmt.Errorf("runner: two user classes are named %q; give each a distinct Name", c.ClassName())
		}
		seen[c.ClassName()] = true
	}
	co := o.Client
	if co.Logger == nil {
		co.Logger = log
	}
	client, err := transport.NewClient(co)
	if err != nil {
		return nil, err
	}
	w := &Worker{o: o, log: log, reg: reg, client: client, state: StateReady, stride: 1,
		handlers: map[string]func([]byte){}, unknown: map[string]bool{}, reportNow: make(chan struct{}, 1)}
	w.index.Store(-1)
	return w, nil
}

// ID is the worker id sent to the master.
func (w *Worker) ID() string { return w.client.ID() }

// Connected reports whether the worker has a registered stream to its
// master (readiness).
func (w *Worker) Connected() bool { return w.connected.Load() }

// Index is the worker index the master gave (-1 before the first ack).
func (w *Worker) Index() int { return int(w.index.Load()) }

// Registry is the worker's own stats registry (drained into reports).
func (w *Worker) Registry() *stats.Registry { return w.reg }

// State is the worker's run state.
func (w *Worker) State() State {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state
}

// setStateLocked changes the state and wakes WaitState. w.mu is held.
func (w *Worker) setStateLocked(s State) {
	w.state = s
	w.wake.notify()
}

// WaitState waits until the worker is in one of states, without polling.
// It returns an error when ctx ends first.
func (w *Worker) WaitState(ctx context.Context, states ...State) error {
	return waitUntil(ctx, &w.wake, nil, func() bool { return stateIn(w.State(), states) }, statesText(states), w.State)
}

// UserCount is the number of live users.
func (w *Worker) UserCount() int {
	w.mu.Lock()
	p := w.pool
	w.mu.Unlock()
	if p == nil {
		return 0
	}
	return p.total()
}

// RegisterHandler registers the handler of a custom message type sent by
// the master. Registering a type twice is an error. Handlers run on the
// worker's control loop: keep them short.
func (w *Worker) RegisterHandler(typ string, fn func(data []byte)) error {
	return addHandler(&w.mu, w.handlers, typ, fn, fn == nil)
}

// Send sends a custom message to the master.
func (w *Worker) Send(typ string, data []byte) error {
	w.mu.Lock()
	st := w.stream
	w.mu.Unlock()
	if st == nil {
		return errors.New("runner: not connected to a master")
	}
	return st.Send(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Custom{Custom: &locustpb.Custom{Type: typ, Data: data}}})
}

type streamEnd int

const (
	endLost streamEnd = iota
	endReconnect
	endQuit
	endCtx
	endFenced // the master went silent: the users stopped at once
)

// Run connects to the master and serves it until the master quits this
// worker (nil), ctx ends (the users stop within the stop timeout, the final
// stats are sent with a goodbye; nil), or the master cannot be reached: at
// the start after the client's bounded retries, later after MasterTimeout
// without it (an error wrapping ErrMasterGone).
func (w *Worker) Run(ctx context.Context) error {
	defer func() { _ = w.client.Close() }()
	defer w.stopUsers()
	var lostAt time.Time
	for {
		// The stream lives in cctx, which outlives ctx so that a worker
		// told to stop can still send its final stats and goodbye; ctx and
		// the deadline cancel it only while connecting.
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		var connecting atomic.Bool
		var timedOut atomic.Bool
		connecting.Store(true)
		stopAfter := context.AfterFunc(ctx, func() {
			if connecting.Load() {
				cancel()
			}
		})
		var timer *time.Timer
		if !lostAt.IsZero() {
			timer = time.AfterFunc(time.Until(lostAt.Add(w.o.MasterTimeout)), func() {
				if connecting.Load() {
					timedOut.Store(true)
					cancel()
				}
			})
		}
		st, err := w.client.Connect(cctx)
		connecting.Store(false)
		stopAfter()
		if timer != nil {
			timer.Stop()
		}
		if err != nil {
			cancel()
			if ctx.Err() != nil {
				return nil
			}
			if timedOut.Load() {
				return fmt.Errorf("%w for %v: the master is gone, exiting", ErrMasterGone, w.o.MasterTimeout)
			}
			return fmt.Errorf("worker: %w", err)
		}
		lostAt = time.Time{}
		end, heard := w.serve(ctx, st)
		cancel()
		switch end {
		case endQuit, endCtx:
			return nil
		case endReconnect:
			w.log.Info("the master asked for a reconnect")
			lostAt = time.Now()
		case endFenced:
			lostAt = heard
		default:
			w.log.Warn("lost the master; stopping the users and reconnecting", zap.Time("last_heard", heard))
			lostAt = heard
			w.stopUsers()
		}
	}
}

type recvd struct {
	m   *locustpb.MasterMessage
	err error
}

// serve runs one registered stream until it ends.
func (w *Worker) serve(ctx context.Context, st *transport.Stream) (streamEnd, time.Time) {
	w.mu.Lock()
	w.stream = st
	w.mu.Unlock()
	w.connected.Store(true)
	w.index.Store(int64(st.Index()))
	msgs := make(chan recvd)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			m, err := st.Recv()
			select {
			case msgs <- recvd{m, err}:
			case <-st.Context().Done():
				return
			}
			if err != nil && !errors.Is(err, transport.ErrBadMessage) {
				return
			}
		}
	}()
	hbStop := make(chan struct{})
	go func() {
		defer wg.Done()
		t := time.NewTicker(w.o.HeartbeatInterval)
		defer t.Stop()
		w.sendHeartbeat(st)
		for {
			select {
			case <-hbStop:
				return
			case <-st.Context().Done():
				return
			case <-t.C:
				w.sendHeartbeat(st)
			}
		}
	}()
	defer func() {
		close(hbStop)
		w.connected.Store(false)
		w.mu.Lock()
		w.stream = nil
		w.mu.Unlock()
		st.Close("worker leaving this stream")
		wg.Wait()
	}()

	// Stats left from before a lost connection go first.
	w.report(st, false, false)
	heard := time.Now()
	var lastSeq uint64
	report := time.NewTicker(w.o.ReportInterval)
	defer report.Stop()
	check := time.NewTicker(min(w.o.HeartbeatInterval, w.fenceAfter()/10)) // fence within a tenth of the window
	defer check.Stop()
	var shipLogs <-chan time.Time
	if w.o.LogLines != nil {
		t := time.NewTicker(w.o.LogInterval)
		defer t.Stop()
		shipLogs = t.C
	}
	for {
		select {
		case <-ctx.Done():
			w.log.Info("shutting down: stopping the users, sending the final stats and saying goodbye")
			// Tell the master first, so that it moves this worker's users now.
			// The master still merges the final stats that follow.
			_ = st.Send(leavingMessage(st.Ack().GetVersion()))
			w.stopUsers()
			w.report(st, true, true)
			w.leave(st, msgs, &locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Goodbye{Goodbye: &locustpb.Goodbye{Reason: "worker shutting down"}}})
			return endCtx, heard
		case now := <-check.C:
			if now.Sub(heard) > w.fenceAfter() {
				w.fence(heard)
				return endFenced, heard
			}
		case <-report.C:
			w.report(st, false, false)
		case <-w.reportNow:
			w.report(st, false, false)
		case <-shipLogs:
			w.shipLogs(st)
		case r := <-msgs:
			if r.err != nil {
				if errors.Is(r.err, transport.ErrBadMessage) {
					w.log.Warn("bad message from the master, ignored", zap.Error(r.err))
					continue
				}
				if !errors.Is(r.err, io.EOF) {
					w.log.Debug("stream to the master ended", zap.Error(r.err))
				}
				return endLost, heard
			}
			heard = time.Now()
			switch k := r.m.GetKind().(type) {
			case *locustpb.MasterMessage_Spawn:
				sp := k.Spawn
				if sp.GetSequence() <= lastSeq {
					w.log.Debug("ignoring an old spawn message", zap.Uint64("sequence", sp.GetSequence()), zap.Uint64("seen", lastSeq))
					continue
				}
				lastSeq = sp.GetSequence()
				w.spawn(st, sp)
			case *locustpb.MasterMessage_Stop:
				w.stopUsers()
				w.report(st, true, true)
				_ = st.Send(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Stopped{Stopped: &locustpb.Stopped{}}})
			case *locustpb.MasterMessage_Quit:
				w.log.Info("the master told this worker to quit", zap.String("reason", k.Quit.GetReason()))
				w.stopUsers()
				w.report(st, true, true)
				w.leave(st, msgs, &locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Quit{Quit: &locustpb.Quit{Reason: "told to quit"}}})
				return endQuit, heard
			case *locustpb.MasterMessage_Reconnect:
				return endReconnect, heard
			case *locustpb.MasterMessage_Goodbye:
				w.log.Info("the master said goodbye", zap.String("reason", k.Goodbye.GetReason()))
				return endLost, heard
			case *locustpb.MasterMessage_Numbering:
				si, _, ok := numberingOf(r.m)
				w.numbering(si, ok)
			case *locustpb.MasterMessage_Custom:
				if si, isNumbering, ok := numberingOf(r.m); isNumbering { // from a 1.0 master
					w.numbering(si, ok)
					break
				}
				w.custom(k.Custom)
			case *locustpb.MasterMessage_SpawningComplete:
				w.log.Info("the cluster finished spawning", zap.Int64("users", k.SpawningComplete.GetUserCount()))
				w.mu.Lock()
				reset := w.resetOn
				w.mu.Unlock()
				if reset {
					w.reg.Reset()
				}
			}
		}
	}
}

// leaveWait bounds how long a leaving worker waits for the master to
// close the stream after its goodbye (or quit).
const leaveWait = 2 * time.Second

// leave sends the last message and waits until the master has closed the
// stream, so that the message is read before the stream is cancelled.
func (w *Worker) leave(st *transport.Stream, msgs <-chan recvd, last *locustpb.WorkerMessage) {
	if err := st.Send(last); err != nil {
		return
	}
	t := time.NewTimer(leaveWait)
	defer t.Stop()
	for {
		select {
		case r := <-msgs:
			if r.err != nil && !errors.Is(r.err, transport.ErrBadMessage) {
				return
			}
		case <-t.C:
			return
		}
	}
}

// numbering applies the master's numbering of this worker's users.
func (w *Worker) numbering(si seqInfo, ok bool) {
	if !ok {
		w.log.Warn("bad sequence numbering message from the master, ignored")
		return
	}
	w.mu.Lock()
	w.seqBase, w.stride, w.pos = si.Base, si.Stride, si.Pos
	w.mu.Unlock()
}

// custom hands a user's message to its handler.
func (w *Worker) custom(c *locustpb.Custom) {
	w.mu.Lock()
	fn := w.handlers[c.GetType()]
	warn := fn == nil && !w.unknown[c.GetType()]
	if warn && len(w.unknown) < 1000 {
		w.unknown[c.GetType()] = true
	}
	w.mu.Unlock()
	if fn != nil {
		fn(c.GetData())
	} else if warn {
		w.log.Warn("unknown message type from the master: register a handler with RegisterHandler", zap.String("type", c.GetType()))
	}
}

// seqOf numbers users cluster-wide: the k-th user of a class on this
// worker is base + k*stride + pos[class].
func (w *Worker) seqOf(class string, local int64) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seqBase + local*int64(w.stride) + int64(w.pos[class])
}

// spawn applies a spawn message: on the first of a test it builds a fresh
// user pool (host, tags) and clears the stats, then moves to the targets.
func (w *Worker) spawn(st *transport.Stream, sp *locustpb.Spawn) {
	_ = st.Send(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Spawning{Spawning: &locustpb.Spawning{Sequence: sp.GetSequence()}}})
	w.mu.Lock()
	fresh := w.pool == nil
	w.stopTO = time.Duration(sp.GetStopTimeoutUs()) * time.Microsecond
	w.mu.Unlock()
	if fresh {
		// Reset first: an arrival schedule starts with the pool.
		w.reg.Reset()
		if err := w.newPool(sp); err != nil {
			w.log.Error("cannot run the master's test", zap.Error(err))
			return
		}
	}
	w.mu.Lock()
	p, names, weights, isFixed, driven := w.pool, w.names, w.weights, w.isFixed, w.driven
	w.setStateLocked(StateSpawning)
	w.mu.Unlock()
	p.mu.Lock()
	p.stopTimeout = time.Duration(sp.GetStopTimeoutUs()) * time.Microsecond
	p.mu.Unlock()
	targets := make([]int, len(names))
	known := 0
	for i, n := range names {
		targets[i] = int(sp.GetUserClassCounts()[n])
		known += targets[i]
	}
	var want int64
	for _, v := range sp.GetUserClassCounts() {
		want += v
	}
	if int64(known) != want {
		w.log.Warn("the master asked for users of classes this worker does not have: run the same binary on master and workers",
			zap.Strings("classes", sortedKeys(sp.GetUserClassCounts())))
	}
	var counts []int
	if driven {
		counts = p.counts() // the arrival schedule sizes the pool
	} else {
		counts = p.apply(targets, weights, isFixed)
	}
	w.mu.Lock()
	w.setStateLocked(StateRunning)
	w.mu.Unlock()
	cc := make(map[string]int64, len(names))
	total := 0
	for i, n := range names {
		cc[n] = int64(counts[i])
		total += counts[i]
	}
	_ = st.Send(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_SpawningComplete{SpawningComplete: &locustpb.SpawningComplete{
		UserClassCounts: cc, UserCount: int64(total), Sequence: sp.GetSequence(),
	}}})
}

func (w *Worker) newPool(sp *locustpb.Spawn) error {
	classes := w.o.Classes
	o := sp.GetOptions()
	if len(o.GetTags()) > 0 || len(o.GetExcludeTags()) > 0 {
		var kept []user.Spawner
		for _, c := range classes {
			f, err := c.Filter(o.GetTags(), o.GetExcludeTags())
			if err != nil {
				continue
			}
			kept = append(kept, f)
		}
		if len(kept) == 0 {
			return fmt.Errorf("no user class has a task left after filtering by tags %v, excluding %v", o.GetTags(), o.GetExcludeTags())
		}
		classes = kept
	}
	classes, err := applyClassSettings(classes, o.GetClasses())
	if err != nil {
		return err
	}
	// A share of a cluster load model (arrival rate, iteration limit)
	// gates the users' iterations.
	gate := w.o.Gate
	var sh *workerShare
	sched, modeled := wireArrival(o.GetArrival())
	if modeled {
		w.mu.Lock()
		old := w.share
		w.mu.Unlock()
		if old != nil && old.runID == o.GetArrival().GetRunId() {
			w.log.Warn("this worker lost its users during the run: its unfinished share is not run again")
			gate = NewIterationLimit(NewCounter(0), nil)
		} else {
			var err error
			if sh, err = w.newShare(o.GetArrival(), sched); err != nil {
				return fmt.Errorf("the master's load model: %w", err)
			}
			gate = sh.gate
			if sched == nil {
				classes = KeepClassWaits(classes) // closed users under an iteration limit
			}
		}
	}
	names := make([]string, len(classes))
	weights := make([]int, len(classes))
	fixedN := make([]int, len(classes))
	isFixed := make([]bool, len(classes))
	for i, c := range classes {
		names[i], weights[i], isFixed[i] = c.ClassName(), c.ClassWeight(), c.ClassFixedCount() > 0
		fixedN[i] = c.ClassFixedCount()
	}
	host := sp.GetHost()
	if host == "" {
		host = w.o.Host
	}
	p := newUserPool(poolConfig{
		classes:     classes,
		host:        host,
		stats:       w.reg,
		log:         w.log,
		gate:        gate,
		stopTest:    w.userStopTest,
		seed:        w.o.Seed,
		stopTimeout: time.Duration(sp.GetStopTimeoutUs()) * time.Microsecond,
		onRequest:   w.o.OnRequest,
	})
	p.seqOf = func(class int, local int64) int64 { return w.seqOf(names[class], local) }
	w.mu.Lock()
	w.pool, w.names, w.weights, w.isFixed = p, names, weights, isFixed
	w.resetOn = o.GetResetStats()
	w.driven = modeled && sched != nil
	if sh != nil {
		w.share, w.sent = sh, [3]int64{}
	}
	w.mu.Unlock()
	if sh != nil {
		if err := w.startShare(sh, p, weights, fixedN, isFixed); err != nil {
			return fmt.Errorf("the master's load model: %w", err)
		}
	}
	return nil
}

// userStopTest forwards a user's user.ErrStopTest to the master.
func (w *Worker) userStopTest(reason error) {
	msg := "a user stopped the test"
	if reason != nil {
		msg = reason.Error()
	}
	w.mu.Lock()
	st := w.stream
	w.mu.Unlock()
	if st != nil {
		_ = st.Send(stopTestMessage(msg, st.Ack().GetVersion()))
	}
}

// shipLogs sends the lines logged since the last shipment to the master,
// bounded (see maxShippedLines). Lines that cannot be sent are dropped: it
// logs nothing itself, so that shipping does not feed itself.
func (w *Worker) shipLogs(st *transport.Stream) {
	lines := w.o.LogLines()
	if len(lines) == 0 {
		return
	}
	if len(lines) > maxShippedLines {
		// The newest lines, after a line that counts the others.
		skipped := len(lines) - (maxShippedLines - 1)
		lines = append([]string{fmt.Sprintf("... %d log lines skipped (at most %d are sent every %v)", skipped, maxShippedLines, w.o.LogInterval)},
			lines[skipped:]...)
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = truncateLine(l)
	}
	if msg := logsMessage(out, st.Ack().GetVersion()); msg != nil {
		_ = st.Send(msg)
	}
}

// truncateLine cuts a log line at maxLogLineBytes (on a rune boundary).
func truncateLine(l string) string {
	if len(l) <= maxLogLineBytes {
		return l
	}
	cut := maxLogLineBytes
	for cut > 0 && !utf8.RuneStart(l[cut]) {
		cut--
	}
	return l[:cut] + "..."
}

// stopUsers stops every user within the stop timeout; the worker is ready
// for the next test afterwards.
func (w *Worker) stopUsers() {
	w.mu.Lock()
	to := w.stopTO
	w.mu.Unlock()
	w.stopUsersWithin(to)
}

// stopUsersWithin stops every user, giving running tasks up to to.
func (w *Worker) stopUsersWithin(to time.Duration) {
	w.mu.Lock()
	p := w.pool
	w.pool = nil
	sh := w.share
	w.driven = false
	if p != nil {
		w.setStateLocked(StateStopping)
	}
	w.mu.Unlock()
	if p == nil {
		return
	}
	if sh != nil {
		sh.stop() // no new iteration, no new user
	}
	if n := p.stopAll(to, w.o.StopGrace); n > 0 {
		w.log.Warn("users did not stop after their context was cancelled; they are left running", zap.Int("users", n))
	}
	w.mu.Lock()
	w.setStateLocked(StateReady)
	w.mu.Unlock()
}

// report sends the stats recorded since the last report. An empty delta
// is sent only when always is set (the final report of a test).
func (w *Worker) report(st *transport.Stream, final, always bool) {
	d := w.reg.TakeDelta()
	w.mu.Lock()
	p, names, sh, sent := w.pool, w.names, w.share, w.sent
	w.mu.Unlock()
	var now [3]int64 // the share's run, dropped, done
	if sh != nil {
		now[0], now[1] = sh.counts()
		if sh.done.Load() {
			now[2] = 1
		}
	}
	if !always && len(d.Entries) == 0 && len(d.Errors) == 0 && len(d.Exceptions) == 0 && d.Omitted == nil && w.UserCount() == 0 && now == sent {
		return
	}
	var classes map[string]int
	users := 0
	if p != nil {
		counts := p.counts()
		classes = make(map[string]int, len(names))
		for i, n := range names {
			classes[n] = counts[i]
			users += counts[i]
		}
	}
	r, err := SnapshotToReport(d, users, classes)
	if err != nil {
		w.log.Error("encoding a stats report failed; its samples are lost", zap.Error(err))
		return
	}
	r.Final = final
	if sh != nil {
		r.RunId, r.IterationsRun, r.IterationsDropped, r.ShareDone = sh.runID, now[0], now[1], now[2] == 1
	}
	if err := st.Send(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Stats{Stats: r}}); err != nil {
		// Put the samples back for the next stream.
		w.reg.Merge(d)
		w.log.Debug("sending a stats report failed; kept for the next connection", zap.Error(err))
		return
	}
	w.mu.Lock()
	if w.share == sh {
		w.sent = now
	}
	w.mu.Unlock()
}

func (w *Worker) sendHeartbeat(st *transport.Stream) {
	w.mu.Lock()
	state := w.state
	cpu := w.cpu.percent()
	w.mu.Unlock()
	_ = st.Send(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Heartbeat{Heartbeat: &locustpb.Heartbeat{
		State: stateToWire(state), CpuPercent: cpu, MemoryBytes: rssBytes(), UserCount: int64(w.UserCount()),
	}}})
}

// cpuMeter measures this process's CPU use between calls, in percent of
// one core.
type cpuMeter struct {
	lastWall time.Time
	lastCPU  time.Duration
}

func (c *cpuMeter) percent() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	now := time.Now()
	defer func() { c.lastWall, c.lastCPU = now, cpu }()
	if c.lastWall.IsZero() {
		return 0
	}
	wall := now.Sub(c.lastWall)
	if wall <= 0 {
		return 0
	}
	return max(0, float64(cpu-c.lastCPU)/float64(wall)*100)
}

// rssBytes reads the resident set size from /proc (0 where there is none).
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}
