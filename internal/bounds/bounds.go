package bounds

import (
	"fmt"
	"math"
)

const (
	// MaxUsers is the most users a run may ask for.
	MaxUsers = 10_000_000

	// MinSpawnRate is the slowest ramp: one user every 10,000 s (2 h 47
	// min). A ramp step lasts 1/rate seconds; far smaller rates overflow
	// a time.Duration (below about 1.1e-10/s) and then start every user
	// at once.
	MinSpawnRate = 0.0001
	// MaxSpawnRate is the fastest ramp, in users per second.
	MaxSpawnRate = 1_000_000.0
	// SpawnRateRange is the accepted spawn rates as errors name them.
	SpawnRateRange = "from 0.0001 to 1000000 users per second"

	// MaxArrivalRate is the highest arrival rate, in iterations per second.
	MaxArrivalRate = 10_000_000.0
)

// SpawnRate reports whether r is an accepted spawn rate, with an error
// (without the name of the field) saying what is accepted.
func SpawnRate(r float64) error {
	if math.IsNaN(r) || math.IsInf(r, 0) || r < MinSpawnRate || r > MaxSpawnRate {
		return fmt.Errorf("spawn rate %v is out of range: want a number %s", r, SpawnRateRange)
	}
	return nil
}
