package cpumeter

import (
	"syscall"
	"time"
)

// Meter measures this process's CPU use between calls to Percent. The
// zero value is ready; a Meter is not safe for concurrent use.
type Meter struct {
	lastWall time.Time
	lastCPU  time.Duration
}

// Percent returns the CPU used since the previous call, in percent of one
// core (as Locust reports it); 0 on the first call.
func (c *Meter) Percent() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	now := time.Now()
	defer func() { c.lastWall, c.lastCPU = now, cpu }()
	if c.lastWall.IsZero() {
		return 0
	}
	wall := now.Sub(c.lastWall)
	if wall <= 0 {
		return 0
	}
	return max(0, float64(cpu-c.lastCPU)/float64(wall)*100)
}
