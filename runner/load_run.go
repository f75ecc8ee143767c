package runner

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// LoadRun is one run under a LoadModel (see LoadModel.Drive): its first
// Start starts the model (a shape's ticks, an arrival schedule, the
// closed users under an iteration limit), a later Start changes the user
// count unless the model sets it (ErrUsersDriven), Stop ends the model
// before the users. Finished yields once when the model has ended the
// run by itself.
type LoadRun struct {
	Driver
	m        *LoadModel
	shape    Shape         // the shape driving this run, nil if none
	finished chan struct{} // gets one value when the model ends the run

	mu      sync.Mutex
	begun   bool
	cancel  context.CancelFunc
	done    chan struct{} // closed when the model's goroutine returns
	arrival *ArrivalGate
	limit   *IterationLimit
	cluster clusterDriver // a master's driver when the workers carry the model
}

// Finished yields once when the model has ended the run: the shape or
// the schedule is over, or the iteration limit is reached and the users
// have left (on a master: every worker's share is done). It does not
// yield for a run stopped from outside.
func (r *LoadRun) Finished() <-chan struct{} { return r.finished }

// Start begins the run under the model; a later Start (an edit of the
// running test) passes through unless the model drives the user count.
func (r *LoadRun) Start(users int, rate float64) error {
	l, log := r.m.l, r.m.log
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.begun {
		if r.shape != nil || l.Arrival != nil {
			return ErrUsersDriven
		}
		return r.Driver.Start(users, rate)
	}
	r.begun = true
	if r.m.o.IgnoredUsers && (r.shape != nil || l.Arrival != nil) {
		log.Warn("-u/--users and -r/--spawn-rate are ignored: the load model drives the run")
	}
	if cl, ok := r.Driver.(clusterDriver); ok && r.m.o.Cluster && l.gates() {
		return r.startCluster(cl, users, rate)
	}
	var omitted func(time.Duration)
	if reg := r.m.o.Registry; reg != nil {
		omitted = reg.RecordOmitted
	}
	g, a, lim, err := gateOf(l, func(msg string) { log.Warn(msg) }, omitted)
	if err != nil {
		return err
	}
	r.arrival, r.limit = a, lim
	if g != nil {
		r.m.fwd.cur.Store(&gateBox{g})
	}
	// ctx ends with Stop; modelCtx ends the model (shape, schedule) too,
	// when the iteration limit is reached first.
	ctx, cancel := context.WithCancel(context.Background())
	modelCtx, stopModel := context.WithCancel(ctx)
	r.cancel, r.done = cancel, make(chan struct{})
	var run func() // the model's goroutine: returns when the model ends the run
	switch {
	case r.shape != nil:
		run = func() {
			if err := RunShape(modelCtx, r.shape, r.Driver, log); err != nil && modelCtx.Err() == nil {
				log.Error("load shape", zap.Error(err))
			}
		}
	case a != nil:
		c := a.Config()
		log.Info("arrival-rate run", zap.Float64("rate", c.Rate), zap.Int("stages", len(c.Stages)),
			zap.Int("pre_allocate", c.PreAllocate), zap.Int("max_users", c.MaxUsers))
		err = a.Start(modelCtx, r.Driver)
		run = func() { <-a.Done() }
	default:
		err = r.Driver.Start(users, rate)
		run = func() { <-modelCtx.Done() }
	}
	if err != nil {
		stopModel()
		cancel()
		close(r.done)
		return err
	}
	go r.watch(ctx, modelCtx, stopModel, run)
	return nil
}

// watch runs the model until it ends the run, the iteration limit is
// reached (then the model stops and the users finish their last
// iteration), or the run is stopped from outside (ctx).
func (r *LoadRun) watch(ctx, modelCtx context.Context, stopModel context.CancelFunc, run func()) {
	defer close(r.done)
	defer stopModel()
	ended := make(chan struct{})
	go func() { defer close(ended); run() }()
	var exhausted <-chan struct{}
	if r.limit != nil {
		exhausted = r.limit.Exhausted()
	}
	wait := r.arrival != nil // users leave once the schedule is over
	select {
	case <-ended:
		if ctx.Err() != nil {
			return // stopped from outside
		}
	case <-exhausted:
		wait = true
		// No new iteration, no new user: the users leave at their next
		// pick.
		stopModel()
		if r.arrival != nil {
			r.arrival.Stop()
		}
		<-ended
	case <-ctx.Done():
		<-ended
		return
	}
	if wait {
		r.waitUsersGone(ctx) // they finish their last iteration
	}
	if ctx.Err() == nil {
		r.finished <- struct{}{}
	}
}

// startCluster starts a run whose arrival rate or iteration limit the
// workers carry out; it ends when every worker's share is done.
func (r *LoadRun) startCluster(cl clusterDriver, users int, rate float64) error {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done, r.cluster = cancel, make(chan struct{}), cl
	if a := r.m.l.Arrival; a != nil {
		r.m.log.Info("arrival-rate run across the workers", zap.Float64("rate", a.Rate), zap.Int("stages", len(a.Stages)),
			zap.Int("pre_allocate", a.PreAllocate), zap.Int("max_users", a.MaxUsers), zap.Int64("iterations", r.m.l.Iterations))
	}
	if err := r.Driver.Start(users, rate); err != nil {
		cancel()
		close(r.done)
		return err
	}
	done := cl.LoadDone()
	go func() {
		defer close(r.done)
		select {
		case <-done:
			r.finished <- struct{}{}
		case <-ctx.Done():
		}
	}()
	return nil
}

// waitUsersGone waits until every user has left (each leaves at its next
// pick once the iteration limit is reached) or ctx ends.
func (r *LoadRun) waitUsersGone(ctx context.Context) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for r.Driver.UserCount() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stop ends the model first (no new iteration or ramp), then the users.
func (r *LoadRun) Stop() {
	r.stopModel()
	r.Driver.Stop()
}

// stopModel ends the model: no new iteration, no new user, and the
// schedule's back-fill of dropped iterations recorded, when it returns.
func (r *LoadRun) stopModel() {
	r.mu.Lock()
	cancel, done, g := r.cancel, r.done, r.arrival
	r.mu.Unlock()
	if g != nil {
		g.Stop()
	}
	if cancel != nil {
		cancel()
		<-done
	}
}

// Quit stops the run and quits the driver.
func (r *LoadRun) Quit() {
	r.Stop()
	r.Driver.Quit()
}

// counts returns the iterations run and dropped in this run.
func (r *LoadRun) counts() (run, dropped int64, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cluster != nil {
		return r.cluster.Iterations()
	}
	if r.arrival != nil {
		st := r.arrival.Stats()
		run, dropped = st.Run, st.Dropped
	}
	if r.limit != nil {
		run = r.limit.Taken()
	}
	return run, dropped, true
}
