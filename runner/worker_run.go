package runner

// This file holds how a worker runs its users: a Spawn builds (on the
// first of a test) or moves its user pool, the master's Numbering numbers
// them, and a user's stop-test request goes up to the master. The stream
// and its messages are in worker.go; reports and heartbeats in
// worker_report.go.

import (
	"context"
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

// spawn applies a spawn message: on the first of a test it builds the
// test's local runner (host, tags, class settings, its share of a load
// model) and clears the stats, then moves the users to the targets at
// once, through the same Local as a standalone run.
func (w *Worker) spawn(st *transport.Stream, sp *locustpb.Spawn) {
	_ = st.Send(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Spawning{Spawning: &locustpb.Spawning{Sequence: sp.GetSequence()}}})
	stopTO := time.Duration(sp.GetStopTimeoutUs()) * time.Microsecond
	w.mu.Lock()
	fresh := w.local == nil
	w.stopTO = stopTO
	w.mu.Unlock()
	if fresh {
		// Reset first: an arrival schedule starts with the test.
		w.reg.Reset()
		if err := w.newTest(sp); err != nil {
			w.log.Error("cannot run the master's test", zap.Error(err))
			return
		}
	}
	w.mu.Lock()
	l, names, driven := w.local, w.names, w.driven
	w.setStateLocked(StateSpawning)
	w.mu.Unlock()
	l.pool.mu.Lock()
	l.pool.stopTimeout = stopTO
	l.pool.mu.Unlock()
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
	counts := l.pool.counts() // an arrival schedule sizes the pool
	if !driven {
		var err error
		if counts, err = l.applyTargets(targets); err != nil {
			w.log.Error("cannot apply the master's spawn", zap.Error(err))
		}
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

// newTest builds the local runner of the master's new test: its classes
// (tags, class settings), host, custom parameters and hooks, and its share
// of a cluster load model run by a LoadRun, as a standalone run's model.
func (w *Worker) newTest(sp *locustpb.Spawn) error {
	o := sp.GetOptions()
	classes, err := filterClasses(w.o.Classes, o.GetTags(), o.GetExcludeTags(), w.log)
	if err != nil {
		return err
	}
	if classes, err = applyClassSettings(classes, o.GetClasses()); err != nil {
		return err
	}
	if o.GetTraceparent() {
		var untraceable []string
		classes, untraceable = user.Traced(classes)
		for _, name := range untraceable {
			w.log.Warn("the master asks for traceparent headers; this user class cannot send them (it is not a user.Class)", zap.String("class", name))
		}
	}
	host := sp.GetHost()
	if host == "" {
		host = w.o.Host
	}
	params := param.NewValues(o.GetParams())
	sh, gate, err := w.newShare(o.GetArrival())
	if err != nil {
		return fmt.Errorf("the master's load model: %w", err)
	}
	lo := Options{
		Classes: classes, Registry: w.reg, Logger: w.log, Host: host,
		StopTimeout: time.Duration(sp.GetStopTimeoutUs()) * time.Microsecond, StopGrace: w.o.StopGrace,
		Seed: w.o.Seed, Gate: gate, OnRequest: w.o.OnRequest, Params: params,
	}
	// Locust fires test_start and test_stop on every node.
	if fn := w.o.OnTestStart; fn != nil {
		lo.OnTestStart = func(context.Context) error { fn(host, params); return nil }
	}
	if fn := w.o.OnTestStop; fn != nil {
		lo.OnTestStop = func(context.Context) error { fn(host, params); return nil }
	}
	if w.o.Gate != nil && gate == nil {
		lo.Gate = w.o.Gate
	}
	l, err := NewLocal(lo)
	if err != nil {
		return err
	}
	names := make([]string, len(l.classes))
	for i, c := range l.classes {
		names[i] = c.ClassName()
	}
	l.pool.seqOf = func(class int, local int64) int64 { return w.seqOf(names[class], local) }
	l.forwardStopTest = w.userStopTest
	w.mu.Lock()
	w.local, w.names = l, names
	w.resetOn = o.GetResetStats()
	w.driven = sh != nil && sh.arrival
	if sh != nil {
		w.share, w.sent = sh, [3]int64{}
	}
	w.mu.Unlock()
	if sh == nil || sh.model == nil {
		return nil
	}
	run := sh.model.Drive(l, nil).(*LoadRun)
	sh.bind(run)
	// Closed users come with the spawns; an arrival schedule starts its
	// own.
	if err := run.Start(0, 1); err != nil {
		return fmt.Errorf("the master's load model: %w", err)
	}
	go w.watchShare(sh)
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

// stopUsersWithin stops every user, giving running tasks up to to; the
// test's local runner runs OnTestStop and is done.
func (w *Worker) stopUsersWithin(to time.Duration) {
	w.mu.Lock()
	l := w.local
	w.local = nil
	sh := w.share
	w.driven = false
	if l != nil {
		w.setStateLocked(StateStopping)
	}
	w.mu.Unlock()
	if l == nil {
		return
	}
	if sh != nil {
		sh.stop() // no new iteration, no new user
	}
	l.stopWithin(to)
	l.Quit()
	w.mu.Lock()
	w.setStateLocked(StateReady)
	w.mu.Unlock()
}
