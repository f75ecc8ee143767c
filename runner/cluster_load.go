package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/user"
)

// ClusterLoad is a load model the master splits over its workers: an
// arrival rate (the cluster-wide schedule, each worker running its stripe
// of it, Arrival.Part/Parts) and/or an iteration limit (split exactly: N
// over W workers sums to N). The master decides the split when a test
// starts; each worker carries out its share and reports it done.
//
// The split is fixed for the test: a worker that joins during it gets no
// share (and no users) until the next test; a worker that leaves takes its
// unfinished share with it; a worker that lost its users mid-test does not
// run its share again.
type ClusterLoad struct {
	// Arrival, when set, runs the open model: its Rate, Stages,
	// PreAllocate and MaxUsers are cluster-wide (the users are split over
	// the workers, at least one each). Warn, Omitted, Part and Parts are
	// ignored (each worker sets its own).
	Arrival *Arrival
	// Iterations, when > 0, stops the test after exactly this many task
	// iterations across the cluster.
	Iterations int64
}

// Validate reports the first problem with l.
func (l *ClusterLoad) Validate() error {
	if l.Arrival == nil && l.Iterations <= 0 {
		return errors.New("runner: a cluster load model needs an arrival rate or an iteration limit")
	}
	if l.Iterations < 0 {
		return fmt.Errorf("runner: negative iteration limit %d", l.Iterations)
	}
	if l.Arrival != nil {
		a := *l.Arrival
		a.Part, a.Parts = 0, 0
		return a.Validate()
	}
	return nil
}

// splitExact returns part's share of n over parts: the shares differ by at
// most one and sum to n (1000 over 3: 334, 333, 333).
func splitExact(n int64, part, parts int) int64 {
	if parts <= 0 {
		return n
	}
	s := n / int64(parts)
	if int64(part) < n%int64(parts) {
		s++
	}
	return s
}

// share is the wire form of part's share of l.
func (l *ClusterLoad) share(part, parts int, runID uint64) *locustpb.Arrival {
	out := &locustpb.Arrival{RunId: runID}
	if l.Iterations > 0 {
		out.IterationLimit = true
		out.MaxIterations = splitExact(l.Iterations, part, parts)
	}
	if a := l.Arrival; a != nil {
		out.ClusterRate = a.Rate
		out.Part, out.Parts = int32(part), int32(parts)
		out.IterationsPerSecond = a.Rate / float64(parts)
		for _, st := range a.Stages {
			out.ClusterStages = append(out.ClusterStages, &locustpb.RateStage{DurationUs: st.Duration.Microseconds(), Rate: st.Rate})
		}
		if a.MaxUsers > 0 {
			out.MaxUsers = max(1, splitExact(int64(a.MaxUsers), part, parts))
		}
		if a.PreAllocate > 0 {
			out.PreAllocate = max(1, splitExact(int64(a.PreAllocate), part, parts))
			if out.MaxUsers > 0 {
				out.PreAllocate = min(out.PreAllocate, out.MaxUsers)
			}
		}
	}
	return out
}

// wireArrival tells whether a carries a share of a load model, and its
// arrival schedule (nil without one).
func wireArrival(a *locustpb.Arrival) (sched *Arrival, ok bool) {
	if a == nil {
		return nil, false
	}
	if a.GetClusterRate() > 0 || len(a.GetClusterStages()) > 0 {
		sched = &Arrival{
			Rate:        a.GetClusterRate(),
			PreAllocate: int(a.GetPreAllocate()),
			MaxUsers:    int(a.GetMaxUsers()),
			Part:        int(a.GetPart()),
			Parts:       int(a.GetParts()),
		}
		for _, st := range a.GetClusterStages() {
			sched.Stages = append(sched.Stages, RateStage{Duration: time.Duration(st.GetDurationUs()) * time.Microsecond, Rate: st.GetRate()})
		}
	}
	return sched, sched != nil || a.GetIterationLimit() || a.GetMaxIterations() > 0
}

// workerShare is a worker's share of a cluster load model for one run:
// the gate its users take their iterations from, and whether the share is
// over (its schedule ended or its iterations ran, and its users left).
type workerShare struct {
	runID   uint64
	gate    user.IterationGate // nil: no iteration (an empty share)
	arrival *ArrivalGate
	limit   *IterationLimit
	done    atomic.Bool
	cancel  context.CancelFunc
	scaler  *poolScaler
	started atomic.Bool // the arrival gate was started (its Done closes)
	stopped sync.Once
}

// counts returns the iterations run and dropped so far.
func (s *workerShare) counts() (run, dropped int64) {
	if s.arrival != nil {
		st := s.arrival.Stats()
		run, dropped = st.Run, st.Dropped
	}
	if s.limit != nil {
		run = s.limit.Taken()
	}
	return max(run, 0), max(dropped, 0)
}

// stop ends the share's schedule and growth (before the pool stops), and
// waits for the schedule's goroutines, so that the back-fill of its
// dropped iterations is recorded before the final report.
func (s *workerShare) stop() {
	s.stopped.Do(func() {
		if s.scaler != nil {
			s.scaler.stop()
		}
		if s.arrival != nil {
			s.arrival.Stop()
		}
		if s.cancel != nil {
			s.cancel()
		}
		if s.arrival != nil && s.started.Load() {
			<-s.arrival.Done()
		}
	})
}

// poolScaler lets an ArrivalGate size a worker's pool, keeping the class
// mix by weight.
type poolScaler struct {
	mu      sync.Mutex
	p       *userPool
	weights []int
	fixed   []int
	isFixed []bool
	halted  bool
}

