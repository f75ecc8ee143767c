package transport

import (
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultTakeoverAfter is how long a worker's live stream must have been
// silent before a new stream may take over its id (three heartbeats).
const DefaultTakeoverAfter = 3 * time.Second

// claim decides whether sess may register under its worker id. Worker ids
// are visible in the web UI, so a stream must not be able to take over a
// live worker's session by sending its id: a hello for an id whose stream
// is live is refused (AlreadyExists). A worker whose connection died
// without the master noticing (no reset reached it) comes back under its
// id once the old stream has been silent for TakeoverAfter: the worker's
// client retries AlreadyExists until then. Under mutual TLS an id is also
// bound to the certificate (its common name) that first used it, and a
// hello for it with another certificate is refused (PermissionDenied).
// s.mu is held.
func (s *Server) claim(sess *Session, now time.Time) (replace *Session, err error) {
	id := sess.ID()
	if name, ok := s.certOf[id]; ok && name != sess.tlsName {
		return nil, status.Errorf(codes.PermissionDenied,
			"worker id %q belongs to another client certificate (%q): each worker keeps the id it first connected with", id, name)
	}
	old := s.byID[id]
	if old == nil {
		return nil, nil
	}
	if quiet := now.Sub(time.Unix(0, old.heard.Load())); quiet < s.o.TakeoverAfter {
		return nil, status.Errorf(codes.AlreadyExists,
			"worker id %q is already connected from %s: give each worker its own id (a worker that lost its stream gets its id back after %v of silence)",
			id, old.peer, s.o.TakeoverAfter)
	}
	return old, nil
}

// bindCert remembers the certificate an id connected with (mutual TLS
// only). s.mu is held.
func (s *Server) bindCert(sess *Session) {
	if sess.tlsName == "" {
		return
	}
	if len(s.certOf) > 4*s.o.MaxWorkers {
		clear(s.certOf)
	}
	s.certOf[sess.ID()] = sess.tlsName
}
