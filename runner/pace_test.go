package runner

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// A spawn rate far below what the entry points accept must not overflow
// the step interval into a negative one (which started every user at
// once): the second step waits.
func TestPaceStepsWithTinyRateDoesNotOverflow(t *testing.T) {
	for _, rate := range []float64{1e-10, 1e-300} {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			steps := 0
			done := make(chan bool)
			go func() { done <- paceSteps(ctx, rate, func(int) bool { steps++; return false }) }()
			time.Sleep(time.Hour)
			synctest.Wait()
			assert.Equal(t, 1, steps, "rate %v: one step, then a long wait", rate)
			cancel()
			assert.False(t, <-done)
		})
	}
	assert.Equal(t, 10000*time.Second, stepInterval(1, 0.0001))
	assert.Equal(t, 500*time.Millisecond, stepInterval(1, 2))
}
