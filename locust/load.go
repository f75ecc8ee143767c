package locust

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/internal/bounds"
	"github.com/golocust/golocust/internal/timespan"
	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/user"
	"github.com/golocust/golocust/webui"
)

// LoadConfig configures load models beyond a fixed number of closed-loop
// users. At most one of Shape, Stages, Steps and the arrival rate drives a
// run; Iterations combines with any of them.
type LoadConfig struct {
	// Shape drives the user count from code (Locust's LoadTestShape):
	// runner.Stages, runner.Steps or your own runner.Shape. -u and -r are
	// then ignored.
	Shape runner.Shape
	// Stages is the built-in stage shape (--stages "30s:10,1m:50@5,30s:0":
	// duration:users[@rate] per stage, run one after the other; the run
	// ends after the last).
	Stages runner.Stages
	// Steps is the built-in step shape (--steps "10/30s:100@5": add 10
	// users every 30 s up to 100, at 5 users/s).
	Steps *runner.Steps
	// Shapes are named shapes the web form offers in its "Shape class"
	// select with --class-picker (Locust's shape classes); the one chosen
	// drives that run, "Default" runs the above (see shapes.go).
	Shapes map[string]runner.Shape

	// ArrivalRate runs the open model: this many iterations (task picks)
	// per second, whatever the target's response times (--arrival-rate).
	// With ArrivalStages it is the starting rate.
	ArrivalRate float64
	// ArrivalStages ramp the rate linearly, stage by stage
	// (--arrival-stages "30s:100,1m:500"); the run ends after the last.
	ArrivalStages []runner.RateStage
	// MaxUsers caps the pool of users that carry the iterations
	// (--max-users; 0: PreAllocate). An iteration due while every user is
	// busy is dropped and counted, and the pool grows up to MaxUsers.
	MaxUsers int
	// PreAllocate users start with the run (--pre-allocate; 0: a tenth
	// of the starting rate, at least 1, at most MaxUsers).
	PreAllocate int

	// Iterations stops the run after exactly this many task iterations
	// (-i/--iterations) across the users; each user finishes the iteration
	// it is in, then leaves. Closed users keep their class's wait between
	// tasks (not a nested task set's own wait).
	Iterations int64
}

// arrival tells whether the open model is configured.
func (l *LoadConfig) arrival() bool { return l.ArrivalRate > 0 || len(l.ArrivalStages) > 0 }

// shape returns the configured shape, nil when none.
func (l *LoadConfig) shape() runner.Shape {
	switch {
	case l.Shape != nil:
		return l.Shape
	case len(l.Stages) > 0:
		return l.Stages
	case l.Steps != nil:
		return *l.Steps
	}
	return nil
}

// clusterLoad is the master's view of the arrival rate and iteration
// limit; nil when neither is set.
func (l *LoadConfig) clusterLoad() *runner.ClusterLoad {
	if !l.arrival() && l.Iterations == 0 {
		return nil
	}
	cl := &runner.ClusterLoad{Iterations: l.Iterations}
	if l.arrival() {
		a := l.arrivalConfig()
		cl.Arrival = &a
	}
	return cl
}

// arrivalConfig is the runner's view of the arrival settings.
func (l *LoadConfig) arrivalConfig() runner.Arrival {
	return runner.Arrival{Rate: l.ArrivalRate, Stages: l.ArrivalStages, MaxUsers: l.MaxUsers, PreAllocate: l.PreAllocate}
}

