package runner

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/user"
)

// logQueue stands in for a worker's log: LogLines takes what was added.
type logQueue struct {
	mu    sync.Mutex
	lines []string
}

func (q *logQueue) add(lines ...string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.lines = append(q.lines, lines...)
}

func (q *logQueue) take() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.lines
	q.lines = nil
	return l
}

func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s %d", prefix, i)
	}
	return out
}

// A worker ships its new log lines to the master, which keeps the newest
// maxWorkerLogLines per worker (a burst is cut to maxShippedLines, saying
// how many were skipped) and forgets them when the worker leaves.
func TestWorkerLogsReachTheMaster(t *testing.T) {
	classes := []user.Spawner{class("A", 1, 0, nil)}
	m := startMaster(t, MasterOptions{Classes: classes})
	q := &logQueue{}
	w := startWorker(t, m.Addr(), WorkerOptions{Classes: classes, LogLines: q.take, LogInterval: 20 * time.Millisecond})
	waitWorkers(t, m, 1)

	lines := func() []string { return m.WorkerLogs()[w.ID()] }
	q.add("hello from the worker", strings.Repeat("x", 3*maxLogLineBytes))
	waitFor(t, "the worker's line at the master", func() bool { return len(lines()) == 2 })
	got := lines()
	assert.Equal(t, "hello from the worker", got[0])
	assert.LessOrEqual(t, len(got[1]), maxLogLineBytes+len("..."), "long lines are cut")

	// A burst: only the newest lines go, after a line counting the others.
	q.add(numbered("burst", 1000)...)
	waitFor(t, "the burst at the master", func() bool { return slices.Contains(lines(), "burst 999") })
	got = lines()
	require.Len(t, got, 2+maxShippedLines)
	assert.Equal(t, fmt.Sprintf("... %d log lines skipped (at most %d are sent every 20ms)", 1000-maxShippedLines+1, maxShippedLines), got[2])
	assert.Equal(t, fmt.Sprintf("burst %d", 1000-maxShippedLines+1), got[3])

	// The master keeps the newest maxWorkerLogLines.
	for i := range 4 {
		batch := numbered(fmt.Sprintf("batch%d", i), maxShippedLines)
		q.add(batch...)
		last := batch[len(batch)-1]
		waitFor(t, last+" at the master", func() bool { return slices.Contains(lines(), last) })
	}
	got = lines()
	require.Len(t, got, maxWorkerLogLines)
	assert.Equal(t, fmt.Sprintf("batch3 %d", maxShippedLines-1), got[len(got)-1])

	// A worker that leaves takes its lines with it.
	require.NoError(t, w.stop(t))
	waitFor(t, "the worker's lines forgotten", func() bool {
		_, ok := m.WorkerLogs()[w.ID()]
		return !ok && m.WorkerCount() == 0
	})
}
