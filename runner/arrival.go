package runner

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golocust/golocust/internal/bounds"
	"github.com/golocust/golocust/user"
)

// DefaultArrivalGrace is how late after its scheduled time an iteration may
// still be handed to a user (Arrival.Grace); the user drops it if it gets
// it more than 1.2 × the grace late. It covers timer granularity and a user
// that is just coming back for its next iteration; it also bounds any
// catch-up: in any window of length W at most rate×(W+1.2×grace)+1
// iterations start, so 5 ms keeps every 100 ms window within 6 % of the
// rate.
const DefaultArrivalGrace = 5 * time.Millisecond

// RateStage is one stage of a ramping arrival rate: the rate moves linearly
// from where the previous stage left it (Arrival.Rate for the first) to Rate
// iterations per second over Duration. A zero Duration jumps.
type RateStage struct {
	Duration time.Duration
	Rate     float64
}

// Arrival configures the open model: iterations start on a schedule, not
// when a user is done with its previous one.
type Arrival struct {
	// Rate is the constant rate in iterations per second when Stages is
	// empty (the schedule then runs until stopped), or the starting rate
	// of the first stage.
	Rate float64
	// Stages ramp the rate; the schedule ends after the last stage.
	Stages []RateStage
	// PreAllocate users are started with the schedule; 0 means
	// min(MaxUsers, max(1, ceil(starting rate / 10))).
	PreAllocate int
	// MaxUsers caps the pool that grows on demand (0: PreAllocate).
	MaxUsers int
	// Grace: see DefaultArrivalGrace (0 picks it).
	Grace time.Duration
	// Warn, when set, is told once when an iteration is dropped because
	// every user is busy and the pool is at MaxUsers (k6's "insufficient
	// VUs").
	Warn func(msg string)
	// Omitted, when set, receives the coordinated-omission back-fill of
	// every dropped iteration (as wrk2 and HdrHistogram's
	// RecordCorrectedValue do): how long it would have waited for a
	// user, from its scheduled time to the next hand-off of an iteration
	// to a user, or to the end of the schedule. Pass a stats.Registry's
	// RecordOmitted, so that the corrected latencies show a stall that
	// the iterations that run, on time, do not. Calls are serialised; it
	// must not call the gate.
	Omitted func(d time.Duration)
	// Part and Parts stripe the schedule for distributed mode: this
	// process runs the iterations k with k % Parts == Part of the
	// cluster-wide schedule. Parts 0 means 1.
	Part, Parts int
}

// startRate is the rate at time zero.
func (a Arrival) startRate() float64 { return a.Rate }

// Validate reports the first problem with a.
func (a Arrival) Validate() error {
	bad := func(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) || f < 0 }
	if bad(a.Rate) {
		return fmt.Errorf("arrival rate %v: want a number of iterations per second >= 0", a.Rate)
	}
	if len(a.Stages) == 0 && a.Rate <= 0 {
		return errors.New("arrival rate: want a rate > 0 or stages of rates")
	}
	for i, s := range a.Stages {
		if bad(s.Rate) || s.Duration < 0 {
			return fmt.Errorf("arrival stage %d: want a duration >= 0 and a rate >= 0, got %v and %v", i+1, s.Duration, s.Rate)
		}
	}
	if a.PreAllocate < 0 || a.MaxUsers < 0 {
		return errors.New("arrival rate: pre-allocated and maximum users must be >= 0")
	}
	if a.MaxUsers > 0 && a.PreAllocate > a.MaxUsers {
		return fmt.Errorf("arrival rate: %d pre-allocated users exceed the maximum of %d", a.PreAllocate, a.MaxUsers)
	}
	if a.Parts < 0 || a.Part < 0 || (a.Parts > 0 && a.Part >= a.Parts) {
		return fmt.Errorf("arrival rate: part %d of %d", a.Part, a.Parts)
	}
	return nil
}

// piece is a stretch of the schedule with a linear rate.
type piece struct {
	start, dur float64 // seconds; dur is +Inf for the open last piece
	r0, r1     float64 // rate at start and end
	n0, n      float64 // iterations before the piece, and in it
}

