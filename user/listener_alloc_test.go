//go:build !race

package user_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The request listener costs no allocation on the hot path: none when it
// is unset (BenchmarkUserLoop, checked by TestHotPathsAllocateNothing) and
// none when it is set.
func TestRequestListenerAllocatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("benchmarks")
	}
	with := testing.Benchmark(BenchmarkUserLoopWithListener)
	assert.Zero(t, with.AllocsPerOp(), "user loop with a listener: %s", with.MemString())
}
