package runner

// This file holds the master's message handlers: handle dispatches each
// worker message to the handler of its type, and the users' custom
// messages to the handlers registered with RegisterHandler. Handlers run
// on the worker's receive goroutine (serveWorker), one message at a time
// per worker; they take m.mu only for the fields they change.

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/transport"
	"github.com/golocust/golocust/user"
)

// handle applies one message; false when the worker said goodbye or quit.
// Each message type has its own handler below.
func (m *Master) handle(sess *transport.Session, msg *locustpb.WorkerMessage) bool {
	defer m.wake.notify() // a message may change a worker's state or counts
	w := m.heardFrom(sess)
	if w == nil {
		return true // a replaced stream
	}
	id := w.id
	switch k := msg.GetKind().(type) {
	case *locustpb.WorkerMessage_Heartbeat:
		m.onHeartbeat(sess, w, k.Heartbeat)
	case *locustpb.WorkerMessage_Spawning:
		m.mu.Lock()
		w.state = StateSpawning
		m.mu.Unlock()
	case *locustpb.WorkerMessage_SpawningComplete:
		m.onSpawningComplete(w, k.SpawningComplete)
	case *locustpb.WorkerMessage_Stats:
		m.onStats(sess, w, k.Stats)
	case *locustpb.WorkerMessage_Stopped:
		m.onStopped(w)
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
		m.onCustom(w, k.Custom)
	}
	return true
}

// heardFrom notes that the worker of sess is alive (a missing one heals and
// the users are rebalanced); nil when sess is no longer its stream.
func (m *Master) heardFrom(sess *transport.Session) *workerNode {
	id := sess.ID()
	m.mu.Lock()
	w := m.workers[id]
	if w == nil || w.sess != sess {
		m.mu.Unlock()
		return nil
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
	return w
}

func (m *Master) onHeartbeat(sess *transport.Session, w *workerNode, h *locustpb.Heartbeat) {
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
		m.log.Warn("a worker's CPU usage is above 90%: it may not generate the load asked for; add workers", zap.String("worker", w.id), zap.Float64("cpu_percent", h.GetCpuPercent()))
	}
	_ = sess.Send(&locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Heartbeat{Heartbeat: &locustpb.Heartbeat{}}})
}

func (m *Master) onSpawningComplete(w *workerNode, sc *locustpb.SpawningComplete) {
	m.mu.Lock()
	w.state = StateRunning
	w.users, w.classes = int(sc.GetUserCount()), countsFromWire(sc.GetUserClassCounts())
	m.mu.Unlock()
}

// onStats merges a stats report (through the coalescer) and takes the
// worker's user counts and load-model progress from it.
func (m *Master) onStats(sess *transport.Session, w *workerNode, r *locustpb.StatsReport) {
	id := w.id
	if err := m.coal.add(r, id); err != nil {
		m.log.Warn("undecodable stats report from a worker: telling it to reconnect", zap.String("worker", id), zap.Error(err))
		sess.Reconnect("undecodable stats report")
		return
	}
	if r.GetFinal() {
		m.coal.fold()
	}
	p50, p99, _ := reportLag(r)
	m.mu.Lock()
	defer m.mu.Unlock()
	w.lag = [2]time.Duration{p50, p99}
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
}

func (m *Master) onStopped(w *workerNode) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w.state, w.users, w.classes = StateReady, 0, nil
	if w.stopWait != nil {
		close(w.stopWait)
		w.stopWait = nil
	}
}

// onCustom handles a 1.0 worker's control message (a reserved Custom
// type), or hands a user's message to its handler.
func (m *Master) onCustom(w *workerNode, c *locustpb.Custom) {
	id := w.id
	if wc, ok := controlOf(c); ok {
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
		return
	}
	fn, warn := findHandler(&m.mu, m.handlers, m.unknownCT, c.GetType())
	if fn != nil {
		fn(id, c.GetData())
	} else if warn {
		m.log.Warn("unknown message type from a worker: register a handler with RegisterHandler", zap.String("type", c.GetType()), zap.String("worker", id))
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

// RegisterHandler registers the handler of a custom message type sent by
// workers. Registering a type twice is an error. Handlers run on the
// sending worker's receive goroutine: keep them short.
func (m *Master) RegisterHandler(typ string, fn func(workerID string, data []byte)) error {
	return addHandler(&m.mu, m.handlers, typ, fn, fn == nil)
}

// findHandler returns the handler of typ, or warn true the first time
// (of at most 1000 types) that typ has none.
func findHandler[F any](mu *sync.Mutex, handlers map[string]F, unknown map[string]bool, typ string) (fn F, warn bool) {
	mu.Lock()
	defer mu.Unlock()
	fn, ok := handlers[typ]
	warn = !ok && !unknown[typ]
	if warn && len(unknown) < 1000 {
		unknown[typ] = true
	}
	return fn, warn
}

// addHandler registers fn for a custom message type in handlers, guarded
// by mu: the master's and the worker's registries follow the same rules.
func addHandler[F any](mu *sync.Mutex, handlers map[string]F, typ string, fn F, isNil bool) error {
	if err := checkCustomType(typ); err != nil {
		return err
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

// checkCustomType refuses an empty custom message type and the types
// starting with "golocust.", which protocol 1.0 peers read as control
// messages: the custom channel is the users' alone, both ways.
func checkCustomType(typ string) error {
	if typ == "" || strings.HasPrefix(typ, reservedPrefix) {
		return fmt.Errorf("runner: custom message type %q is empty or reserved (types starting with %q are the runner's): choose another", typ, reservedPrefix)
	}
	return nil
}

// Send sends a custom message to one worker, or to every connected worker
// when workerID is "". An empty or reserved type is refused.
func (m *Master) Send(typ string, data []byte, workerID string) error {
	if err := checkCustomType(typ); err != nil {
		return err
	}
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
