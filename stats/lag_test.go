package stats_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
)

func TestLagAndEndedUsersTravelThroughDeltasAndMerge(t *testing.T) {
	worker := stats.NewRegistry(stats.Options{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 250 {
				worker.RecordLag(time.Duration(g*250+i) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	worker.RecordUserEnd("A: OnStart returned user.ErrStopUser")
	worker.RecordUserEnd("A: OnStart returned user.ErrStopUser")

	s := worker.Snapshot()
	require.NotNil(t, s.Lag)
	assert.EqualValues(t, 1000, s.Lag.TotalCount())
	assert.InDelta(t, 500, s.Lag.ValueAtQuantile(50), 2)
	assert.InDelta(t, 990, s.Lag.ValueAtQuantile(99), 2)
	assert.Equal(t, map[string]int64{"A: OnStart returned user.ErrStopUser": 2}, s.EndedUsers)
	assert.Zero(t, s.Total.NumRequests, "lag samples are not requests")
	assert.Nil(t, s.Total.CorrectedHist)

	master := stats.NewRegistry(stats.Options{})
	d := worker.TakeDelta()
	master.Merge(d)
	master.Merge(d)
	m := master.Snapshot()
	assert.EqualValues(t, 2000, m.Lag.TotalCount())
	assert.Equal(t, map[string]int64{"A: OnStart returned user.ErrStopUser": 4}, m.EndedUsers)

	e := worker.Snapshot()
	assert.Nil(t, e.Lag, "a delta takes the samples")
	assert.Nil(t, e.EndedUsers)
	master.Reset()
	r := master.Snapshot()
	assert.Nil(t, r.Lag)
	assert.Nil(t, r.EndedUsers)
}