// Schedule gives the start offset of every iteration: iteration k starts
// when the integral of the rate reaches k (k/R for a constant rate R).
// Ramps use the closed form of the integral of a linear rate, so there is
// no drift and no catch-up. Offsets must be asked for in increasing k.
type Schedule struct {
	pieces []piece
	cur    int
	total  float64 // iterations in the whole schedule (+Inf when open)
}

// NewSchedule builds the schedule of a (its rates and stages only).
func NewSchedule(a Arrival) *Schedule {
	s := &Schedule{}
	var t, n float64
	rate := a.startRate()
	for _, st := range a.Stages {
		d := st.Duration.Seconds()
		p := piece{start: t, dur: d, r0: rate, r1: st.Rate, n0: n, n: (rate + st.Rate) / 2 * d}
		s.pieces = append(s.pieces, p)
		t += d
		n += p.n
		rate = st.Rate
	}
	if len(a.Stages) == 0 {
		s.pieces = append(s.pieces, piece{start: 0, dur: math.Inf(1), r0: rate, r1: rate, n: math.Inf(1)})
		n = math.Inf(1)
	}
	s.total = n
	return s
}

// Total is the number of iterations in the schedule (+Inf when open).
func (s *Schedule) Total() float64 { return s.total }

// At returns when iteration k starts, from the start of the schedule;
// false after the end.
func (s *Schedule) At(k int64) (time.Duration, bool) {
	x := float64(k)
	if x >= s.total {
		return 0, false
	}
	for s.cur < len(s.pieces)-1 && x >= s.pieces[s.cur].n0+s.pieces[s.cur].n {
		s.cur++
	}
	p := s.pieces[s.cur]
	c := x - p.n0
	var tau float64
	switch {
	case c <= 0:
		tau = 0
	case p.r0 == p.r1 || math.IsInf(p.dur, 1):
		tau = c / p.r0
	default:
		// r0·τ + (r1-r0)/(2·dur)·τ² = c, in the form that is stable
		// whether the rate rises or falls.
		a := (p.r1 - p.r0) / (2 * p.dur)
		disc := max(p.r0*p.r0+4*a*c, 0)
		tau = 2 * c / (p.r0 + math.Sqrt(disc))
	}
	tau = min(tau, p.dur)
	ns := math.Round((p.start + tau) * float64(time.Second))
	if !(ns < math.MaxInt64) {
		// Beyond what a Duration holds (a tiny rate of an open schedule):
		// due after any run can end.
		return math.MaxInt64, true
	}
	return time.Duration(ns), true
}

// Scaler is what an ArrivalGate grows: a runner whose user count it sets.
// *Local is one.
type Scaler interface {
	Start(users int, spawnRate float64) error
	UserCount() int
}

// ArrivalStats counts the iterations of an arrival schedule.
type ArrivalStats struct {
	Run     int64 // handed to a user
	Dropped int64 // no user was free within the grace of their scheduled time
	// Late counts the dropped iterations whose time had already passed
	// by more than the grace when the scheduler got to them (this
	// process was too busy), a subset of Dropped.
	Late int64
}

// ArrivalGate is a user.IterationGate that carries an arrival-rate
// schedule: a scheduler hands each scheduled iteration to one idle user of
// the pool, with the scheduled time as the iteration's intended start (so
// the user records corrected latencies from it). When no user is idle
// within the grace, the iteration is dropped and counted, never queued,
// and the pool is asked to grow (up to MaxUsers); with Arrival.Omitted,
// the wait it would have had is back-filled into the corrected latencies. Iterations are never
// started early and never in a burst to catch up.
//
// Use: hand the gate to the runner as Options.Gate, then Start it with the
// runner. Stop (or the end of the schedule) makes every waiting user's
// Next return false.
type ArrivalGate struct {
	a     Arrival
	grace time.Duration

	tickets chan time.Time
	stop    chan struct{} // closed by Stop or at the end of the schedule
	stopped sync.Once
	ended   chan struct{} // closed when the scheduler has returned
	growC   chan struct{} // a grow request is pending
	started atomic.Bool

	run, dropped, late atomic.Int64
	idle               atomic.Int64 // users in Next

	t0        time.Time    // when the schedule started (set before it runs)
	npending  atomic.Int64 // len(pending), read without omitMu on hand-off
	omitMu    sync.Mutex   // guards pending and omitEnded, serialises a.Omitted
	pending   []time.Duration
	omitEnded bool // the schedule is over: back-fill at once
}