func (l *LoadConfig) validate() []error {
	var errs []error
	n := 0
	for _, set := range []bool{l.Shape != nil, len(l.Stages) > 0, l.Steps != nil, l.arrival()} {
		if set {
			n++
		}
	}
	if n > 1 {
		errs = append(errs, errors.New("--stages, --steps, --arrival-rate/--arrival-stages and Config.Load.Shape each drive the run: choose one"))
	}
	if l.arrival() {
		if err := l.arrivalConfig().Validate(); err != nil {
			errs = append(errs, fmt.Errorf("--arrival-rate/--arrival-stages/--max-users/--pre-allocate: %w", err))
		}
	} else if l.MaxUsers > 0 || l.PreAllocate > 0 {
		errs = append(errs, errors.New("--max-users and --pre-allocate size the pool of the open model: add --arrival-rate, e.g. --arrival-rate 200 --max-users 50"))
	}
	if math.IsNaN(l.ArrivalRate) || math.IsInf(l.ArrivalRate, 0) || l.ArrivalRate < 0 || l.ArrivalRate > bounds.MaxArrivalRate {
		errs = append(errs, fmt.Errorf("--arrival-rate is %v: want iterations per second > 0, at most %v, e.g. --arrival-rate 200", l.ArrivalRate, bounds.MaxArrivalRate))
	}
	if l.Iterations < 0 {
		errs = append(errs, fmt.Errorf("-i/--iterations is %d: want a whole number > 0, e.g. -i 1000", l.Iterations))
	}
	if l.Steps != nil && (l.Steps.Step <= 0 || l.Steps.Interval <= 0) {
		errs = append(errs, errors.New(`--steps: want users > 0 every interval > 0, e.g. "10/30s:100"`))
	}
	for i, st := range l.Stages {
		if st.Users < 0 || st.Users > maxUsers || st.Duration < 0 || st.Duration > MaxTimespan ||
			(st.SpawnRate != 0 && bounds.SpawnRate(st.SpawnRate) != nil) {
			errs = append(errs, fmt.Errorf(`--stages: stage %d wants a duration up to %s, users from 0 to %d and a spawn rate %s (or 0: evenly over the stage), e.g. "30s:10@5"`,
				i+1, timespan.MaxText, maxUsers, bounds.SpawnRateRange))
		}
	}
	// Each span is at most MaxTimespan, so the sums stop before overflowing.
	var total, rateTotal time.Duration
	for _, st := range l.Stages {
		if total += max(st.Duration, 0); total > MaxTimespan {
			errs = append(errs, fmt.Errorf("--stages: the stages last longer than the largest accepted span, %s", timespan.MaxText))
			break
		}
	}
	for _, st := range l.ArrivalStages {
		if st.Duration > MaxTimespan {
			errs = append(errs, fmt.Errorf("--arrival-stages: a stage of %v is longer than the largest accepted span, %s", st.Duration, timespan.MaxText))
			break
		}
		if rateTotal += max(st.Duration, 0); rateTotal > MaxTimespan {
			errs = append(errs, fmt.Errorf("--arrival-stages: the stages last longer than the largest accepted span, %s", timespan.MaxText))
			break
		}
	}
	return errs
}

// loadModel is a session's load model: it wraps each run's driver so that
// a shape, an arrival-rate schedule or an iteration limit drives it, and
// keeps the counters of the latest run for the outputs.
type loadModel struct {
	cfg   *LoadConfig
	log   *zap.Logger
	reg   *stats.Registry // the session's: gets the dropped iterations' back-filled latencies
	warn  bool            // -u/-r were given but a model drives the run
	gateF gateForwarder
	// cluster: this is a master; the workers carry out the arrival rate
	// and iteration limit (clusterLoad), the master ends the run when
	// every share is done.
	cluster bool
	// pick is the web form's shape choice for the next run (shapes.go).
	pick shapePick

	mu   sync.Mutex
	last *loadDriver // the latest run's driver
}

// gateForwarder is the stable user.IterationGate handed to every runner;
// it forwards to the current run's gate.
type gateForwarder struct{ cur atomic.Pointer[gateBox] }

type gateBox struct{ g user.IterationGate }

// KeepsClassWait implements user.WaitKeeper for the current run's gate (an
// iteration limit over closed users keeps the class's wait). The gate is
// stored before the run's users start.
func (f *gateForwarder) KeepsClassWait() bool {
	b := f.cur.Load()
	if b == nil {
		return false
	}
	k, ok := b.g.(user.WaitKeeper)
	return ok && k.KeepsClassWait()
}

