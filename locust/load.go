package locust

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/golocust/golocust/internal/bounds"
	"github.com/golocust/golocust/internal/timespan"
	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/stats"
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

// model is the runner's view of the load model: nil parts for what is not
// set.
func (l *LoadConfig) model() runner.Load {
	m := runner.Load{Shape: l.shape(), Iterations: l.Iterations}
	if l.arrival() {
		a := l.arrivalConfig()
		m.Arrival = &a
	}
	return m
}

// clusterLoad is the master's view of the arrival rate and iteration
// limit; nil when neither is set.
func (l *LoadConfig) clusterLoad() *runner.ClusterLoad { return l.model().Cluster() }

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
	ignored := (l.shape() != nil || l.arrival()) && (s.cfg.Users != 1 || s.cfg.SpawnRate != 1)
	s.load = runner.NewLoadModel(l.model(), runner.LoadModelOptions{
		Logger: s.log, Registry: s.reg, Cluster: s.cfg.Cluster.Master, IgnoredUsers: ignored})
	if l.arrival() || l.Iterations > 0 {
		s.extra = s.loadMetrics
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

// loadMetrics are the extra metrics for thresholds and the JSON output.
func (s *session) loadMetrics() map[string]float64 {
	run, dropped, ok := s.iterations()
	if !ok {
		return nil
	}
	return map[string]float64{"iterations": float64(run), "dropped_iterations": float64(dropped)}
}

// editUsers changes the user count of the running test; an edit the load
// model refuses is a conflict for the web UI.
func editUsers(d driver, users int, rate float64) error {
	err := d.Start(users, rate)
	if errors.Is(err, runner.ErrUsersDriven) {
		return fmt.Errorf("%w: %w", webui.ErrConflict, err)
	}
	return err
}

// loadFinished yields once when the current run's load model has ended
// the run (shape over, schedule over, iteration limit reached); nil, which
// blocks, otherwise.
func (s *session) loadFinished() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.drv.(*runner.LoadRun); ok {
		return r.Finished()
	}
	return nil
}

// shapeDriven tells whether a load shape or an arrival rate decides the
// user count, so that the web UI hides its user-count fields.
func (s *session) shapeDriven() bool {
	l := &s.cfg.Load
	return l.shape() != nil || l.arrival() || s.runShape() != nil
}

// Iterations returns the iterations run and dropped in the latest run, and
// whether a model counts them (arrival rate or iteration limit).
func (s *session) iterations() (run, dropped int64, ok bool) { return s.load.Iterations() }

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
