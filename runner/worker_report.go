package runner

// This file holds what a worker tells its master on its own: stats
// reports (deltas every ReportInterval, a final one on stop), heartbeats
// with CPU and memory, and its log lines.

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/transport"
)

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

// report sends the stats recorded since the last report. An empty delta
// is sent only when always is set (the final report of a test).
func (w *Worker) report(st *transport.Stream, final, always bool) {
	d := w.reg.TakeDelta()
	w.mu.Lock()
	l, names, sh, sent := w.local, w.names, w.share, w.sent
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
	if l != nil {
		counts := l.pool.counts()
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
	cpu := w.cpu.Percent()
	w.mu.Unlock()
	_ = st.Send(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Heartbeat{Heartbeat: &locustpb.Heartbeat{
		State: stateToWire(state), CpuPercent: cpu, MemoryBytes: rssBytes(), UserCount: int64(w.UserCount()),
	}}})
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