func (f *gateForwarder) Next(ctx context.Context) (time.Time, bool) {
	b := f.cur.Load()
	if b == nil {
		return time.Time{}, false
	}
	return b.g.Next(ctx)
}

// setupLoad installs the load model of s.cfg.Load, if any, and supplies
// the iteration counters to the thresholds. The model wraps each run's
// driver (see wrap), whichever factory made it.
func (s *session) setupLoad() error {
	l := &s.cfg.Load
	if l.shape() == nil && !l.arrival() && l.Iterations == 0 && len(l.Shapes) == 0 {
		return nil
	}
	if l.Iterations > 0 && l.shape() != nil && s.cfg.Cluster.Master {
		return &UsageError{Msg: "-i/--iterations with a load shape (--stages, --steps, Config.Load.Shape) runs standalone for now: drop --master, or use -i with -u/-r or --arrival-rate"}
	}
	m := &loadModel{cfg: l, log: s.log, reg: s.reg, cluster: s.cfg.Cluster.Master}
	if l.shape() != nil || l.arrival() {
		m.warn = s.cfg.Users != 1 || s.cfg.SpawnRate != 1
	}
	s.load = m
	if l.arrival() || l.Iterations > 0 {
		s.extra = m.metrics
	}
	return nil
}

// workerLoadError refuses an arrival rate or iteration limit given to a
// worker: the master decides them and sends each worker its share.
func workerLoadError(l *LoadConfig) error {
	if l.arrival() || l.Iterations > 0 || l.MaxUsers > 0 || l.PreAllocate > 0 {
		return &UsageError{Msg: "--arrival-rate, --arrival-stages, --max-users, --pre-allocate and -i/--iterations are given to the master (each worker gets its share from it): drop them from --worker"}
	}
	return nil
}

// classes adapts the classes handed to a local runner. Under an iteration
// limit closed users keep their class's wait: the limit says so itself
// (user.WaitKeeper), so the classes go as they are.
func (m *loadModel) classes(classes []user.Spawner) []user.Spawner {
	return classes
}

// wrap puts the load model around a new run's driver (d as it is without
// a model).
func (m *loadModel) wrap(d driver) driver {
	if m == nil {
		return d
	}
	ld := &loadDriver{driver: d, m: m, shape: m.runShape(), finished: make(chan struct{}, 1)}
	m.mu.Lock()
	m.last = ld
	m.mu.Unlock()
	return ld
}

// gate is the Options.Gate of the local runner: nil without a model that
// gates iterations.
func (m *loadModel) gate() user.IterationGate {
	if m == nil || (!m.cfg.arrival() && m.cfg.Iterations == 0) {
		return nil
	}
	return &m.gateF
}

// iterations returns the latest run's iterations run and dropped.
func (m *loadModel) iterations() (run, dropped int64, ok bool) {
	if m == nil || (!m.cfg.arrival() && m.cfg.Iterations == 0) {
		return 0, 0, false
	}
	m.mu.Lock()
	d := m.last
	m.mu.Unlock()
	if d == nil {
		return 0, 0, true
	}
	return d.counts()
}

// metrics are the extra metrics for thresholds and the JSON output.
func (m *loadModel) metrics() map[string]float64 {
	run, dropped, ok := m.iterations()
	if !ok {
		return nil
	}
	return map[string]float64{"iterations": float64(run), "dropped_iterations": float64(dropped)}
}

// loadDriver wraps one run's driver with the load model.
type loadDriver struct {
	driver
	m        *loadModel
	shape    runner.Shape  // the shape driving this run (runShape), nil if none
	finished chan struct{} // gets one value when the model ends the run

	mu      sync.Mutex
	begun   bool
	cancel  context.CancelFunc
	done    chan struct{} // closed when the model's goroutine returns
	arrival *runner.ArrivalGate
	limit   *runner.IterationLimit
	cluster clusterDriver // the master's driver when the workers carry the model
}

