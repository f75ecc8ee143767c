package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Actions recorded.
const (
	Login         = "login"
	LoginFailed   = "login_failed"
	Logout        = "logout"
	Start         = "start"
	Edit          = "edit"
	Stop          = "stop"
	Reset         = "reset"
	Denied        = "denied" // a signed-in account asked for what its role may not do
	WorkerJoined  = "worker_joined"
	WorkerLeft    = "worker_left"
	WorkerRefused = "worker_refused"
)

// Outcomes.
const (
	OK      = "ok"
	Refused = "refused" // the request was invalid or not allowed
	Failed  = "failed"  // it was fine but could not be done
)

// Event is one line of the audit log.
type Event struct {
	Time    time.Time      `json:"time"`
	Action  string         `json:"action"`
	Account string         `json:"account,omitempty"`
	Role    string         `json:"role,omitempty"`
	Remote  string         `json:"remote,omitempty"` // client or worker address
	Worker  string         `json:"worker,omitempty"` // the worker id of worker events
	Outcome string         `json:"outcome"`
	Reason  string         `json:"reason,omitempty"`
	Detail  map[string]any `json:"detail,omitempty"` // e.g. a start's parameters
}

// Keep is how many recent events stay in memory for the UI.
const Keep = 500

// Log writes events as JSON lines and keeps the recent ones.
type Log struct {
	mu     sync.Mutex
	w      io.Writer
	closer io.Closer
	recent []Event // ring of at most Keep, oldest at next
	next   int
	err    error // first write error, reported by Close
	now    func() time.Time
}

// New makes a log that writes to w (nil: memory only).
func New(w io.Writer) *Log { return &Log{w: w, now: time.Now} }

// Open appends to the file at path (created 0600: it names accounts and
// addresses).
func Open(path string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--audit-log: %w", err)
	}
	l := New(f)
	l.closer = f
	return l, nil
}

// Record writes e, stamping its time when unset.
func (l *Log) Record(e Event) {
	if l == nil {
		return
	}
	if e.Outcome == "" {
		e.Outcome = OK
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.Time.IsZero() {
		e.Time = l.now().UTC()
	}
	if len(l.recent) < Keep {
		l.recent = append(l.recent, e)
	} else {
		l.recent[l.next] = e
		l.next = (l.next + 1) % Keep
	}
	if l.w == nil {
		return
	}
	b, err := json.Marshal(e)
	if err == nil {
		b = append(b, '\n')
		_, err = l.w.Write(b)
	}
	if err != nil && l.err == nil {
		l.err = err
	}
}

// Recent returns the events in memory, oldest first.
func (l *Log) Recent() []Event {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Event, 0, len(l.recent))
	out = append(out, l.recent[l.next:]...)
	return append(out, l.recent[:l.next]...)
}

// Close closes the file and reports the first write error.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.err
	if l.closer != nil {
		if cerr := l.closer.Close(); err == nil {
			err = cerr
		}
		l.closer, l.w = nil, nil
	}
	return err
}
