package auth

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// argon2id parameters of HashPassword: OWASP's first recommendation
// (19 MiB, 2 passes, 1 lane), costly to guess offline and cheap enough
// that a login takes tens of milliseconds.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// MaxPasswordBytes bounds a password: hashing a megabyte per guess would be
// a cheap way to burn the server's CPU.
const MaxPasswordBytes = 1024

// HashPassword returns an argon2id hash of password in the PHC string
// format ($argon2id$v=19$m=...,t=...,p=...$salt$hash), ready for a users
// file line.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("the password is empty")
	}
	if len(password) > MaxPasswordBytes {
		return "", fmt.Errorf("the password is longer than %d bytes", MaxPasswordBytes)
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verifier checks one password against a stored hash.
type verifier func(password string) bool

// parseHash reads a bcrypt ($2a$, $2b$, $2y$) or argon2id hash.
func parseHash(h string) (verifier, error) {
	switch {
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		if _, err := bcrypt.Cost([]byte(h)); err != nil {
			return nil, fmt.Errorf("bad bcrypt hash: %w", err)
		}
		hb := []byte(h)
		return func(pw string) bool { return bcrypt.CompareHashAndPassword(hb, []byte(pw)) == nil }, nil
	case strings.HasPrefix(h, "$argon2id$"):
		return parseArgon2id(h)
	}
	return nil, errors.New("unknown hash format: want bcrypt ($2b$...) or argon2id ($argon2id$...); make one with --hash-password")
}

func parseArgon2id(h string) (verifier, error) {
	parts := strings.Split(h, "$") // "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 {
		return nil, errors.New("bad argon2id hash: want $argon2id$v=19$m=M,t=T,p=P$SALT$HASH")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return nil, fmt.Errorf("bad argon2id hash: version %q, want v=%d", parts[2], argon2.Version)
	}
	var mem, passes uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &passes, &threads); err != nil {
		return nil, fmt.Errorf("bad argon2id parameters %q: %w", parts[3], err)
	}
	if mem < 8*uint32(threads) || mem > 4<<20 || passes == 0 || passes > 100 || threads == 0 {
		return nil, fmt.Errorf("argon2id parameters %q out of range", parts[3])
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return nil, errors.New("bad argon2id salt")
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 {
		return nil, errors.New("bad argon2id hash value")
	}
	return func(pw string) bool {
		got := argon2.IDKey([]byte(pw), salt, passes, mem, threads, uint32(len(want)))
		return subtle.ConstantTimeCompare(got, want) == 1
	}, nil
}

// Accounts are the web UI's accounts. Check verifies a password; a
// verified name and password are remembered (as an HMAC under a random key)
// for a few minutes, so that a script sending basic auth every second costs
// one hash, not one a request.
type Accounts struct {
	byName map[string]account
	names  []string
	key    [32]byte
	dummy  verifier // compared against for unknown names: same cost

	mu    sync.Mutex
	cache map[string]cached
	now   func() time.Time
}

type account struct {
	role   Role
	verify verifier
}

type cached struct {
	mac [32]byte
	exp time.Time
}

// verifiedTTL is how long a verified password is remembered.
const verifiedTTL = 5 * time.Minute

func newAccounts() *Accounts {
	a := &Accounts{byName: map[string]account{}, cache: map[string]cached{}, now: time.Now}
	_, _ = rand.Read(a.key[:])
	return a
}

// Single is the account of --web-auth user:password: one admin whose
// password is compared in constant time.
func Single(name, password string) *Accounts {
	a := newAccounts()
	want := sha256.Sum256([]byte(password))
	a.add(name, Admin, func(pw string) bool {
		got := sha256.Sum256([]byte(pw))
		return subtle.ConstantTimeCompare(got[:], want[:]) == 1
	})
	a.dummy = func(string) bool { return false }
	return a
}

func (a *Accounts) add(name string, role Role, v verifier) {
	a.byName[name] = account{role: role, verify: v}
	a.names = append(a.names, name)
}

// LoadAccounts reads a users file (see ParseAccounts).
func LoadAccounts(path string) (*Accounts, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseAccounts(f, path)
}

// ParseAccounts reads "name:role:hash" lines; blank lines and lines
// starting with # are skipped. source names the input in errors.
func ParseAccounts(r io.Reader, source string) (*Accounts, error) {
	a := newAccounts()
	sc := bufio.NewScanner(r)
	n := 0
	var errs []error
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, ok1 := strings.Cut(line, ":")
		roleS, hash, ok2 := strings.Cut(rest, ":")
		if !ok1 || !ok2 || name == "" {
			errs = append(errs, fmt.Errorf("%s:%d: want name:role:hash", source, n))
			continue
		}
		role, err := ParseRole(roleS)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", source, n, err))
			continue
		}
		v, err := parseHash(strings.TrimSpace(hash))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", source, n, err))
			continue
		}
		if _, dup := a.byName[name]; dup {
			errs = append(errs, fmt.Errorf("%s:%d: account %q appears twice", source, n, name))
			continue
		}
		a.add(name, role, v)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", source, err))
	}
	if len(errs) == 0 && len(a.byName) == 0 {
		errs = append(errs, fmt.Errorf("%s: no accounts: add name:role:hash lines (hash from --hash-password)", source))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Unknown names are checked against a hash of the same kind, so that
	// timing does not tell which names exist.
	dummyHash, err := HashPassword("not a password")
	if err != nil {
		return nil, err
	}
	a.dummy, _ = parseHash(dummyHash)
	return a, nil
}

// Len is the number of accounts.
func (a *Accounts) Len() int { return len(a.byName) }

// Known reports whether name is an account (for rate limiting by account
// without filling memory with made-up names).
func (a *Accounts) Known(name string) bool { _, ok := a.byName[name]; return ok }

// Remembered reports whether name and password were verified recently, in
// which case Check answers without hashing.
func (a *Accounts) Remembered(name, password string) (Identity, bool) {
	acc, ok := a.byName[name]
	if !ok {
		return Identity{}, false
	}
	mac := a.mac(name, password)
	a.mu.Lock()
	c, ok := a.cache[name]
	a.mu.Unlock()
	if ok && a.now().Before(c.exp) && hmac.Equal(c.mac[:], mac[:]) {
		return Identity{Name: name, Role: acc.role}, true
	}
	return Identity{}, false
}

// Check verifies name and password and returns the account's identity.
func (a *Accounts) Check(name, password string) (Identity, bool) {
	if id, ok := a.Remembered(name, password); ok {
		return id, true
	}
	if len(password) > MaxPasswordBytes || len(name) > 256 {
		return Identity{}, false
	}
	acc, ok := a.byName[name]
	if !ok {
		a.dummy(password)
		return Identity{}, false
	}
	if !acc.verify(password) {
		return Identity{}, false
	}
	mac := a.mac(name, password)
	a.mu.Lock()
	a.cache[name] = cached{mac: mac, exp: a.now().Add(verifiedTTL)}
	a.mu.Unlock()
	return Identity{Name: name, Role: acc.role}, true
}

func (a *Accounts) mac(name, password string) [32]byte {
	m := hmac.New(sha256.New, a.key[:])
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write([]byte(password))
	var out [32]byte
	copy(out[:], m.Sum(nil))
	return out
}