// clusterDriver is a master's driver: its workers carry out the arrival
// rate and iteration limit, and it knows when all are done.
type clusterDriver interface {
	LoadDone() <-chan struct{}
	Iterations() (run, dropped int64, ok bool)
}

// errShapeDriven refuses an edit of the user count while a model drives it.
var errShapeDriven = fmt.Errorf("%w: a load shape or arrival rate drives this run; its user count cannot be edited", webui.ErrConflict)

// Start begins the run under the model; a later Start (an edit of the
// running test) passes through unless the model drives the user count.
func (d *loadDriver) Start(users int, rate float64) error {
	cfg := d.m.cfg
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.begun {
		if d.shape != nil || cfg.arrival() {
			return errShapeDriven
		}
		return d.driver.Start(users, rate)
	}
	d.begun = true
	log := d.m.log
	if d.m.warn {
		log.Warn("-u/--users and -r/--spawn-rate are ignored: the load model drives the run")
	}
	if cl, ok := d.driver.(clusterDriver); ok && d.m.cluster && (cfg.arrival() || cfg.Iterations > 0) {
		return d.startCluster(cl, users, rate)
	}
	var inner user.IterationGate
	if cfg.arrival() {
		a := cfg.arrivalConfig()
		a.Warn = func(msg string) { log.Warn(msg) }
		if d.m.reg != nil {
			a.Omitted = d.m.reg.RecordOmitted
		}
		g, err := runner.NewArrivalGate(a)
		if err != nil {
			return err
		}
		d.arrival, inner = g, g
	}
	if cfg.Iterations > 0 {
		d.limit = runner.NewIterationLimit(runner.NewCounter(cfg.Iterations), inner)
		inner = d.limit
	}
	if inner != nil {
		d.m.gateF.cur.Store(&gateBox{inner})
	}
	// ctx ends with Stop; modelCtx ends the model (shape, schedule) too,
	// when the iteration limit is reached first.
	ctx, cancel := context.WithCancel(context.Background())
	modelCtx, stopModel := context.WithCancel(ctx)
	d.cancel, d.done = cancel, make(chan struct{})
	fail := func(err error) error {
		stopModel()
		cancel()
		close(d.done)
		return err
	}
	var run func() // the model's goroutine: returns when the model ends the run
	switch shape := d.shape; {
	case shape != nil:
		run = func() {
			if err := runner.RunShape(modelCtx, shape, d.driver, log); err != nil && modelCtx.Err() == nil {
				log.Error("load shape", zap.Error(err))
			}
		}
	case d.arrival != nil:
		a := d.arrival.Config()
		log.Info("arrival-rate run", zap.Float64("rate", a.Rate), zap.Int("stages", len(a.Stages)),
			zap.Int("pre_allocate", a.PreAllocate), zap.Int("max_users", a.MaxUsers))
		if err := d.arrival.Start(modelCtx, d.driver); err != nil {
			return fail(err)
		}
		run = func() { <-d.arrival.Done() }
	default:
		if err := d.driver.Start(users, rate); err != nil {
			return fail(err)
		}
		run = func() { <-modelCtx.Done() }
	}
	go func() {
		defer close(d.done)
		defer stopModel()
		ended := make(chan struct{})
		go func() { defer close(ended); run() }()
		var exhausted <-chan struct{}
		if d.limit != nil {
			exhausted = d.limit.Exhausted()
		}
		wait := d.arrival != nil // users leave once the schedule is over
		select {
		case <-ended:
			if ctx.Err() != nil {
				return // stopped from outside
			}
		case <-exhausted:
			wait = true
			// No new iteration, no new user: the users leave at
			// their next pick.
			stopModel()
			if d.arrival != nil {
				d.arrival.Stop()
			}
			<-ended
		case <-ctx.Done():
			<-ended
			return
		}
		if wait {
			d.waitUsersGone(ctx) // they finish their last iteration
		}
		if ctx.Err() == nil {
			d.finished <- struct{}{}
		}
	}()
	return nil
}

