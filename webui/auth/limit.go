package auth

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits of failed login attempts by default: per client address, 20 at
// once and then one every 3 s; per account, 20 at once and then one every
// 6 s. Honest users stay far below; a password guesser gets a few per
// minute instead of thousands per second.
var (
	DefaultClientLimit  = Limit{Every: 3 * time.Second, Burst: 20}
	DefaultAccountLimit = Limit{Every: 6 * time.Second, Burst: 20}
)

// Limit is a token bucket: Burst attempts at once, then one per Every.
type Limit struct {
	Every time.Duration
	Burst int
}

// maxLimiterKeys bounds the limiters kept; past it, full (idle) buckets are
// dropped, and when none is, the new key shares a bucket with all others
// like it (so a flood of addresses is still limited).
const maxLimiterKeys = 10_000

// Limiter rate-limits failed login attempts per client and per account:
// once a budget is spent, every attempt waits, the right password too.
type Limiter struct {
	client, account Limit
	now             func() time.Time

	mu       sync.Mutex
	clients  map[string]*rate.Limiter
	accounts map[string]*rate.Limiter
}

// NewLimiter makes a limiter; zero Limits take the defaults, now nil is
// time.Now.
func NewLimiter(client, account Limit, now func() time.Time) *Limiter {
	if client.Every <= 0 || client.Burst <= 0 {
		client = DefaultClientLimit
	}
	if account.Every <= 0 || account.Burst <= 0 {
		account = DefaultAccountLimit
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{client: client, account: account, now: now,
		clients: map[string]*rate.Limiter{}, accounts: map[string]*rate.Limiter{}}
}

// Allow reports whether client and account (account "" counts only the
// client) may try a password now; when not, how long to wait. It takes
// nothing: Failed does, so that a right password never uses up the budget.
func (l *Limiter) Allow(client, account string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	wait := waitFor(l.get(l.clients, client, l.client, now), l.client, now)
	if account != "" {
		wait = max(wait, waitFor(l.get(l.accounts, account, l.account, now), l.account, now))
	}
	return wait == 0, wait
}

// Failed takes one attempt from client's and account's budgets.
func (l *Limiter) Failed(client, account string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.get(l.clients, client, l.client, now).AllowN(now, 1)
	if account != "" {
		l.get(l.accounts, account, l.account, now).AllowN(now, 1)
	}
}

func waitFor(r *rate.Limiter, lim Limit, now time.Time) time.Duration {
	tokens := r.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) * float64(lim.Every))
}

func (l *Limiter) get(m map[string]*rate.Limiter, key string, lim Limit, now time.Time) *rate.Limiter {
	if r, ok := m[key]; ok {
		return r
	}
	if len(m) >= maxLimiterKeys {
		for k, r := range m {
			if r.TokensAt(now) >= float64(lim.Burst) {
				delete(m, k)
			}
		}
		if len(m) >= maxLimiterKeys {
			key = "\x00overflow"
			if r, ok := m[key]; ok {
				return r
			}
		}
	}
	r := rate.NewLimiter(rate.Every(lim.Every), lim.Burst)
	m[key] = r
	return r
}
