package runner

// This file holds the master's lifecycle: Start (a fresh test or a new
// user count), the ramp at the cluster's spawn rate, Stop, Quit and Close.
// Start, Stop, Quit and Configure hold m.ctl, so they never interleave.

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/transport"
)

// Start starts a test with users users spread over the workers and ramped
// at spawnRate users per second across the cluster, or changes the user
// count of the running test.
func (m *Master) Start(users int, spawnRate float64) error {
	if err := m.lockStart(users, spawnRate, m.o.UserLimit); err != nil {
		return err
	}
	defer m.ctl.Unlock()
	m.mu.Lock()
	if len(m.activeLocked()) == 0 {
		m.mu.Unlock()
		return fmt.Errorf("runner: %w", ErrNoWorkers)
	}
	fresh := m.freshLocked()
	if m.o.Load != nil && m.o.Load.Arrival != nil {
		users = 0 // each worker's arrival schedule sizes its pool
	}
	targets := Targets(m.weights, m.fixed, users)
	m.mu.Unlock()
	var reset func()
	if fresh {
		m.forgetStopTest()
		m.coal.discard()
		m.reg.Reset()
		reset = func() { m.resetTestLocked(users) }
	}
	ctx, gen, done := m.beginRamp(m.ctx, reset)
	m.log.Info("ramping", zap.Int("users", users), zap.Float64("spawn_rate", spawnRate), zap.Int("workers", m.WorkerCount()))
	go m.ramp(ctx, targets, spawnRate, gen, done)
	return nil
}

// resetTestLocked clears what the master knows of the previous test and
// splits the load model, if any, over the active workers. m.mu is held.
func (m *Master) resetTestLocked(users int) {
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
	if !m.rampComplete(gen) {
		return
	}
	m.mu.Lock()
	ws := m.activeLocked()
	m.mu.Unlock()
	msg := &locustpb.MasterMessage{Kind: &locustpb.MasterMessage_SpawningComplete{SpawningComplete: &locustpb.SpawningComplete{UserCount: int64(to)}}}
	for _, w := range ws {
		_ = w.sess.Send(msg)
	}
	m.log.Info(fmt.Sprintf("All users spawned: %s (%d total users)", formatClassCounts(m.targetMap(targets)), to))
	resetAfterSpawn(m.o.ResetStats, m.log, m.reg)
}

// Stop stops the test on every worker and waits until each has reported
// it stopped (after its final stats, which are merged by then), at most
// the stop timeout plus a minute.
func (m *Master) Stop() { m.serialised(m.stopLocked) }

func (m *Master) stopLocked() {
	if !m.beginStop() {
		return
	}
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
	m.endStop(func() {
		m.cluster = make([]int, len(m.names))
		m.rows, m.rowIDs = nil, nil
		for _, w := range m.workers {
			w.assigned = nil
			w.stopWait = nil
		}
	})
	m.log.Info("test stopped")
}

// Quit stops the test, tells every worker to quit, waits briefly for them
// to leave, and stops serving.
func (m *Master) Quit() { m.quitOnce(m.stopLocked, m.quitWorkers) }

// quitWorkers tells every worker to quit, waits briefly for them to
// leave, and stops serving. m.ctl is held.
func (m *Master) quitWorkers() {
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
