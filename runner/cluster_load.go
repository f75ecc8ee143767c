package runner

import (
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
// a LoadModel of its stripe of the arrival rate and its part of the
// iteration limit, run by a LoadRun over the worker's Local exactly as a
// standalone run's model, and whether the share is over (its schedule
// ended or its iterations ran, and its users left).
type workerShare struct {
	runID   uint64
	model   *LoadModel    // nil: nothing to run (an empty share)
	arrival bool          // an arrival schedule sizes the pool
	stopped chan struct{} // closed when the worker stops the test
	done    atomic.Bool
	once    sync.Once

	mu    sync.Mutex // guards bound
	bound *LoadRun   // run, once started over the test's Local
}

// bind records the run once it drives the test's Local.
func (s *workerShare) bind(r *LoadRun) {
	s.mu.Lock()
	s.bound = r
	s.mu.Unlock()
}

// counts returns the iterations run and dropped so far.
func (s *workerShare) counts() (run, dropped int64) {
	s.mu.Lock()
	r := s.bound
	s.mu.Unlock()
	if r == nil {
		return 0, 0
	}
	run, dropped, _ = r.counts()
	return max(run, 0), max(dropped, 0)
}

// stop ends the share's model (before the users stop) and waits for it,
// so that the back-fill of its dropped iterations is recorded before the
// final report.
func (s *workerShare) stop() {
	s.once.Do(func() {
		close(s.stopped)
		s.mu.Lock()
		r := s.bound
		s.mu.Unlock()
		if r != nil {
			r.stopModel()
		}
	})
}

// newShare builds this worker's share of a run from the master's options
// (nil without a load model) and the gate its users take iterations from
// (nil: the worker's own). The share's run starts with the test's Local.
func (w *Worker) newShare(a *locustpb.Arrival) (*workerShare, user.IterationGate, error) {
	sched, modeled := wireArrival(a)
	if !modeled {
		return nil, nil, nil
	}
	w.mu.Lock()
	old := w.share
	w.mu.Unlock()
	empty := NewIterationLimit(NewCounter(0), nil)
	if old != nil && old.runID == a.GetRunId() {
		w.log.Warn("this worker lost its users during the run: its unfinished share is not run again")
		return nil, empty, nil
	}
	sh := &workerShare{runID: a.GetRunId(), arrival: sched != nil, stopped: make(chan struct{})}
	limited := a.GetIterationLimit() || a.GetMaxIterations() > 0
	if limited && a.GetMaxIterations() == 0 {
		// An empty share: nothing to run, whether users come or not.
		sh.done.Store(true)
		w.log.Info("iteration share", zap.Int64("iterations", 0))
		w.nudgeReport()
		return sh, empty, nil
	}
	l := Load{Arrival: sched}
	if limited {
		l.Iterations = a.GetMaxIterations()
		w.log.Info("iteration share", zap.Int64("iterations", l.Iterations))
	}
	if sched != nil {
		w.log.Info("arrival-rate share", zap.Float64("cluster_rate", sched.Rate), zap.Int("stages", len(sched.Stages)),
			zap.Int("part", sched.Part), zap.Int("parts", sched.Parts), zap.Int("pre_allocate", sched.PreAllocate), zap.Int("max_users", sched.MaxUsers))
	}
	sh.model = NewLoadModel(l, LoadModelOptions{Logger: w.log, Registry: w.reg})
	return sh, sh.model.Gate(), nil
}

// watchShare marks the share done once its run has finished (its schedule
// is over or its iterations are taken, and every user has left) or the
// worker stopped the test; the next report says so at once.
func (w *Worker) watchShare(sh *workerShare) {
	select {
	case <-sh.bound.Finished():
		w.log.Info("this worker's share of the run is done")
	case <-sh.stopped:
	}
	sh.done.Store(true)
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
