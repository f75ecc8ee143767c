package auth

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

func TestHashPasswordVerifiesOnlyItsPassword(t *testing.T) {
	h, err := HashPassword("correct horse")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$"), h)
	h2, err := HashPassword("correct horse")
	require.NoError(t, err)
	assert.NotEqual(t, h, h2, "a fresh salt each time")
	v, err := parseHash(h)
	require.NoError(t, err)
	assert.True(t, v("correct horse"))
	assert.False(t, v("correct horse "))
	assert.False(t, v(""))
	_, err = HashPassword("")
	assert.ErrorContains(t, err, "empty")
	_, err = HashPassword(strings.Repeat("x", MaxPasswordBytes+1))
	assert.ErrorContains(t, err, "longer than")
}

func TestParseAccountsReadsBcryptAndArgon2idWithRoles(t *testing.T) {
	b, err := bcrypt.GenerateFromPassword([]byte("viewpw"), bcrypt.MinCost)
	require.NoError(t, err)
	a2, err := HashPassword("oppw")
	require.NoError(t, err)
	file := "# golocust accounts\n\nvera:viewer:" + string(b) + "\n  otto:Operator:" + a2 + "\n"
	acc, err := ParseAccounts(strings.NewReader(file), "users.txt")
	require.NoError(t, err)
	assert.Equal(t, 2, acc.Len())
	id, ok := acc.Check("vera", "viewpw")
	assert.True(t, ok)
	assert.Equal(t, Identity{Name: "vera", Role: Viewer}, id)
	id, ok = acc.Check("otto", "oppw")
	assert.True(t, ok)
	assert.Equal(t, Operator, id.Role)
	_, ok = acc.Check("otto", "viewpw")
	assert.False(t, ok)
	_, ok = acc.Check("nobody", "oppw")
	assert.False(t, ok)
	assert.True(t, acc.Known("vera"))
	assert.False(t, acc.Known("nobody"))
	// remembered after one check, and only with the same password
	_, ok = acc.Remembered("otto", "oppw")
	assert.True(t, ok)
	_, ok = acc.Remembered("otto", "oppw2")
	assert.False(t, ok)
}

func TestParseAccountsNamesEveryBadLine(t *testing.T) {
	h, err := HashPassword("pw")
	require.NoError(t, err)
	file := strings.Join([]string{
		"ann:admin:" + h,
		"bob:root:" + h,
		"cy:viewer:plaintext",
		"nocolons",
		"ann:viewer:" + h,
		"dee:viewer:$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA",
	}, "\n")
	_, err = ParseAccounts(strings.NewReader(file), "u.txt")
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		`u.txt:2: unknown role "root": want viewer, operator or admin`,
		"u.txt:3: unknown hash format",
		"--hash-password",
		"u.txt:4: want name:role:hash",
		`u.txt:5: account "ann" appears twice`,
		"u.txt:6:",
	} {
		assert.Contains(t, msg, want)
	}
	_, err = ParseAccounts(strings.NewReader("# nothing\n"), "empty.txt")
	assert.ErrorContains(t, err, "empty.txt: no accounts")
}

func TestSingleIsOneAdmin(t *testing.T) {
	a := Single("admin", "s3cret")
	id, ok := a.Check("admin", "s3cret")
	assert.True(t, ok)
	assert.Equal(t, Admin, id.Role)
	_, ok = a.Check("admin", "s3cre")
	assert.False(t, ok)
	_, ok = a.Check("root", "s3cret")
	assert.False(t, ok)
}

func TestRoles(t *testing.T) {
	for _, s := range []string{"viewer", "operator", "admin"} {
		r, err := ParseRole(s)
		require.NoError(t, err)
		assert.Equal(t, s, r.String())
	}
	assert.True(t, Admin.Allows(Operator))
	assert.True(t, Operator.Allows(Viewer))
	assert.False(t, Viewer.Allows(Operator))
	assert.False(t, Operator.Allows(Admin))
	assert.False(t, Role(0).Allows(Viewer))
	assert.False(t, Admin.Allows(0), "no route needs no role")
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestSessionsEndOnIdleAbsoluteAndDelete(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	s := NewSessions(10*time.Minute, time.Hour, c.now)
	tok, err := s.Create(Identity{Name: "ann", Role: Admin})
	require.NoError(t, err)
	assert.Len(t, tok, 43)
	for range 5 { // used every 9 minutes: alive until the absolute limit
		c.add(9 * time.Minute)
		id, ok := s.Lookup(tok)
		require.True(t, ok)
		assert.Equal(t, "ann", id.Name)
	}
	c.add(9 * time.Minute) // 54 min, used 9 min ago
	_, ok := s.Lookup(tok)
	assert.True(t, ok)
	c.add(7 * time.Minute) // 61 min: past the absolute limit
	_, ok = s.Lookup(tok)
	assert.False(t, ok)
	assert.Equal(t, 0, s.Len(), "an expired session is dropped")

	tok, err = s.Create(Identity{Name: "bob", Role: Viewer})
	require.NoError(t, err)
	c.add(10 * time.Minute)
	_, ok = s.Lookup(tok)
	assert.False(t, ok, "idle for the idle limit")

	tok, err = s.Create(Identity{Name: "cy", Role: Viewer})
	require.NoError(t, err)
	s.Delete(tok)
	_, ok = s.Lookup(tok)
	assert.False(t, ok, "logged out")
	_, ok = s.Lookup("forged")
	assert.False(t, ok)
}

func TestSessionStoreIsBounded(t *testing.T) {
	s := NewSessions(0, 0, nil)
	for range maxSessions + 10 {
		_, err := s.Create(Identity{Name: "x", Role: Viewer})
		require.NoError(t, err)
	}
	assert.Equal(t, maxSessions, s.Len())
}

func TestLimiterPerClientAndPerAccount(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	l := NewLimiter(Limit{Every: 10 * time.Second, Burst: 3}, Limit{Every: time.Minute, Burst: 5}, c.now)
	for range 3 {
		ok, _ := l.Allow("10.0.0.1", "ann")
		require.True(t, ok)
		l.Failed("10.0.0.1", "ann")
	}
	ok, wait := l.Allow("10.0.0.1", "ann")
	assert.False(t, ok, "the client's budget is spent")
	assert.InDelta(t, 10*time.Second, wait, float64(time.Millisecond))
	ok, _ = l.Allow("10.0.0.1", "")
	assert.False(t, ok, "for every account")
	c.add(10 * time.Second)
	ok, _ = l.Allow("10.0.0.1", "ann")
	assert.True(t, ok, "one more after the refill")

	// the account's budget holds across clients
	l.Failed("10.0.0.2", "ann")
	l.Failed("10.0.0.3", "ann")
	ok, wait = l.Allow("10.0.0.4", "ann")
	assert.False(t, ok)
	assert.Greater(t, wait, 30*time.Second)
	ok, _ = l.Allow("10.0.0.4", "bob")
	assert.True(t, ok, "other accounts are not affected")
}
