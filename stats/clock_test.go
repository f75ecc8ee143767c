package stats

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestCoarseClockStopsWhenIdleAndRestarts(t *testing.T) {
	r := NewRegistry(Options{})
	for range 2 {
		before := time.Now()
		for range 5 {
			r.Record(Sample{Method: "GET", Name: "/", Duration: time.Millisecond})
			time.Sleep(coarseTick)
		}
		last := r.Snapshot().Entries[0].LastRequest
		assert.False(t, last.Before(before.Add(-coarseTick)), "not older than one tick before the first sample")
		assert.WithinDuration(t, time.Now(), last, time.Second)
		deadline := time.Now().Add(5 * time.Second)
		for coarse.running.Load() && time.Now().Before(deadline) {
			time.Sleep(coarseTick)
		}
		assert.False(t, coarse.running.Load(), "the clock goroutine exits when idle")
	}
}
