package bounds_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/golocust/golocust/internal/bounds"
)

func TestSpawnRateRange(t *testing.T) {
	for _, r := range []float64{bounds.MinSpawnRate, 0.5, 1, 100, bounds.MaxSpawnRate} {
		assert.NoError(t, bounds.SpawnRate(r), r)
	}
	for _, r := range []float64{0, -1, 1e-10, 0.00009, 1_000_001, math.NaN(), math.Inf(1)} {
		err := bounds.SpawnRate(r)
		if assert.Error(t, err, r) {
			assert.Contains(t, err.Error(), bounds.SpawnRateRange)
		}
	}
}
