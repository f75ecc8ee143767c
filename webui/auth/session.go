package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// Session timeouts by default: a session ends after 30 minutes without a
// request or 12 hours after login, whichever comes first.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
)

// maxSessions bounds memory: logging in in a loop cannot grow the store
// without end (the oldest session goes first).
const maxSessions = 10_000

// Sessions is an in-memory session store. Tokens are 256 random bits; the
// store keeps only their SHA-256, so a memory dump does not hand out live
// sessions.
type Sessions struct {
	idle, absolute time.Duration
	now            func() time.Time

	mu   sync.Mutex
	byID map[[32]byte]*Session
}

// Session is one login.
type Session struct {
	Identity
	Created  time.Time
	lastSeen time.Time
}

// NewSessions makes a store; zero timeouts take the defaults, now nil is
// time.Now.
func NewSessions(idle, absolute time.Duration, now func() time.Time) *Sessions {
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	if absolute <= 0 {
		absolute = DefaultAbsoluteTimeout
	}
	if now == nil {
		now = time.Now
	}
	return &Sessions{idle: idle, absolute: absolute, now: now, byID: map[[32]byte]*Session{}}
}

// Absolute is the longest a session lives.
func (s *Sessions) Absolute() time.Duration { return s.absolute }

// Create starts a session for id and returns its token.
func (s *Sessions) Create(id Identity) (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) >= maxSessions {
		s.sweepLocked(now)
		for len(s.byID) >= maxSessions {
			var oldest [32]byte
			var t time.Time
			for k, v := range s.byID {
				if t.IsZero() || v.Created.Before(t) {
					oldest, t = k, v.Created
				}
			}
			delete(s.byID, oldest)
		}
	}
	s.byID[sha256.Sum256([]byte(token))] = &Session{Identity: id, Created: now, lastSeen: now}
	return token, nil
}

// Lookup returns the session of token and marks it used, or false when
// there is none or it timed out (then it is gone).
func (s *Sessions) Lookup(token string) (Identity, bool) {
	if token == "" || len(token) > 100 {
		return Identity{}, false
	}
	key := sha256.Sum256([]byte(token))
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[key]
	if !ok {
		return Identity{}, false
	}
	if s.expired(ss, now) {
		delete(s.byID, key)
		return Identity{}, false
	}
	ss.lastSeen = now
	return ss.Identity, true
}

// Delete ends the session of token (logout).
func (s *Sessions) Delete(token string) {
	key := sha256.Sum256([]byte(token))
	s.mu.Lock()
	delete(s.byID, key)
	s.mu.Unlock()
}

// Len is the number of sessions held (live or not yet swept).
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

func (s *Sessions) expired(ss *Session, now time.Time) bool {
	return now.Sub(ss.lastSeen) >= s.idle || now.Sub(ss.Created) >= s.absolute
}

func (s *Sessions) sweepLocked(now time.Time) {
	for k, v := range s.byID {
		if s.expired(v, now) {
			delete(s.byID, k)
		}
	}
}