// startCluster starts a run whose arrival rate or iteration limit the
// workers carry out; it ends when every worker's share is done.
func (d *loadDriver) startCluster(cl clusterDriver, users int, rate float64) error {
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel, d.done, d.cluster = cancel, make(chan struct{}), cl
	if cfg := d.m.cfg; cfg.arrival() {
		d.m.log.Info("arrival-rate run across the workers", zap.Float64("rate", cfg.ArrivalRate), zap.Int("stages", len(cfg.ArrivalStages)),
			zap.Int("pre_allocate", cfg.PreAllocate), zap.Int("max_users", cfg.MaxUsers), zap.Int64("iterations", cfg.Iterations))
	}
	if err := d.driver.Start(users, rate); err != nil {
		cancel()
		close(d.done)
		return err
	}
	done := cl.LoadDone()
	go func() {
		defer close(d.done)
		select {
		case <-done:
			d.finished <- struct{}{}
		case <-ctx.Done():
		}
	}()
	return nil
}

// waitUsersGone waits until every user has left (each leaves at its next
// pick once the iteration limit is reached) or ctx ends.
func (d *loadDriver) waitUsersGone(ctx context.Context) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for d.driver.UserCount() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stop ends the model first (no new iteration or ramp), then the users.
func (d *loadDriver) Stop() {
	d.mu.Lock()
	cancel, done, g := d.cancel, d.done, d.arrival
	d.mu.Unlock()
	if g != nil {
		g.Stop()
	}
	if cancel != nil {
		cancel()
		<-done
	}
	d.driver.Stop()
}

// Quit stops the run and quits the driver.
func (d *loadDriver) Quit() {
	d.Stop()
	d.driver.Quit()
}

// counts returns the iterations run and dropped in this run.
func (d *loadDriver) counts() (run, dropped int64, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cluster != nil {
		return d.cluster.Iterations()
	}
	if d.arrival != nil {
		st := d.arrival.Stats()
		run, dropped = st.Run, st.Dropped
	}
	if d.limit != nil {
		run = d.limit.Taken()
	}
	return run, dropped, true
}

// loadFinished yields once when the current run's load model has ended
// the run (shape over, schedule over, iteration limit reached); nil, which
// blocks, otherwise.
func (s *session) loadFinished() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.drv.(*loadDriver); ok {
		return d.finished
	}
	return nil
}

// shapeDriven tells whether a load shape or an arrival rate decides the
// user count, so that the web UI hides its user-count fields.
func (s *session) shapeDriven() bool {
	l := &s.cfg.Load
	return l.shape() != nil || l.arrival() || s.load.runShape() != nil
}

// Iterations returns the iterations run and dropped in the latest run, and
// whether a model counts them (arrival rate or iteration limit).
func (s *session) iterations() (run, dropped int64, ok bool) { return s.load.iterations() }

// writeLoadSummary writes, after the final tables, the iteration counts of
// a load model and, where latencies were also measured from the intended
// start, a corrected-percentile line beside the service times.
func (s *session) writeLoadSummary(w io.Writer, snap *stats.Snapshot) {
	if run, dropped, ok := s.iterations(); ok {
		fmt.Fprintf(w, "iterations: %d run, %d dropped\n", run, dropped)
	}
	writeEndedUsers(w, snap)
	t := snap.Total
	if t == nil || t.CorrectedHist == nil || t.CorrectedHist.TotalCount() == 0 {
		return
	}
	fmt.Fprintf(w, "the tables above show service time (from when each request was sent); measured from the intended start (coordinated omission), Aggregated:\n")
	fmt.Fprintf(w, "corrected latency ms: p50 %s, p95 %s, p99 %s; service time ms: p50 %s, p95 %s, p99 %s\n",
		msf(t.CorrectedPercentile(0.5)), msf(t.CorrectedPercentile(0.95)), msf(t.CorrectedPercentile(0.99)),
		msf(t.Percentile(0.5)), msf(t.Percentile(0.95)), msf(t.Percentile(0.99)))
	writeLag(w, snap)
}
