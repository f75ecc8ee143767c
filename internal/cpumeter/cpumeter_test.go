package cpumeter

import "testing"

// TestPercentSeesBusyWork: a loop that burns CPU between two calls shows
// up as more than zero percent, and the first call reports zero.
func TestPercentSeesBusyWork(t *testing.T) {
	var m Meter
	if got := m.Percent(); got != 0 {
		t.Fatalf("first call = %v, want 0", got)
	}
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	_ = x
	if got := m.Percent(); got <= 0 {
		t.Fatalf("after a busy loop = %v, want > 0", got)
	}
}
