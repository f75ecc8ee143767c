//go:build !race

package user_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The hot paths allocate nothing in steady state (checked without -race,
// which adds allocations of its own).
func TestHotPathsAllocateNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("benchmarks")
	}
	loop := testing.Benchmark(BenchmarkUserLoop)
	assert.Zero(t, loop.AllocsPerOp(), "user loop: %s", loop.MemString())
	get := testing.Benchmark(BenchmarkHTTPGet)
	assert.Zero(t, get.AllocsPerOp(), "HTTP GET: %s", get.MemString())
	traced := testing.Benchmark(BenchmarkHTTPGetTraced)
	assert.Zero(t, traced.AllocsPerOp(), "traced HTTP GET: %s", traced.MemString())
}
