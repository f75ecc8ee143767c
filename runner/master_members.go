package runner

// This file holds the master's membership and liveness: accepting a
// worker's stream (join), serving it (serveWorker hands each message to
// handle), a worker leaving or going missing (left), the heartbeat check
// that marks silent workers missing and forgets them (check), and waiting
// for workers.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/transport"
)

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
		out = append(out, WorkerInfo{ID: w.id, Index: w.index, State: w.state, UserCount: w.users, CPUPercent: w.cpu, MemoryBytes: w.mem,
			LagP50: w.lag[0], LagP99: w.lag[1]})
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
