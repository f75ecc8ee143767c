package runner

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/user"
)

func TestStagesTick(t *testing.T) {
	s := Stages{{Duration: 30 * time.Second, Users: 10}, {Duration: time.Minute, Users: 50, SpawnRate: 5}, {Duration: 30 * time.Second, Users: 0}}
	cases := []struct {
		at    time.Duration
		users int
		rate  float64
		ok    bool
	}{
		{0, 10, 10.0 / 30, true},
		{29 * time.Second, 10, 10.0 / 30, true},
		{30 * time.Second, 50, 5, true},
		{89 * time.Second, 50, 5, true},
		{90 * time.Second, 0, 50.0 / 30, true},
		{119 * time.Second, 0, 50.0 / 30, true},
		{120 * time.Second, 0, 0, false},
	}
	for _, c := range cases {
		tick, ok := s.Tick(c.at, 0)
		assert.Equal(t, c.ok, ok, "at %v", c.at)
		assert.Equal(t, c.users, tick.Users, "at %v", c.at)
		assert.InDelta(t, c.rate, tick.SpawnRate, 1e-9, "at %v", c.at)
	}
	assert.Equal(t, 2*time.Minute, s.Duration())
}

func TestStepsTick(t *testing.T) {
	s := Steps{Step: 10, Interval: 30 * time.Second, Max: 35, Duration: 3 * time.Minute}
	for _, c := range []struct {
		at    time.Duration
		users int
		ok    bool
	}{{0, 10, true}, {29 * time.Second, 10, true}, {30 * time.Second, 20, true}, {60 * time.Second, 30, true}, {90 * time.Second, 35, true}, {179 * time.Second, 35, true}, {180 * time.Second, 0, false}} {
		tick, ok := s.Tick(c.at, 0)
		assert.Equal(t, c.ok, ok, "at %v", c.at)
		if ok {
			assert.Equal(t, c.users, tick.Users, "at %v", c.at)
			assert.Equal(t, 10.0, tick.SpawnRate, "a step at once by default")
		}
	}
}

// TestStagesDriveUserCounts runs a stage table on a local runner with a
// fake clock and checks the live user count every second against the
// table: up 1 user/s to 10, hold, down 1 user/s to 0, then the end.
func TestStagesDriveUserCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLocal(t, Options{Classes: []user.Spawner{class("A", 1, 0, nil)}})
		defer l.Quit()
		stages := Stages{{Duration: 10 * time.Second, Users: 10}, {Duration: 10 * time.Second, Users: 10}, {Duration: 10 * time.Second, Users: 0}}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- RunShape(ctx, stages, l, nil) }()
		want := func(sec int) int {
			switch {
			case sec < 10:
				return sec + 1 // a user at once, then one a second
			case sec < 20:
				return 10
			default:
				return max(0, 10-(sec-20+1)) // one stopped at once, then one a second
			}
		}
		time.Sleep(500 * time.Millisecond)
		for sec := 0; sec < 30; sec++ {
			synctest.Wait()
			require.Equal(t, want(sec), l.UserCount(), "at %v", time.Since(start))
			select {
			case err := <-done:
				t.Fatalf("the shape ended early at %v: %v", time.Since(start), err)
			default:
			}
			time.Sleep(time.Second)
		}
		require.NoError(t, <-done)
		assert.Equal(t, 30*time.Second, time.Since(start).Truncate(time.Second), "the run ends after the last stage")
	})
}

// countingScaler records the Start calls of a shape.
type countingScaler struct{ starts []string }

func (c *countingScaler) Start(users int, rate float64) error {
	c.starts = append(c.starts, fmt.Sprintf("%d@%g", users, rate))
	return nil
}
func (c *countingScaler) UserCount() int { return 0 }

func TestRunShapeStartsOnlyOnChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var seen []time.Duration
		shape := ShapeFunc(func(elapsed time.Duration, _ int) (ShapeTick, bool) {
			seen = append(seen, elapsed)
			switch {
			case elapsed < 3*time.Second:
				return ShapeTick{Users: 5, SpawnRate: 5}, true
			case elapsed < 5*time.Second:
				return ShapeTick{Users: 7, SpawnRate: 5, Classes: []string{"A"}}, true
			}
			return ShapeTick{}, false
		})
		c := &countingScaler{}
		require.NoError(t, RunShape(context.Background(), shape, c, nil))
		assert.Equal(t, []string{"5@5", "7@5"}, c.starts, "a repeated tick leaves the ramp alone")
		assert.Len(t, seen, 6, "a tick at once and then every second")
	})
}

func TestRunShapeRefusesNegativeUsers(t *testing.T) {
	shape := ShapeFunc(func(time.Duration, int) (ShapeTick, bool) { return ShapeTick{Users: -1}, true })
	assert.Error(t, RunShape(context.Background(), shape, &countingScaler{}, nil))
}

func TestRunShapeRefusesOutOfRangeTicks(t *testing.T) {
	for _, tc := range []struct {
		tick ShapeTick
		want string
	}{
		{ShapeTick{Users: 10, SpawnRate: 1e-10}, "from 0.0001 to 1000000 users per second"},
		{ShapeTick{Users: 10, SpawnRate: 2e6}, "from 0.0001 to 1000000 users per second"},
		{ShapeTick{Users: 20_000_000, SpawnRate: 1}, "at most 10000000"},
	} {
		tick, want := tc.tick, tc.want
		c := &countingScaler{}
		shape := ShapeFunc(func(time.Duration, int) (ShapeTick, bool) { return tick, true })
		err := RunShape(context.Background(), shape, c, nil)
		if assert.Error(t, err, "%+v", tick) {
			assert.Contains(t, err.Error(), want)
		}
		assert.Empty(t, c.starts, "nothing started")
	}
	// A stage over a long span ramps at no less than the lowest rate.
	tick, _ := Stages{{Duration: 365 * 24 * time.Hour, Users: 1}}.Tick(0, 0)
	assert.Equal(t, 0.0001, tick.SpawnRate)
}

func TestStartRefusesSpawnRatesOutOfRange(t *testing.T) {
	l := newLocal(t, Options{Classes: []user.Spawner{class("A", 1, 0, nil)}})
	defer l.Quit()
	for _, r := range []float64{1e-10, 2e6} {
		err := l.Start(10, r)
		if assert.Error(t, err) {
			assert.Contains(t, err.Error(), "from 0.0001 to 1000000 users per second")
		}
	}
	assert.Equal(t, StateReady, l.State())
}

// A stage table: ramp to 10 users over 30 s, to 50 at 5 users/s by
// 1m30s, down to 0 by 2m, then the end of the run.
func ExampleStages() {
	stages := Stages{
		{Duration: 30 * time.Second, Users: 10},
		{Duration: time.Minute, Users: 50, SpawnRate: 5},
		{Duration: 30 * time.Second, Users: 0},
	}
	for _, at := range []time.Duration{0, 45 * time.Second, 100 * time.Second, 2 * time.Minute} {
		tick, ok := stages.Tick(at, 0)
		fmt.Printf("%v: %d users at %.2f/s, running=%v\n", at, tick.Users, tick.SpawnRate, ok)
	}
	// Output:
	// 0s: 10 users at 0.33/s, running=true
	// 45s: 50 users at 5.00/s, running=true
	// 1m40s: 0 users at 1.67/s, running=true
	// 2m0s: 0 users at 0.00/s, running=false
}
