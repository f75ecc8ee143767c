package runner

import (
	"context"
	"math"
	"time"
)

// paceSteps runs a ramp with Locust's arithmetic: step is called with
// max(1, floor(rate)) users per step, a step every perStep/rate seconds
// timed from the first (so the time a step takes is not added), and no
// sleep after the last. step reports whether the ramp is complete.
// paceSteps returns false when ctx ended before that.
func paceSteps(ctx context.Context, rate float64, step func(perStep int) (done bool)) bool {
	perStep := max(1, int(min(math.Floor(rate), 1<<30)))
	interval := stepInterval(perStep, rate)
	next := time.Now()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if step(perStep) {
			return true
		}
		next = next.Add(interval)
		if timer == nil {
			timer = time.NewTimer(time.Until(next))
		} else {
			timer.Reset(time.Until(next))
		}
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
		}
	}
}

// maxStepInterval bounds a ramp step: the callers accept spawn rates of at
// least 0.0001/s (a step of 10,000 s), and no rate, however small, may make
// the step overflow a time.Duration into a negative one, which would start
// every user at once.
const maxStepInterval = 24 * time.Hour

func stepInterval(perStep int, rate float64) time.Duration {
	secs := float64(perStep) / rate
	if !(secs < maxStepInterval.Seconds()) { // also NaN and +Inf
		return maxStepInterval
	}
	return time.Duration(secs * float64(time.Second))
}
