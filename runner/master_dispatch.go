package runner

// This file holds the master's dispatch: turning cluster-wide per-class
// counts into each worker's targets (Distribute, Adjust), numbering the
// users of a test across workers (Numbering), sending the spawns, and
// rebalancing when workers come and go. dispatch holds m.dmu throughout,
// so dispatches never interleave.

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/transport"
)

// dispatch sends every active worker its share of the cluster counts.
// When the set of workers changed since the last dispatch (or rebalance is
// set), the users are spread afresh (Distribute) in a new numbering epoch,
// otherwise moved with the fewest changes (Adjust).
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
	var seqMsgs []*locustpb.MasterMessage
	if fresh {
		rows = Distribute(counts, len(ws))
		seqMsgs = m.numberLocked(ws, counts)
	} else {
		rows = Adjust(m.rows, counts)
	}
	for k, w := range ws {
		var msgs []*locustpb.MasterMessage
		if seqMsgs != nil {
			msgs = append(msgs, seqMsgs[k])
		}
		if fresh || !slices.Equal(w.assigned, rows[k]) {
			msgs = append(msgs, m.spawnLocked(w, rows[k]))
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

// numberLocked starts a new numbering epoch (Env.Seq) for a fresh
// distribution of counts over ws and returns each worker's Numbering
// message, in the form its protocol version reads. m.mu is held.
//
// Per class, the worker that holds the class's first extra user
// (Distribute deals round-robin from an offset) is position 0, so that
// the numbers of a level distribution are 0..n-1. A new distribution
// during a test starts above every number the previous ones can have
// issued: a worker's users hold class-local numbers below the users it
// was ever told to add, so the last epoch's numbers are below base +
// stride × (most added + 1).
func (m *Master) numberLocked(ws []*workerNode, counts []int) []*locustpb.MasterMessage {
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
	msgs := make([]*locustpb.MasterMessage, len(ws))
	for k, w := range ws {
		msgs[k] = numberingMessage(seqInfo{Base: m.seqBase, Stride: len(ws), Pos: pos[k]}, w.sess.Hello().GetVersion())
	}
	return msgs
}

// spawnLocked notes that w is told to run row (per class) and what it
// adds to its numbering, and returns the Spawn that tells it, with the
// test's host, stop timeout, options and w's share of the load model.
// m.mu is held.
func (m *Master) spawnLocked(w *workerNode, row []int) *locustpb.MasterMessage {
	add := m.seqAdded[w.id]
	if add == nil {
		add = make([]int, len(m.names))
		m.seqAdded[w.id] = add
	}
	for i, n := range row {
		old := 0
		if i < len(w.assigned) {
			old = w.assigned[i]
		}
		if n > old {
			add[i] += n - old
		}
	}
	w.assigned = slices.Clone(row)
	m.seq++
	cc := make(map[string]int64, len(m.names))
	for i, n := range m.names {
		cc[n] = int64(row[i])
	}
	opts := &locustpb.RunOptions{Tags: m.o.Tags, ExcludeTags: m.o.ExcludeTags, ResetStats: m.o.ResetStats, Classes: m.settings, Params: m.params.Map(), Traceparent: m.o.Traceparent}
	if m.plan != nil {
		opts.Arrival = m.o.Load.share(m.plan.part[w.id], m.plan.parts, m.plan.runID)
	}
	return &locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Spawn{Spawn: &locustpb.Spawn{
		Sequence: m.seq, UserClassCounts: cc, Host: m.host, StopTimeoutUs: m.o.StopTimeout.Microseconds(),
		Options: opts,
	}}}
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
