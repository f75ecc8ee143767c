package stats

import (
	"sync/atomic"
	"time"
)

// Reading the clock costs 50-70 ns on some virtual machines (no vDSO
// clock), more than the rest of Record. Registries on the real clock share
// a coarse clock instead: a goroutine stores time.Now every coarseTick
// while samples arrive, and exits after coarseIdle without any; the next
// Record reads the clock itself and starts it again. Timestamps are late by
// at most about one tick, which is far below the one-second resolution of
// the per-second counts.
const (
	coarseTick = 10 * time.Millisecond
	coarseIdle = 5 // ticks without a sample before the goroutine exits
)

var coarse coarseClock

type coarseClock struct {
	now     atomic.Int64 // unix nanos
	running atomic.Bool
	used    atomic.Bool
}

// UnixNano returns the current time, at most about one tick late.
func (c *coarseClock) UnixNano() int64 {
	if c.running.Load() {
		if !c.used.Load() {
			c.used.Store(true)
		}
		return c.now.Load()
	}
	t := time.Now().UnixNano()
	c.now.Store(t)
	if c.running.CompareAndSwap(false, true) {
		c.used.Store(true)
		go c.run()
	}
	return t
}

func (c *coarseClock) run() {
	tk := time.NewTicker(coarseTick)
	defer tk.Stop()
	idle := 0
	for range tk.C {
		c.now.Store(time.Now().UnixNano())
		if c.used.Swap(false) {
			idle = 0
			continue
		}
		if idle++; idle >= coarseIdle {
			c.running.Store(false)
			return
		}
	}
}
