package runner

import (
	"container/heap"
	"context"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/param"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/user"
)

// userPool owns the user goroutines of one process: it spawns a user of a
// class, stops the newest users of a class, and stops them all. The local
// runner paces it; a worker runner applies the master's targets with it.
//
// Every user goroutine is tracked from spawn to exit. A user is "live" until
// it is told to stop (or ends by itself); a stopped user may still run its
// current task ("retiring") until it returns or its context is cancelled.
type userPool struct {
	stats       *stats.Registry
	log         *zap.Logger
	gate        user.IterationGate
	stopTest    func(error)
	seed        uint64
	stopTimeout time.Duration // graceful time for users removed by a ramp-down
	onRequest   user.RequestListener
	params      param.Values
	// seqOf turns a class-local sequence number into Env.Seq (a worker
	// combines it with its index); nil is the identity.
	seqOf func(class int, local int64) int64

	mu      sync.Mutex
	classes []*poolClass
	nextID  int
	running map[*poolUser]struct{} // live and retiring
	idle    chan struct{}          // closed whenever running is empty
}

type poolClass struct {
	spawner    user.Spawner
	name, host string
	log        *zap.Logger
	head, tail *poolUser // live users, oldest to newest
	live       int
	freeSeq    seqHeap // sequence numbers of exited users, reused smallest first
	nextSeq    int64
}

type poolUser struct {
	id         int
	class      int
	seq        int64
	stopping   chan struct{}
	cancel     context.CancelFunc
	hardStop   *time.Timer
	prev, next *poolUser // in the class's live list
	retiring   bool
}

type poolConfig struct {
	classes     []user.Spawner
	host        string // the run's host; overrides each class's
	stats       *stats.Registry
	log         *zap.Logger
	gate        user.IterationGate
	stopTest    func(error)
	seed        uint64
	stopTimeout time.Duration
	onRequest   user.RequestListener
	params      param.Values
}

func newUserPool(c poolConfig) *userPool {
	p := &userPool{
		stats:       c.stats,
		log:         c.log,
		gate:        c.gate,
		stopTest:    c.stopTest,
		seed:        c.seed,
		stopTimeout: c.stopTimeout,
		onRequest:   c.onRequest,
		params:      c.params,
		running:     make(map[*poolUser]struct{}),
		idle:        make(chan struct{}),
	}
	close(p.idle)
	for _, s := range c.classes {
		host := c.host
		if host == "" {
			host = s.ClassHost()
		}
		p.classes = append(p.classes, &poolClass{
			spawner: s,
			name:    s.ClassName(),
			host:    host,
			log:     c.log.With(zap.String("class", s.ClassName())),
		})
	}
	return p
}

// apply moves the pool to per-class targets at once (a worker applying a
// master's spawn message): removals stop the newest users first, additions
// follow the smooth weighted order. It returns the live counts afterwards.
func (p *userPool) apply(targets, weights []int, fixed []bool) []int {
	tr := newTransition(p.counts(), targets, weights, fixed)
	for tr.step(p) {
	}
	return p.counts()
}

// splitmix64 mixes a seed and a user id into an independent stream seed.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// spawn starts one user of class ci.
func (p *userPool) spawn(ci int) {
	p.mu.Lock()
	c := p.classes[ci]
	u := &poolUser{id: p.nextID, class: ci, stopping: make(chan struct{})}
	p.nextID++
	if len(c.freeSeq) > 0 {
		u.seq = heap.Pop(&c.freeSeq).(int64)
	} else {
		u.seq = c.nextSeq
		c.nextSeq++
	}
	c.push(u)
	if len(p.running) == 0 {
		p.idle = make(chan struct{})
	}
	p.running[u] = struct{}{}
	ctx, cancel := context.WithCancel(context.Background())
	u.cancel = cancel
	seq := u.seq
	if p.seqOf != nil {
		seq = p.seqOf(ci, u.seq)
	}
	env := &user.Env{
		ID:       u.id,
		Class:    c.name,
		Host:     c.host,
		Stats:    p.stats,
		Logger:   c.log,
		Stopping: u.stopping,
		StopTest: p.stopTest,
		Rand:     rand.New(rand.NewPCG(p.seed, splitmix64(p.seed^uint64(u.id)))),
		Gate:     p.gate,
		Seq:      seq,
		// The listener goes to each user's Env: recording reads it there,
		// without a shared lock.
		OnRequest: p.onRequest,
		Params:    p.params,
	}
	p.mu.Unlock()
	go p.run(ctx, u, c.spawner, env)
}

func (p *userPool) run(ctx context.Context, u *poolUser, s user.Spawner, env *user.Env) {
	defer p.exited(u)
	defer func() {
		if r := recover(); r != nil {
			stack := string(debug.Stack())
			msg := fmt.Sprintf("user %d of class %s panicked: %v", env.ID, env.Class, r)
			p.log.Error("user panicked", zap.Int("user", env.ID), zap.String("class", env.Class), zap.Any("panic", r))
			if p.stats != nil {
				p.stats.RecordException(msg, stack)
			}
		}
	}()
	s.Run(ctx, env)
}

// exited unregisters a user whose goroutine is returning.
func (p *userPool) exited(u *poolUser) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.classes[u.class]
	if !u.retiring { // ended by itself: it no longer counts
		c.unlink(u)
	}
	if u.hardStop != nil {
		u.hardStop.Stop()
	}
	u.cancel()
	heap.Push(&c.freeSeq, u.seq)
	delete(p.running, u)
	if len(p.running) == 0 {
		close(p.idle)
	}
}

