package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/internal/cpumeter"
	"github.com/golocust/golocust/param"

	"github.com/golocust/golocust/proto/locustpb"
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
	// OnTestStart runs when a test starts on this worker (its first spawn
	// of the test), before the users start, with the test's host and
	// custom parameters; OnTestStop runs once the test's users are gone
	// (Locust fires test_start and test_stop on every node).
	OnTestStart, OnTestStop func(host string, params param.Values)

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

// Worker runs users on behalf of a master: it runs each test the master
// starts on a Local of its own (the standalone engine) and applies each
// spawn's targets to it, reports stats deltas every ReportInterval and a
// final one on stop, heartbeats, and reconnects after a master restart or
// a reconnect message.
type Worker struct {
	o      WorkerOptions
	log    *zap.Logger
	reg    *stats.Registry
	client *transport.Client

	connected atomic.Bool
	index     atomic.Int64

	// runState is the worker's state (lifecycle.go); its mu guards
	// everything below. Only Run's goroutine (the serve loop runs on it)
	// replaces the pool; mu is held briefly and never across a send to the
	// master or a wait for users.
	runState
	local    *Local   // the running test's users (newTest); nil between tests
	names    []string // local's classes
	seqBase  int64
	stride   int
	pos      map[string]int
	stream   *transport.Stream
	handlers map[string]func(data []byte)
	unknown  map[string]bool
	stopTO   time.Duration
	resetOn  bool // reset the stats when the cluster finishes spawning (--reset-stats)
	cpu      cpumeter.Meter
	// share is this worker's share of the latest run's cluster load model
	// (nil: none); driven tells that its arrival schedule sizes the users
	// (the spawn messages' user counts are then ignored).
	share  *workerShare
	driven bool
	// sent is what the last report said of the share: run, dropped, done.
	sent      [3]int64
	reportNow chan struct{} // asks the serve loop for a report now
}

// NewWorker checks the options and prepares the connection (no I/O).
func NewWorker(o WorkerOptions) (*Worker, error) {
	if err := checkSpawners(o.Classes); err != nil {
		return nil, err
	}
	o.StopGrace = orDefault(o.StopGrace, DefaultStopGrace)
	o.HeartbeatInterval = orDefault(o.HeartbeatInterval, DefaultHeartbeatInterval)
	o.ReportInterval = orDefault(o.ReportInterval, DefaultReportInterval)
	o.MasterTimeout = orDefault(o.MasterTimeout, DefaultMasterTimeout)
	o.FenceAfter = orDefault(o.FenceAfter, defaultFenceAfter(o.HeartbeatInterval))
	o.LogInterval = orDefault(o.LogInterval, DefaultLogInterval)
	o.Seed = orSeed(o.Seed)
	log, reg := orDefaults(o.Logger, o.Registry)
	co := o.Client
	co.Logger = cmp.Or(co.Logger, log)
	client, err := transport.NewClient(co)
	if err != nil {
		return nil, err
	}
	w := &Worker{o: o, log: log, reg: reg, client: client, runState: runState{state: StateReady}, stride: 1,
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

// UserCount is the number of live users.
func (w *Worker) UserCount() int {
	w.mu.Lock()
	l := w.local
	w.mu.Unlock()
	if l == nil {
		return 0
	}
	return l.UserCount()
}

// RegisterHandler registers the handler of a custom message type sent by
// the master. Registering a type twice is an error. Handlers run on the
// worker's control loop: keep them short.
func (w *Worker) RegisterHandler(typ string, fn func(data []byte)) error {
	return addHandler(&w.mu, w.handlers, typ, fn, fn == nil)
}

// Send sends a custom message to the master. An empty or reserved type
// (starting with "golocust.") is refused.
func (w *Worker) Send(typ string, data []byte) error {
	if err := checkCustomType(typ); err != nil {
		return err
	}
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

// Close releases the worker's connection to the master when Run is not
// going to be called (an Init hook failed, say); Run releases it itself.
func (w *Worker) Close() error { return w.client.Close() }

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