// maxPendingOmitted caps the dropped iterations waiting for a hand-off to
// be back-filled (8 bytes each).
const maxPendingOmitted = 100_000

var _ user.IterationGate = (*ArrivalGate)(nil)

// NewArrivalGate checks a and returns a gate ready to Run.
func NewArrivalGate(a Arrival) (*ArrivalGate, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if a.Parts == 0 {
		a.Parts = 1
	}
	if a.PreAllocate == 0 {
		r := a.startRate()
		if r == 0 && len(a.Stages) > 0 {
			r = a.Stages[0].Rate
		}
		a.PreAllocate = max(1, int(math.Ceil(r/10/float64(a.Parts))))
		if a.MaxUsers > 0 {
			a.PreAllocate = min(a.PreAllocate, a.MaxUsers)
		}
	}
	if a.MaxUsers == 0 {
		a.MaxUsers = a.PreAllocate
	}
	g := &ArrivalGate{
		a:       a,
		grace:   a.Grace,
		tickets: make(chan time.Time),
		stop:    make(chan struct{}),
		ended:   make(chan struct{}),
		growC:   make(chan struct{}, 1),
	}
	if g.grace <= 0 {
		g.grace = DefaultArrivalGrace
	}
	return g, nil
}

// Config returns the gate's configuration with defaults applied.
func (g *ArrivalGate) Config() Arrival { return g.a }

// Next implements user.IterationGate: it blocks until the scheduler hands
// this user an iteration (ok, with its scheduled time), or the schedule is
// stopped or over, or ctx ends (not ok). An iteration that reaches the user
// more than the grace (plus a fifth) after its time, because this process
// was short of CPU, is dropped as late rather than started in a bunch.
func (g *ArrivalGate) Next(ctx context.Context) (time.Time, bool) {
	g.idle.Add(1)
	defer g.idle.Add(-1)
	for {
		select {
		case t := <-g.tickets:
			if time.Since(t) > g.grace+g.grace/5 {
				g.run.Add(-1)
				g.dropped.Add(1)
				g.late.Add(1)
				g.omit(t)
				continue
			}
			if g.npending.Load() > 0 {
				g.backfill(false)
			}
			return t, true
		case <-g.stop:
			return time.Time{}, false
		case <-ctx.Done():
			return time.Time{}, false
		}
	}
}

// Stats returns the counters so far.
func (g *ArrivalGate) Stats() ArrivalStats {
	return ArrivalStats{Run: g.run.Load(), Dropped: g.dropped.Load(), Late: g.late.Load()}
}

// Stop ends the schedule: waiting users' Next returns false at once (users
// in an iteration finish it). Safe to call more than once.
func (g *ArrivalGate) Stop() { g.stopped.Do(func() { close(g.stop) }) }

// Done is closed when the gate's goroutines have returned: the schedule
// ended (the last stage is over), or Stop was called, or Start's ctx ended.
func (g *ArrivalGate) Done() <-chan struct{} { return g.ended }

