package runner

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func letters(order []int) string {
	var b strings.Builder
	for _, i := range order {
		b.WriteByte(byte('A' + i))
	}
	return b.String()
}

func TestSpawnOrder(t *testing.T) {
	tests := []struct {
		name           string
		weights, fixed []int
		n              int
		want           string
	}{
		{"5:1 Locust's example", []int{5, 1}, []int{0, 0}, 12, "AAABAAAAABAA"},
		{"equal weights alternate", []int{1, 1}, []int{0, 0}, 6, "ABABAB"},
		{"3:2:1", []int{3, 2, 1}, []int{0, 0, 0}, 12, "ABACBAABACBA"},
		{"fixed first, weight of fixed ignored", []int{9, 3, 1}, []int{2, 0, 0}, 6, "AABBCB"},
		{"two fixed round-robin", []int{1, 1, 1}, []int{2, 1, 0}, 5, "ABACC"},
		{"fixed cut short", []int{1, 1}, []int{3, 0}, 2, "AA"},
		{"only fixed stops at their sum", []int{1, 1}, []int{2, 1}, 10, "ABA"},
		{"zero weight never picked", []int{0, 2}, []int{0, 0}, 3, "BBB"},
		{"no classes", []int{}, []int{}, 3, ""},
		{"n zero", []int{1}, []int{0}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, letters(SpawnOrder(tc.weights, tc.fixed, tc.n)))
		})
	}
}

func TestSpawnOrderIsSmooth(t *testing.T) {
	// Every prefix of the weighted order holds each class within one user
	// of its exact share.
	weights := []int{7, 3, 2, 1}
	fixed := make([]int, len(weights))
	order := SpawnOrder(weights, fixed, 1300)
	require.Len(t, order, 1300)
	counts := make([]int, len(weights))
	for k, c := range order {
		counts[c]++
		n := float64(k + 1)
		for i, w := range weights {
			share := n * float64(w) / 13
			assert.InDelta(t, share, float64(counts[i]), 1, "class %d after %d users", i, k+1)
		}
	}
	assert.Equal(t, []int{700, 300, 200, 100}, counts)
}

func TestTargets(t *testing.T) {
	tests := []struct {
		name           string
		weights, fixed []int
		n              int
		want           []int
	}{
		{"fixed 1 with weights 1:1 at 9 users", []int{1, 1, 1}, []int{1, 0, 0}, 9, []int{1, 4, 4}},
		{"5:1 at 12", []int{5, 1}, []int{0, 0}, 12, []int{10, 2}},
		{"5:1 at 3, tie to the lower index", []int{5, 1}, []int{0, 0}, 3, []int{3, 0}},
		{"5:1 at 4, largest remainder", []int{5, 1}, []int{0, 0}, 4, []int{3, 1}},
		{"1:1:1 at 2", []int{1, 1, 1}, []int{0, 0, 0}, 2, []int{1, 1, 0}},
		{"1:1:1 at 7", []int{1, 1, 1}, []int{0, 0, 0}, 7, []int{3, 2, 2}},
		{"remainders decide, not order", []int{1, 2}, []int{0, 0}, 2, []int{1, 1}},
		{"remainders decide 2", []int{1, 4}, []int{0, 0}, 3, []int{1, 2}},
		{"fixed larger than n, round-robin", []int{1, 1, 1}, []int{3, 1, 0}, 3, []int{2, 1, 0}},
		{"fixed larger than n, level", []int{1, 1, 1}, []int{5, 2, 4}, 8, []int{3, 2, 3}},
		{"only fixed, n above their sum", []int{1, 1}, []int{2, 1}, 10, []int{2, 1}},
		{"zero weight gets nothing", []int{0, 3}, []int{0, 0}, 5, []int{0, 5}},
		{"zero users", []int{1, 1}, []int{1, 0}, 0, []int{0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Targets(tc.weights, tc.fixed, tc.n))
		})
	}
}