func (s *poolScaler) Start(users int, _ float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.halted {
		return errors.New("runner: the worker's users are stopping")
	}
	s.p.apply(Targets(s.weights, s.fixed, users), s.weights, s.isFixed)
	return nil
}

func (s *poolScaler) UserCount() int { return s.p.total() }

func (s *poolScaler) stop() {
	s.mu.Lock()
	s.halted = true
	s.mu.Unlock()
}

// newShare builds this worker's share of a run from the master's options.
// The returned share is not started (see startShare).
func (w *Worker) newShare(a *locustpb.Arrival, sched *Arrival) (*workerShare, error) {
	sh := &workerShare{runID: a.GetRunId()}
	var inner user.IterationGate
	if sched != nil {
		sched.Warn = func(msg string) { w.log.Warn(msg) }
		sched.Omitted = w.reg.RecordOmitted
		g, err := NewArrivalGate(*sched)
		if err != nil {
			return nil, err
		}
		sh.arrival, inner = g, g
	}
	if a.GetIterationLimit() || a.GetMaxIterations() > 0 {
		sh.limit = NewIterationLimit(NewCounter(a.GetMaxIterations()), inner)
		inner = sh.limit
	}
	sh.gate = inner
	return sh, nil
}

// startShare starts the share's schedule on p (arrival rate) and watches
// for the end of the share: then the next report says so at once.
func (w *Worker) startShare(sh *workerShare, p *userPool, weights, fixed []int, isFixed []bool) error {
	ctx, cancel := context.WithCancel(context.Background())
	sh.cancel = cancel
	if sh.arrival != nil {
		sh.scaler = &poolScaler{p: p, weights: weights, fixed: fixed, isFixed: isFixed}
		a := sh.arrival.Config()
		w.log.Info("arrival-rate share", zap.Float64("cluster_rate", a.Rate), zap.Int("stages", len(a.Stages)),
			zap.Int("part", a.Part), zap.Int("parts", a.Parts), zap.Int("pre_allocate", a.PreAllocate), zap.Int("max_users", a.MaxUsers))
		err := sh.arrival.Start(ctx, sh.scaler)
		sh.started.Store(true) // Done closes either way
		if err != nil {
			cancel()
			return err
		}
	}
	if sh.limit != nil {
		w.log.Info("iteration share", zap.Int64("iterations", sh.limit.tickets.(*Counter).n))
	}
	go w.watchShare(ctx, sh, p)
	return nil
}

// watchShare marks the share done once its schedule is over or its
// iterations are taken, and every user has left.
func (w *Worker) watchShare(ctx context.Context, sh *workerShare, p *userPool) {
	var over, exhausted <-chan struct{}
	if sh.arrival != nil {
		over = sh.arrival.Done()
	}
	if sh.limit != nil {
		exhausted = sh.limit.Exhausted()
		if c, ok := sh.limit.tickets.(*Counter); ok && c.n == 0 && sh.arrival == nil {
			// An empty share: nothing to run, whether users come or not.
			closed := make(chan struct{})
			close(closed)
			exhausted = closed
		}
	}
	select {
	case <-over:
	case <-exhausted:
		if sh.arrival != nil {
			sh.arrival.Stop()
		}
	case <-ctx.Done():
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for p.total() > 0 {
		select {
		case <-ctx.Done():
			// Stopped from outside: the share is over too.
			sh.done.Store(true)
			w.nudgeReport()
			return
		case <-t.C:
		}
	}
	sh.done.Store(true)
	w.log.Info("this worker's share of the run is done")
	w.nudgeReport()
}

// nudgeReport asks the serve loop for a report now.
func (w *Worker) nudgeReport() {
	select {
	case w.reportNow <- struct{}{}:
	default:
	}
}

// loadPlan is the master's split of a ClusterLoad for one test.
type loadPlan struct {
	runID   uint64
	part    map[string]int // worker id → part
	parts   int
	arrival bool
	iters   map[string][2]int64 // per worker: iterations run, dropped (cumulative)
	done    map[string]bool
	fired   bool
	doneC   chan struct{}
}

// newLoadPlan splits l over the workers ws (in order).
func newLoadPlan(ids []string, l *ClusterLoad) *loadPlan {
	p := &loadPlan{
		runID: uint64(time.Now().UnixNano()) | 1, part: map[string]int{}, parts: len(ids),
		arrival: l.Arrival != nil,
		iters:   map[string][2]int64{}, done: map[string]bool{}, doneC: make(chan struct{}),
	}
	for k, id := range ids {
		p.part[id] = k
	}
	return p
}

// markDone records that worker id's share is over (done or gone); it
// closes doneC once every share is. It reports whether the share was
// still pending. m.mu held.
func (p *loadPlan) markDone(id string) bool {
	if _, ok := p.part[id]; !ok || p.done[id] {
		return false
	}
	p.done[id] = true
	if len(p.done) == len(p.part) && !p.fired {
		p.fired = true
		close(p.doneC)
	}
	return true
}

// totals sums the workers' iteration counts.
func (p *loadPlan) totals() (run, dropped int64) {
	for _, c := range p.iters {
		run += c[0]
		dropped += c[1]
	}
	return run, dropped
}

// planWorkers is how many of n workers take a share: min(users, n) for a
// closed-model iteration limit, so that every worker with a share gets a
// user; all of them for an arrival rate.
func planWorkers(n, users int, arrival bool) int {
	if arrival {
		return n
	}
	return max(1, min(n, users))
}