// Start starts PreAllocate users on pool (synchronously: an error of the
// pool is returned), then runs the schedule from now and grows the pool on
// demand in the background until the schedule ends, Stop is called or ctx
// ends; Done is closed then. The users stay: stop them with the runner
// after Stop. A gate starts once.
func (g *ArrivalGate) Start(ctx context.Context, pool Scaler) error {
	if !g.started.CompareAndSwap(false, true) {
		return errors.New("runner: an ArrivalGate starts once")
	}
	if err := pool.Start(g.a.PreAllocate, min(max(1, float64(g.a.PreAllocate)), bounds.MaxSpawnRate)); err != nil {
		g.Stop()
		close(g.ended)
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	schedDone := make(chan struct{})
	g.t0 = time.Now()
	go func() {
		defer close(schedDone)
		defer g.backfill(true)
		g.schedule(ctx, g.t0)
	}()
	go func() {
		defer close(g.ended)
		defer func() { <-schedDone }()
		defer cancel()
		g.grow(ctx, pool, schedDone)
	}()
	return nil
}

// grow answers each (coalesced) request by adding a tenth of the pool (at
// least one user), up to MaxUsers: few ramp calls when a stall needs many
// more users, at most 10 % more users than needed. The pool's size is
// tracked here, not read back from the runner: a runner spawns in the
// background, and a size read before its ramp ran would shrink the pool
// (retiring users that may hold an iteration). Users that left by
// themselves are replaced on the next request.
func (g *ArrivalGate) grow(ctx context.Context, pool Scaler, schedDone <-chan struct{}) {
	size := g.a.PreAllocate
	warned := false
	for {
		select {
		case <-schedDone:
			return
		case <-ctx.Done():
			return
		case <-g.growC:
			if size >= g.a.MaxUsers && pool.UserCount() >= size {
				if !warned && g.a.Warn != nil {
					warned = true
					g.a.Warn(fmt.Sprintf("all %d users are busy: iterations are being dropped; raise the maximum number of users (--max-users) if the target can take more", size))
				}
				continue
			}
			add := max(1, size/10)
			size = min(size+add, g.a.MaxUsers)
			if err := pool.Start(size, min(float64(add), bounds.MaxSpawnRate)); err != nil {
				g.Stop()
				return
			}
		}
	}
}

// requestGrow asks Run for one more user (coalesced).
func (g *ArrivalGate) requestGrow() {
	select {
	case g.growC <- struct{}{}:
	default:
	}
}

// schedule hands out the iterations of this process's part of the
// schedule from start on, and closes stop at the end.
func (g *ArrivalGate) schedule(ctx context.Context, start time.Time) {
	defer g.Stop()
	sched := NewSchedule(g.a)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	wait := func(d time.Duration) bool { // false: stopped
		timer.Reset(d) // Go 1.23 timers: no stale value after Reset
		select {
		case <-timer.C:
			return true
		case <-g.stop:
			return false
		case <-ctx.Done():
			return false
		}
	}
	for k := int64(g.a.Part); ; k += int64(g.a.Parts) {
		off, ok := sched.At(k)
		if !ok {
			return
		}
		at := start.Add(off)
		if d := time.Until(at); d > 0 && !wait(d) {
			return
		}
		late := time.Since(at)
		if late > g.grace {
			g.dropped.Add(1)
			g.late.Add(1)
			g.omit(at)
			continue
		}
		select { // an idle user takes it at once
		case g.tickets <- at:
			g.run.Add(1)
			continue
		default:
		}
		if late <= g.grace/5 && g.idle.Load() == 0 {
			// Every user is busy while the scheduler keeps time: grow.
			// When the scheduler itself is behind, this process is
			// short of CPU, and more users would only make it worse;
			// when a user is on its way into Next, it takes this one.
			g.requestGrow()
		}
		timer.Reset(g.grace - late)
		select {
		case g.tickets <- at:
			g.run.Add(1)
		case <-timer.C:
			g.dropped.Add(1)
			g.omit(at)
		case <-g.stop:
			return
		case <-ctx.Done():
			return
		}
	}
}

// omit remembers a dropped iteration, due at at, until the next hand-off
// back-fills it. Past maxPendingOmitted pending ones, the older half is
// back-filled at once with the wait so far (a lower bound: they have
// waited the longest).
func (g *ArrivalGate) omit(at time.Time) {
	if g.a.Omitted == nil {
		return
	}
	g.omitMu.Lock()
	defer g.omitMu.Unlock()
	now := time.Since(g.t0)
	off := at.Sub(g.t0)
	if g.omitEnded {
		g.a.Omitted(max(now-off, 0))
		return
	}
	if len(g.pending) >= maxPendingOmitted {
		half := len(g.pending) / 2
		for _, p := range g.pending[:half] {
			g.a.Omitted(max(now-p, 0))
		}
		g.pending = g.pending[:copy(g.pending, g.pending[half:])]
	}
	g.pending = append(g.pending, off)
	g.npending.Store(int64(len(g.pending)))
}

// backfill gives a.Omitted the wait of every pending dropped iteration:
// until now, when a user takes an iteration or (final) the schedule is
// over.
func (g *ArrivalGate) backfill(final bool) {
	if g.a.Omitted == nil {
		return
	}
	g.omitMu.Lock()
	defer g.omitMu.Unlock()
	now := time.Since(g.t0)
	for _, p := range g.pending {
		g.a.Omitted(max(now-p, 0))
	}
	g.pending = g.pending[:0]
	g.npending.Store(0)
	if final {
		g.omitEnded = true
		g.pending = nil
	}
}