// retire tells a live user to stop (p.mu held): it leaves the live list,
// its Stopping channel closes, and its context is cancelled after hardAfter
// (at once when hardAfter <= 0; never when timer is false).
func (p *userPool) retire(u *poolUser, hardAfter time.Duration, timer bool) {
	p.classes[u.class].unlink(u)
	u.retiring = true
	close(u.stopping)
	switch {
	case !timer:
	case hardAfter <= 0:
		u.cancel()
	default:
		u.hardStop = time.AfterFunc(hardAfter, u.cancel)
	}
}

// retireNewest stops the newest live user among the classes with
// surplus[c] > 0, gracefully within the pool's stop timeout, and returns its
// class; -1 when those classes have no live user.
func (p *userPool) retireNewest(surplus []int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	best := -1
	for ci, s := range surplus {
		if s <= 0 {
			continue
		}
		if t := p.classes[ci].tail; t != nil && (best < 0 || t.id > p.classes[best].tail.id) {
			best = ci
		}
	}
	if best >= 0 {
		p.retire(p.classes[best].tail, p.stopTimeout, true)
	}
	return best
}

// stopAll stops every user: their Stopping channels close, running tasks
// get up to timeout to finish, then every context is cancelled and the pool
// waits at most user.OnStopGrace (for OnStop) plus grace more. It returns how many users were still running.
func (p *userPool) stopAll(timeout, grace time.Duration) int {
	p.mu.Lock()
	for _, c := range p.classes {
		for c.head != nil {
			p.retire(c.head, 0, false)
		}
	}
	idle := p.idle
	p.mu.Unlock()

	if timeout > 0 && !waitClosed(idle, timeout) {
		p.log.Info("stop timeout reached, cancelling the users still running", zap.Int("users", p.runningCount()))
	}
	p.mu.Lock()
	for u := range p.running {
		u.cancel()
	}
	p.mu.Unlock()
	// Users whose OnStop runs after the cancel have its own grace.
	if waitClosed(idle, user.OnStopGrace+grace) {
		return 0
	}
	return p.runningCount()
}

// waitClosed waits until ch is closed or d passes; it reports whether ch closed.
func waitClosed(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	default:
	}
	if d <= 0 {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}

func (p *userPool) runningCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.running)
}

// idleChan returns a channel closed once no user goroutine runs at the
// time of the call or later.
func (p *userPool) idleChan() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.idle
}

// counts returns the live users per class.
func (p *userPool) counts() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]int, len(p.classes))
	for i, c := range p.classes {
		out[i] = c.live
	}
	return out
}

func (p *userPool) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.classes {
		n += c.live
	}
	return n
}

func (c *poolClass) push(u *poolUser) {
	u.prev, u.next = c.tail, nil
	if c.tail != nil {
		c.tail.next = u
	} else {
		c.head = u
	}
	c.tail = u
	c.live++
}

func (c *poolClass) unlink(u *poolUser) {
	if u.prev != nil {
		u.prev.next = u.next
	} else {
		c.head = u.next
	}
	if u.next != nil {
		u.next.prev = u.prev
	} else {
		c.tail = u.prev
	}
	u.prev, u.next = nil, nil
	c.live--
}

type seqHeap []int64

func (h seqHeap) Len() int           { return len(h) }
func (h seqHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h seqHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *seqHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *seqHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// transition moves a pool from its current per-class counts to targets, one
// user at a time. Removals come first, each stopping the newest live user
// among the classes above target. Then additions: classes with a fixed count
// round-robin first, then the weighted classes in smooth order by weight,
// skipping each class once it has reached its target. From zero users this is
// SpawnOrder (weights 5:1 give AAABAAAAABAA), and a ramp up from a running
// mix continues it, so the mix holds at every step.
type transition struct {
	counts  []int // where the plan stands
	targets []int
	surplus []int
	fixed   []bool
	rr      int
	smooth  *smooth
}

func newTransition(current, targets, weights []int, fixed []bool) *transition {
	t := &transition{
		counts:  append([]int(nil), current...),
		targets: targets,
		surplus: make([]int, len(targets)),
		fixed:   fixed,
	}
	w := make([]int64, len(targets))
	for i := range targets {
		d := targets[i] - current[i]
		if d < 0 {
			t.surplus[i] = -d
		}
		if d > 0 && !fixed[i] {
			w[i] = int64(max(1, weights[i]))
		}
	}
	t.smooth = newSmooth(w)
	return t
}

// done reports whether the plan has reached its targets.
func (t *transition) done() bool {
	for i := range t.targets {
		if t.counts[i] != t.targets[i] {
			return false
		}
	}
	return true
}

// step carries out one change on p; false when there is nothing left to do.
func (t *transition) step(p *userPool) bool {
	if sum(t.surplus) > 0 {
		c := p.retireNewest(t.surplus)
		if c >= 0 {
			t.surplus[c]--
			t.counts[c]--
			return true
		}
		// The users above target have already ended by themselves.
		for i, s := range t.surplus {
			t.counts[i] -= s
			t.surplus[i] = 0
		}
	}
	n := len(t.targets)
	for k := range n {
		i := (t.rr + k) % n
		if t.fixed[i] && t.counts[i] < t.targets[i] {
			t.rr = (i + 1) % n
			t.counts[i]++
			p.spawn(i)
			return true
		}
	}
	i := t.smooth.next()
	if i < 0 {
		return false
	}
	t.counts[i]++
	if t.counts[i] >= t.targets[i] {
		t.smooth.drop(i)
	}
	p.spawn(i)
	return true
}
