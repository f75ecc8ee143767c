package locust

import (
	"bytes"
	"fmt"
	"sync"
)

// logRing keeps the last lines of the log for the web UI's Logs tab.
type logRing struct {
	mu    sync.Mutex
	buf   []string
	next  int
	full  bool
	limit int
	total uint64 // lines ever written; line n is at buf[n%limit]
}

func newLogRing(limit int) *logRing { return &logRing{buf: make([]string, limit), limit: limit} }

// Write takes encoded log entries, one or more lines each.
func (r *logRing) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte{'\n'}) {
		r.buf[r.next] = string(line)
		r.total++
		r.next = (r.next + 1) % r.limit
		if r.next == 0 {
			r.full = true
		}
	}
	return len(p), nil
}

func (r *logRing) Sync() error { return nil }

// since returns the kept lines written after the first cursor lines, how
// many of those were already overwritten, and the cursor to pass next.
func (r *logRing) since(cursor uint64) (lines []string, lost uint64, next uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	oldest := r.total - min(r.total, uint64(r.limit))
	if cursor < oldest {
		lost, cursor = oldest-cursor, oldest
	}
	for n := cursor; n < r.total; n++ {
		lines = append(lines, r.buf[n%uint64(r.limit)])
	}
	return lines, lost, r.total
}

// newLines returns a func that, at each call, returns the lines written
// since its previous call (a first line counts those already overwritten).
func (r *logRing) newLines() func() []string {
	var mu sync.Mutex
	var cursor uint64
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		lines, lost, next := r.since(cursor)
		cursor = next
		if lost > 0 {
			lines = append([]string{fmt.Sprintf("... %d log lines skipped", lost)}, lines...)
		}
		return lines
	}
}

// lines returns the kept lines, oldest first.
func (r *logRing) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]string(nil), r.buf[:r.next]...)
	}
	return append(append([]string(nil), r.buf[r.next:]...), r.buf[:r.next]...)
}
