package runner

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/internal/bounds"
)

// ShapeTick is what a load shape asks for at one tick.
type ShapeTick struct {
	Users     int
	SpawnRate float64 // users started (or stopped) per second; <= 0 means 1; see RunShape for the range
	// Classes, when non-empty, asks to run only the user classes with
	// these names. It needs a runner that implements ClassStarter; none of
	// this module's runners does, so RunShape logs a warning once and runs
	// every class.
	//
	// Deprecated: no runner restricts its classes per tick; select classes
	// for the whole run instead (locust.Config.Classes). The field stays so
	// that shapes setting it keep compiling.
	Classes []string
}

// Shape is a custom load shape (Locust's LoadTestShape): Tick is called
// about once a second with the time since the run started and the current
// user count, and returns the wanted users and spawn rate, or false to end
// the run. Implementations need not be safe for concurrent use: one run
// calls Tick from one goroutine.
type Shape interface {
	Tick(elapsed time.Duration, users int) (ShapeTick, bool)
}

// ShapeFunc adapts a function to Shape.
type ShapeFunc func(elapsed time.Duration, users int) (ShapeTick, bool)

// Tick implements Shape.
func (f ShapeFunc) Tick(elapsed time.Duration, users int) (ShapeTick, bool) { return f(elapsed, users) }

// Stage is one stage of Stages: head for Users over Duration.
type Stage struct {
	Duration time.Duration
	Users    int
	// SpawnRate is the ramp rate in users per second; 0 ramps evenly
	// over the stage (|Users - previous stage's Users| / Duration, as
	// k6's ramping VUs), or at once for a zero Duration.
	SpawnRate float64
}

// Stages is a Shape that runs its stages one after the other (each stage
// ends at the sum of the durations so far) and ends the run after the last
// one. Stages{{30s, 10}, {1m, 50}, {30s, 0}} ramps to 10 users over the
// first 30 s, to 50 by 1m30s and back to 0 by 2m.
type Stages []Stage

// Tick implements Shape.
func (s Stages) Tick(elapsed time.Duration, _ int) (ShapeTick, bool) {
	var end time.Duration
	prev := 0
	for _, st := range s {
		end += st.Duration
		if elapsed < end {
			return ShapeTick{Users: st.Users, SpawnRate: st.rate(prev)}, true
		}
		prev = st.Users
	}
	return ShapeTick{}, false
}

// Duration is the total length of the stages.
func (s Stages) Duration() time.Duration {
	var d time.Duration
	for _, st := range s {
		d += st.Duration
	}
	return d
}

func (st Stage) rate(prev int) float64 {
	if st.SpawnRate > 0 {
		return st.SpawnRate
	}
	delta := math.Abs(float64(st.Users - prev))
	if st.Duration <= 0 || delta == 0 {
		return max(delta, 1)
	}
	return min(max(delta/st.Duration.Seconds(), bounds.MinSpawnRate), bounds.MaxSpawnRate)
}

// Steps is a Shape that adds Step users every Interval, up to Max, at
// SpawnRate (0: all of a step at once), and ends the run after Duration
// (0: runs until stopped).
type Steps struct {
	Step      int
	Interval  time.Duration
	Max       int
	SpawnRate float64
	Duration  time.Duration
}

// Tick implements Shape.
func (s Steps) Tick(elapsed time.Duration, _ int) (ShapeTick, bool) {
	if s.Duration > 0 && elapsed >= s.Duration {
		return ShapeTick{}, false
	}
	n := 1
	if s.Interval > 0 {
		n += int(elapsed / s.Interval)
	}
	users := s.Step * n
	if s.Step > 0 && n > bounds.MaxUsers/s.Step {
		users = bounds.MaxUsers // a tiny interval late in a run: saturate, never overflow
	}
	if s.Max > 0 {
		users = min(users, s.Max)
	}
	rate := s.SpawnRate
	if rate <= 0 {
		rate = min(float64(max(s.Step, 1)), bounds.MaxSpawnRate)
	}
	return ShapeTick{Users: users, SpawnRate: rate}, true
}

// ShapeTickInterval is how often RunShape calls Tick (as Locust).
const ShapeTickInterval = time.Second

// ClassStarter is a runner that can run a subset of its classes, for shapes
// whose ticks name classes.
//
// Deprecated: none of this module's runners implements it (see
// ShapeTick.Classes); it stays so that code naming it keeps compiling.
type ClassStarter interface {
	StartClasses(users int, spawnRate float64, classes []string) error
}

// RunShape drives pool with shape: it calls Tick at once and then every
// ShapeTickInterval, and starts (or changes) the pool's users whenever the
// tick asks for something new; repeating the same tick leaves a ramp in
// progress alone. A tick outside the accepted ranges (a spawn rate from
// 0.0001 to 1,000,000 users per second, at most 10,000,000 users) ends the
// run with an error naming the range. It returns nil when the shape ends the run (the caller
// stops the users), ctx.Err() when ctx ends, or the runner's error.
func RunShape(ctx context.Context, shape Shape, pool Scaler, log *zap.Logger) error {
	if log == nil {
		log = zap.NewNop()
	}
	start := time.Now()
	t := time.NewTicker(ShapeTickInterval)
	defer t.Stop()
	var last ShapeTick
	first, warned := true, false
	for {
		tick, ok := shape.Tick(time.Since(start), pool.UserCount())
		if !ok {
			log.Info("the load shape ended the run")
			return nil
		}
		if tick.Users < 0 {
			return fmt.Errorf("runner: the load shape asked for %d users", tick.Users)
		}
		if tick.SpawnRate <= 0 || math.IsNaN(tick.SpawnRate) || math.IsInf(tick.SpawnRate, 0) {
			tick.SpawnRate = 1
		}
		if tick.Users > bounds.MaxUsers {
			return fmt.Errorf("runner: the load shape asked for %d users: want at most %d", tick.Users, bounds.MaxUsers)
		}
		if err := bounds.SpawnRate(tick.SpawnRate); err != nil {
			return fmt.Errorf("runner: the load shape asked for a %w", err)
		}
		if first || tick.Users != last.Users || tick.SpawnRate != last.SpawnRate || !slices.Equal(tick.Classes, last.Classes) {
			var err error
			cs, canPick := pool.(ClassStarter)
			switch {
			case len(tick.Classes) > 0 && canPick:
				err = cs.StartClasses(tick.Users, tick.SpawnRate, tick.Classes)
			default:
				if len(tick.Classes) > 0 && !warned {
					warned = true
					log.Warn("the load shape names user classes, but this runner cannot restrict them: running every class",
						zap.Strings("classes", tick.Classes))
				}
				err = pool.Start(tick.Users, tick.SpawnRate)
			}
			if err != nil {
				return err
			}
			log.Debug("load shape tick", zap.Int("users", tick.Users), zap.Float64("spawn_rate", tick.SpawnRate))
			last, first = tick, false
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