func TestTargetsProperties(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		c := 1 + rnd.IntN(8)
		weights, fixed := make([]int, c), make([]int, c)
		for i := range c {
			weights[i] = 1 + rnd.IntN(20)
			if rnd.IntN(4) == 0 {
				fixed[i] = rnd.IntN(5)
			}
		}
		n := rnd.IntN(500)
		got := Targets(weights, fixed, n)
		hasWeighted := false
		sumFixed, totalW := 0, 0
		for i := range c {
			if fixed[i] > 0 {
				sumFixed += fixed[i]
			} else {
				hasWeighted = true
				totalW += weights[i]
			}
		}
		if hasWeighted || n <= sumFixed {
			require.Equal(t, n, sum(got), "weights %v fixed %v n %d", weights, fixed, n)
		}
		if n < sumFixed {
			// The counts of the first n users of the spawn order.
			want := make([]int, c)
			for _, i := range SpawnOrder(weights, fixed, n) {
				want[i]++
			}
			require.Equal(t, want, got, "weights %v fixed %v n %d", weights, fixed, n)
			continue
		}
		for i := range c {
			if fixed[i] > 0 {
				require.Equal(t, fixed[i], got[i])
				continue
			}
			exact := float64(n-sumFixed) * float64(weights[i]) / float64(totalW)
			require.InDelta(t, exact, float64(got[i]), 1-1e-9, "weights %v fixed %v n %d", weights, fixed, n)
		}
	}
}

func TestDistribute(t *testing.T) {
	tests := []struct {
		name    string
		targets []int
		workers int
		want    [][]int
	}{
		{"7 users over 5 workers", []int{7}, 5, [][]int{{2}, {2}, {1}, {1}, {1}}},
		{"2 users over 5 workers", []int{2}, 5, [][]int{{1}, {1}, {0}, {0}, {0}}},
		{"fixed 1 + 4 + 4 over 3", []int{1, 4, 4}, 3, [][]int{{1, 1, 1}, {0, 2, 1}, {0, 1, 2}}},
		{"classes continue where the last stopped", []int{1, 1, 1}, 2, [][]int{{1, 0, 1}, {0, 1, 0}}},
		{"one worker takes all", []int{3, 5}, 1, [][]int{{3, 5}}},
		{"nothing", []int{0, 0}, 2, [][]int{{0, 0}, {0, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Distribute(tc.targets, tc.workers))
		})
	}
	assert.Nil(t, Distribute([]int{3}, 0))
}

func checkDistribution(t testing.TB, targets []int, w int, got [][]int) {
	t.Helper()
	require.Len(t, got, w)
	cols := make([]int, len(targets))
	minT, maxT := int(^uint(0)>>1), -1
	for _, row := range got {
		require.Len(t, row, len(targets))
		tot := 0
		for i, v := range row {
			cols[i] += v
			tot += v
			// Per-class balance: every worker holds floor or ceil of its share.
			require.True(t, v == targets[i]/w || v == (targets[i]+w-1)/w, "class %d: %d of %d over %d", i, v, targets[i], w)
		}
		minT, maxT = min(minT, tot), max(maxT, tot)
	}
	require.Equal(t, targets, cols)
	require.LessOrEqual(t, maxT-minT, 1, "worker totals differ by more than one")
}

func TestDistributeProperties(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		c := 1 + rnd.IntN(10)
		targets := make([]int, c)
		for i := range targets {
			targets[i] = rnd.IntN(60)
		}
		w := 1 + rnd.IntN(20)
		checkDistribution(t, targets, w, Distribute(targets, w))
	}
}

func bigDispatch() (weights, fixed []int) {
	weights, fixed = make([]int, 50), make([]int, 50)
	for i := range weights {
		weights[i] = 1 + i%7
	}
	fixed[0], fixed[1] = 10, 3
	return weights, fixed
}

func TestDispatchMillionUsersExact(t *testing.T) {
	weights, fixed := bigDispatch()
	targets := Targets(weights, fixed, 1_000_000)
	require.Equal(t, 1_000_000, sum(targets))
	checkDistribution(t, targets, 10_000, Distribute(targets, 10_000))
}

// BenchmarkDispatch splits 1,000,000 users of 50 classes over 10,000 workers.
func BenchmarkDispatch(b *testing.B) {
	weights, fixed := bigDispatch()
	b.ReportAllocs()
	for b.Loop() {
		targets := Targets(weights, fixed, 1_000_000)
		rows := Distribute(targets, 10_000)
		if len(rows) != 10_000 {
			b.Fatal(len(rows))
		}
	}
}

