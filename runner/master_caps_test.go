package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/transport"
	"github.com/golocust/golocust/user"
)

// TestHostileWorkerLeavesTheMastersMemoryBounded connects a hand-made
// worker over a real gRPC stream on 127.0.0.1 that sends what the
// red-team pass sent: every sample under a new method and name, each with
// a new error text and exception, and floods of log lines. The master's
// registry and log store stay under their caps, every request is still
// counted, and each cap warns once.
func TestHostileWorkerLeavesTheMastersMemoryBounded(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	lg := zap.New(core)
	reg := stats.NewRegistry(stats.Options{MaxNames: 30, MaxErrors: 60, Warn: func(m string) { lg.Warn(m) }})
	m := startMaster(t, MasterOptions{Logger: lg, Registry: reg, Classes: []user.Spawner{class("A", 1, 0, nil)}})

	c, err := transport.NewClient(transport.ClientOptions{Address: m.Addr(), Hello: &locustpb.Hello{WorkerId: "hostile"}})
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := c.Connect(ctx)
	require.NoError(t, err)
	defer st.Close("done")

	const reports, per = 40, 200
	now := time.Now()
	for i := range reports {
		d := &stats.Snapshot{Start: now}
		for k := i * per; k < (i+1)*per; k++ {
			method, name := fmt.Sprintf("M%d", k), fmt.Sprintf("/n/%d", k)
			d.Entries = append(d.Entries, &stats.Entry{Method: method, Name: name, NumRequests: 1, NumFailures: 1,
				Min: time.Millisecond, Max: time.Millisecond, TotalTime: time.Millisecond, Start: now, LastRequest: now})
			d.Errors = append(d.Errors, &stats.Error{Method: method, Name: name, Message: fmt.Sprintf("boom %d", k), Occurrences: 1, FirstSeen: now, LastSeen: now})
			d.Exceptions = append(d.Exceptions, &stats.Exception{Message: "x", Traceback: fmt.Sprintf("stack %d", k), Count: 1})
		}
		r, err := SnapshotToReport(d, 0, nil)
		require.NoError(t, err)
		require.NoError(t, st.Send(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Stats{Stats: r}}))
		lines := make([]string, 1000)
		for k := range lines {
			lines[k] = fmt.Sprintf("line %d %d", i, k)
		}
		b, err := json.Marshal(lines)
		require.NoError(t, err)
		require.NoError(t, st.Send(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Custom{Custom: &locustpb.Custom{Type: legacyLogsType, Data: b}}}))
	}

	var s *stats.Snapshot
	require.Eventually(t, func() bool {
		s = reg.Snapshot()
		return s.Total.NumRequests == reports*per && len(m.WorkerLogs()["hostile"]) > 0 &&
			m.WorkerLogs()["hostile"][maxWorkerLogLines-1] == fmt.Sprintf("line %d 999", reports-1)
	}, 20*time.Second, 20*time.Millisecond, "the master merges every report")

	assert.LessOrEqual(t, len(s.Entries), 30+16+1, "entries stay at the name cap plus the bounded other rows")
	distinct := 0
	var occ int64
	for _, e := range s.Errors {
		occ += e.Occurrences
		if !strings.HasPrefix(e.Message, "other errors") {
			distinct++
		}
	}
	assert.Equal(t, 60, distinct, "distinct error texts stop at the cap")
	assert.Equal(t, int64(reports*per), occ)
	assert.Len(t, s.Exceptions, 1001, "1,000 distinct stacks and one catch-all")
	assert.Len(t, m.WorkerLogs()["hostile"], maxWorkerLogLines)

	for _, want := range []string{"distinct request names", "distinct error texts", "distinct exceptions"} {
		assert.Equal(t, 1, logs.FilterMessageSnippet(want).Len(), "one warning for %q", want)
	}
	assert.Contains(t, m.Workers()[0].ID, "hostile", "the hostile worker was served, not cut off")
}

func TestWorkerLogsStayUnderTheTotalCap(t *testing.T) {
	var l workerLogs
	lines := make([]string, maxWorkerLogLines)
	full := 0
	n := 2*maxTotalLogLines/maxWorkerLogLines + 3
	for i := range n {
		if l.add(fmt.Sprint("w", i), lines) {
			full++
		}
		assert.LessOrEqual(t, l.total, maxTotalLogLines)
	}
	assert.Equal(t, 1, full, "one warning")
	sum := 0
	for _, ls := range l.copy() {
		sum += len(ls)
	}
	assert.Equal(t, maxTotalLogLines, sum)
	assert.Equal(t, l.total, sum)
	l.forget("w0")
	assert.Equal(t, maxTotalLogLines-maxWorkerLogLines, l.total)
	assert.True(t, !l.add(fmt.Sprint("w", n-1), lines) && len(l.byID[fmt.Sprint("w", n-1)]) == maxWorkerLogLines, "room given back is used again")
}
