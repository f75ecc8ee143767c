package runner

// This file holds how a worker runs its users: a Spawn builds (on the
// first of a test) or moves its user pool, the master's Numbering numbers
// them, and a user's stop-test request goes up to the master. The stream
// and its messages are in worker.go; reports and heartbeats in
// worker_report.go.

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/param"
	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/transport"
	"github.com/golocust/golocust/user"
)

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
	fn, warn := findHandler(&w.mu, w.handlers, w.unknown, c.GetType())
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
		host := sp.GetHost()
		if host == "" {
			host = w.o.Host
		}
		params := param.NewValues(sp.GetOptions().GetParams())
		w.mu.Lock()
		w.testHost, w.testParams = host, params
		w.mu.Unlock()
		if w.o.OnTestStart != nil {
			w.o.OnTestStart(host, params)
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
			gate = sh.gate // closed users under a limit keep their wait (user.WaitKeeper)
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
		params:      param.NewValues(o.GetParams()),
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
	if w.o.OnTestStop != nil {
		w.mu.Lock()
		host, params := w.testHost, w.testParams
		w.mu.Unlock()
		w.o.OnTestStop(host, params)
	}
}