// BenchmarkSpawnOrder computes the spawn order of 1,000,000 users of 50 classes.
func BenchmarkSpawnOrder(b *testing.B) {
	weights, fixed := bigDispatch()
	b.ReportAllocs()
	for b.Loop() {
		if len(SpawnOrder(weights, fixed, 1_000_000)) != 1_000_000 {
			b.Fatal("short")
		}
	}
}

func TestAdjust(t *testing.T) {
	// A ramp of fixed 1 + weights 1:1 up to 9 users over 3 workers, one user
	// per step: every step changes one cell by one and keeps workers level.
	weights, fixed := []int{1, 1, 1}, []int{1, 0, 0}
	rows := Distribute(make([]int, 3), 3)
	for n := 1; n <= 9; n++ {
		next := Adjust(rows, Targets(weights, fixed, n))
		assert.Equal(t, 1, cellChanges(rows, next), "n=%d", n)
		rows = next
	}
	assert.Equal(t, [][]int{{1, 1, 1}, {0, 2, 1}, {0, 1, 2}}, rows)
	assert.Nil(t, Adjust(nil, []int{1}))
	assert.Panics(t, func() { Adjust([][]int{{1}}, []int{1, 2}) })

	// Removal takes from the fullest worker, then the highest index.
	assert.Equal(t, [][]int{{2, 0}, {1, 1}, {1, 0}}, Adjust([][]int{{2, 0}, {1, 1}, {1, 1}}, []int{4, 1}))
	assert.Equal(t, [][]int{{1, 0}, {1, 1}, {1, 1}}, Adjust([][]int{{2, 0}, {1, 1}, {1, 1}}, []int{3, 2}))
}

func cellChanges(a, b [][]int) int {
	n := 0
	for k := range a {
		for i := range a[k] {
			d := a[k][i] - b[k][i]
			n += max(d, -d)
		}
	}
	return n
}

func TestAdjustProperties(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	for range 300 {
		c := 1 + rnd.IntN(6)
		weights, fixed := make([]int, c), make([]int, c)
		for i := range c {
			weights[i] = 1 + rnd.IntN(9)
			if rnd.IntN(5) == 0 {
				fixed[i] = 1 + rnd.IntN(3)
			}
		}
		w := 1 + rnd.IntN(12)
		rows := Distribute(make([]int, c), w)
		prev := make([]int, c)
		n := 0
		for range 20 {
			n = max(0, n+rnd.IntN(41)-15)
			targets := Targets(weights, fixed, n)
			next := Adjust(rows, targets)
			minimal, up := 0, true
			for i := range targets {
				d := targets[i] - prev[i]
				minimal += max(d, -d)
				up = up && d >= 0
			}
			if up {
				require.Equal(t, minimal, cellChanges(rows, next), "a ramp up moves only the differences")
			} else {
				require.GreaterOrEqual(t, cellChanges(rows, next), minimal)
			}
			cols := make([]int, c)
			lo, hi := int(^uint(0)>>1), 0
			for _, row := range next {
				tot := 0
				for i, v := range row {
					require.GreaterOrEqual(t, v, 0)
					cols[i] += v
					tot += v
				}
				lo, hi = min(lo, tot), max(hi, tot)
			}
			require.Equal(t, targets, cols)
			require.LessOrEqual(t, hi-lo, 1, "workers stay level")
			rows, prev = next, targets
		}
	}
}

// BenchmarkAdjustStep adds 100 users to 1,000,000 users of 50 classes on
// 10,000 workers: one ramp step of a master.
func BenchmarkAdjustStep(b *testing.B) {
	weights, fixed := bigDispatch()
	rows := Distribute(Targets(weights, fixed, 1_000_000), 10_000)
	next := Targets(weights, fixed, 1_000_100)
	b.ReportAllocs()
	for b.Loop() {
		Adjust(rows, next)
	}
}

// BenchmarkAdjustFromZero places 1,000,000 users of 50 classes on 10,000
// empty workers one by one.
func BenchmarkAdjustFromZero(b *testing.B) {
	weights, fixed := bigDispatch()
	rows := Distribute(make([]int, 50), 10_000)
	targets := Targets(weights, fixed, 1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		Adjust(rows, targets)
	}
}
