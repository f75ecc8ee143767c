package locust

import (
	"bytes"
	"sync"
)

// logRing keeps the last lines of the log for the web UI's Logs tab.
type logRing struct {
	mu    sync.Mutex
	buf   []string
	next  int
	full  bool
	limit int
}

func newLogRing(limit int) *logRing { return &logRing{buf: make([]string, limit), limit: limit} }

// Write takes encoded log entries, one or more lines each.
func (r *logRing) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte{'\n'}) {
		r.buf[r.next] = string(line)
		r.next = (r.next + 1) % r.limit
		if r.next == 0 {
			r.full = true
		}
	}
	return len(p), nil
}

func (r *logRing) Sync() error { return nil }

// lines returns the kept lines, oldest first.
func (r *logRing) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]string(nil), r.buf[:r.next]...)
	}
	return append(append([]string(nil), r.buf[r.next:]...), r.buf[:r.next]...)
}
