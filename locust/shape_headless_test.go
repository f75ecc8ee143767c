package locust

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/internal/demotarget"
	"github.com/golocust/golocust/runner"
)

// A custom shape that ends the run by itself needs no RunTime in
// RunHeadless, as in Main.
func TestRunHeadlessRunsACustomShapeWithoutARunTime(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	var ticks, peak atomic.Int64
	shape := runner.ShapeFunc(func(elapsed time.Duration, users int) (runner.ShapeTick, bool) {
		ticks.Add(1)
		if int64(users) > peak.Load() {
			peak.Store(int64(users))
		}
		return runner.ShapeTick{Users: 2, SpawnRate: 100}, elapsed < 1200*time.Millisecond
	})
	start := time.Now()
	res := RunHeadless(t, Config{Host: srv.URL, Load: LoadConfig{Shape: shape}}, shopperClass(""))
	require.NotNil(t, res)
	assert.Less(t, time.Since(start), 30*time.Second, "the shape ended the run")
	assert.EqualValues(t, 2, peak.Load(), "the shape saw its 2 users")
	assert.GreaterOrEqual(t, ticks.Load(), int64(2))
	assert.Positive(t, res.Stats.Total.NumRequests)
	assert.Equal(t, srv.Total(), res.Stats.Total.NumRequests)
}
