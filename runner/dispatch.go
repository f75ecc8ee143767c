package runner

import (
	"container/heap"
	"fmt"
	"slices"
)

// This file holds the dispatcher: pure functions that decide how many users
// of each class run and where. They have no state and no goroutines, so the
// local runner and the master use the same arithmetic.

// smooth is a smooth weighted round-robin generator (the nginx algorithm):
// every pick adds each weight to its running credit, takes the class with
// the largest credit (ties go to the lower index) and charges it the total.
// Over any window of sum(weights) picks every class i is picked exactly
// weights[i] times, and picks of one class are spread as evenly as integer
// positions allow: weights 5:1 give AAABAA AAABAA ...
type smooth struct {
	w     []int64
	cur   []int64
	total int64
}

func newSmooth(weights []int64) *smooth {
	s := &smooth{w: weights, cur: make([]int64, len(weights))}
	for _, w := range weights {
		if w > 0 {
			s.total += w
		}
	}
	return s
}

// next returns the next class index, or -1 when no class has a positive weight.
func (s *smooth) next() int {
	best := -1
	for i, w := range s.w {
		if w <= 0 {
			continue
		}
		s.cur[i] += w
		if best < 0 || s.cur[i] > s.cur[best] {
			best = i
		}
	}
	if best >= 0 {
		s.cur[best] -= s.total
	}
	return best
}

// drop takes class i out of the rotation.
func (s *smooth) drop(i int) {
	if s.w[i] > 0 {
		s.total -= s.w[i]
		s.w[i] = 0
	}
}

func checkClasses(weights, fixed []int) {
	if len(weights) != len(fixed) {
		panic(fmt.Sprintf("runner: %d weights but %d fixed counts", len(weights), len(fixed)))
	}
}

// SpawnOrder returns the class index of each of the first n users to spawn.
//
// Classes with a fixed count (fixed[i] > 0) come first, taken round-robin in
// index order until each has its count; their weight is ignored. The other
// classes follow in smooth weighted order by weights[i] (classes with weight
// <= 0 are never picked): weights 5:1 give indices 0,0,0,1,0,0,0,0,0,1,0,0
// (AAABAAAAABAA). When only fixed classes exist, the order ends after
// sum(fixed) users, so the result may be shorter than n.
//
// The order is deterministic: the same inputs give the same sequence.
//
// Deprecated: no runner calls it: a ramp keeps the class mix on the way to
// [Targets] of the new count (see the package documentation), which gives
// this order when users are only added. It stays for callers that use it.
func SpawnOrder(weights, fixed []int, n int) []int {
	checkClasses(weights, fixed)
	if n <= 0 {
		return nil
	}
	out := make([]int, 0, n)
	left := slices.Clone(fixed)
	for len(out) < n {
		progressed := false
		for i := range left {
			if left[i] > 0 && len(out) < n {
				left[i]--
				out = append(out, i)
				progressed = true
			}
		}
		if !progressed {
			break
		}
	}
	w := make([]int64, len(weights))
	for i := range weights {
		if fixed[i] <= 0 && weights[i] > 0 {
			w[i] = int64(weights[i])
		}
	}
	g := newSmooth(w)
	for len(out) < n {
		i := g.next()
		if i < 0 {
			break
		}
		out = append(out, i)
	}
	return out
}

// Targets returns how many users of each class run when n users run in
// total. The counts sum to exactly n, unless only fixed-count classes exist
// and n exceeds their sum (then each has its fixed count).
//
// Fixed counts are served first; when n is smaller than their sum, the n
// users are shared round-robin in index order (the counts of the first n
// users of SpawnOrder). The remaining users are split by weight with the
// largest-remainder method: each class gets the floor of its exact share, and
// the users left over go to the largest fractional parts, ties to the lower
// index. Every weighted class thus gets its exact share rounded up or down.
func Targets(weights, fixed []int, n int) []int {
	checkClasses(weights, fixed)
	out := make([]int, len(weights))
	if n <= 0 {
		return out
	}
	sumFixed := 0
	for _, f := range fixed {
		if f > 0 {
			sumFixed += f
		}
	}
	if n < sumFixed {
		fillRoundRobin(out, fixed, n)
		return out
	}
	for i, f := range fixed {
		if f > 0 {
			out[i] = f
		}
	}
	m := int64(n - sumFixed)
	var total int64
	for i, w := range weights {
		if fixed[i] <= 0 && w > 0 {
			total += int64(w)
		}
	}
	if m == 0 || total == 0 {
		return out
	}
	type rem struct {
		i int
		r int64
	}
	rems := make([]rem, 0, len(weights))
	var given int64
	for i, w := range weights {
		if fixed[i] > 0 || w <= 0 {
			continue
		}
		share := m * int64(w)
		q := share / total
		out[i] = int(q)
		given += q
		rems = append(rems, rem{i, share % total})
	}
	left := m - given // < number of weighted classes
	if left > 0 {
		slices.SortStableFunc(rems, func(a, b rem) int {
			switch {
			case a.r > b.r:
				return -1
			case a.r < b.r:
				return 1
			}
			return a.i - b.i
		})
		for k := int64(0); k < left; k++ {
			out[rems[k].i]++
		}
	}
	return out
}

// fillRoundRobin sets out to the counts of the first n users taken
// round-robin over classes with caps (n < sum of caps): every class gets
// min(cap, L) for the largest level L that fits, and the users left over go
// one each to the lowest-index classes whose cap is above L.
func fillRoundRobin(out, caps []int, n int) {
	lo, hi := 0, 0
	for _, c := range caps {
		hi = max(hi, c)
	}
	sumAt := func(level int) int {
		s := 0
		for _, c := range caps {
			s += max(0, min(c, level))
		}
		return s
	}
	for lo < hi { // largest level with sumAt(level) <= n
		mid := (lo + hi + 1) / 2
		if sumAt(mid) <= n {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	left := n - sumAt(lo)
	for i, c := range caps {
		out[i] = max(0, min(c, lo))
		if left > 0 && c > lo {
			out[i]++
			left--
		}
	}
}

// Distribute splits per-class user counts over w workers. The result has one
// row per worker with a count per class. Column sums equal targets exactly,
// every worker's total differs from every other's by at most one, and so does
// its count of any one class.
//
// Classes are dealt in index order, continuing round-robin where the previous
// class stopped, as Locust's dispatcher deals users over its ordered workers:
// 7 users over 5 workers give 2,2,1,1,1 and 2 users give 1,1,0,0,0. Order
// the workers as you want them filled (Locust spreads over hosts first).
// The cost is O(w × classes), independent of the number of users.
func Distribute(targets []int, w int) [][]int {
	if w <= 0 {
		return nil
	}
	c := len(targets)
	backing := make([]int, w*c)
	out := make([][]int, w)
	for k := range out {
		out[k] = backing[k*c : (k+1)*c : (k+1)*c]
	}
	offset := 0
	for i, t := range targets {
		if t <= 0 {
			continue
		}
		base, extra := t/w, t%w
		if base > 0 {
			for k := range out {
				out[k][i] = base
			}
		}
		for e := range extra {
			out[(offset+e)%w][i]++
		}
		offset = (offset + extra) % w
	}
	return out
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

// Adjust moves a distribution (rows per worker, a count per class) to new
// per-class targets with as few changes as possible. A user removed comes
// from the worker with the most users (then the most of that class, then the
// highest index); a user added goes to the worker with the fewest users (then
// the fewest of that class, then the lowest index). When removals leave the
// worker totals more than one apart (the fullest workers held none of the
// class removed), single users move from the fullest to the emptiest worker
// until they are level again. A ramp up from a level distribution changes
// exactly the differences, so a master can ramp step by step without workers
// trading users. current is
// not modified; rows must all have len(targets) counts. A worker joining or
// leaving is a new row set: call Distribute for a fresh, balanced start.
func Adjust(current [][]int, targets []int) [][]int {
	w, c := len(current), len(targets)
	if w == 0 {
		return nil
	}
	backing := make([]int, w*c)
	out := make([][]int, w)
	totals := make([]int, w)
	cols := make([]int, c)
	for k, row := range current {
		if len(row) != c {
			panic(fmt.Sprintf("runner: worker %d has %d class counts, want %d", k, len(row), c))
		}
		out[k] = backing[k*c : (k+1)*c : (k+1)*c]
		copy(out[k], row)
		for i, v := range row {
			totals[k] += v
			cols[i] += v
		}
	}
	h := &workerHeap{idx: make([]int, w), rows: out, totals: totals}
	// Removals first, so that the additions refill the emptiest workers.
	for _, add := range []bool{false, true} {
		for i, t := range targets {
			d := t - cols[i]
			if d == 0 || (d > 0) != add {
				continue
			}
			cols[i] = t
			h.class, h.add = i, add
			h.idx = h.idx[:0]
			for k := range w {
				if add || out[k][i] > 0 {
					h.idx = append(h.idx, k)
				}
			}
			heap.Init(h)
			for ; d > 0; d-- {
				k := h.idx[0]
				out[k][i]++
				totals[k]++
				heap.Fix(h, 0)
			}
			for ; d < 0; d++ {
				k := h.idx[0]
				out[k][i]--
				totals[k]--
				if out[k][i] == 0 {
					heap.Pop(h)
				} else {
					heap.Fix(h, 0)
				}
			}
		}
	}
	level(out, totals)
	return out
}

// level moves single users from the fullest worker to the emptiest until
// worker totals differ by at most one; it moves the class the two differ in
// most.
func level(rows [][]int, totals []int) {
	for {
		lo, hi := 0, 0
		for k, t := range totals {
			if t < totals[lo] {
				lo = k
			}
			if t > totals[hi] {
				hi = k
			}
		}
		if totals[hi]-totals[lo] <= 1 {
			return
		}
		best, gap := -1, 0
		for i := range rows[hi] {
			if g := rows[hi][i] - rows[lo][i]; rows[hi][i] > 0 && (best < 0 || g > gap) {
				best, gap = i, g
			}
		}
		rows[hi][best]--
		rows[lo][best]++
		totals[hi]--
		totals[lo]++
	}
}

// workerHeap orders worker indexes for Adjust: the best worker to add a user
// of class to (add) or to take one from (!add) on top.
type workerHeap struct {
	idx    []int
	rows   [][]int
	totals []int
	class  int
	add    bool
}

func (h *workerHeap) Len() int { return len(h.idx) }
func (h *workerHeap) Less(a, b int) bool {
	x, y := h.idx[a], h.idx[b]
	tx, ty := h.totals[x], h.totals[y]
	cx, cy := h.rows[x][h.class], h.rows[y][h.class]
	if h.add {
		if tx != ty {
			return tx < ty
		}
		if cx != cy {
			return cx < cy
		}
		return x < y
	}
	if tx != ty {
		return tx > ty
	}
	if cx != cy {
		return cx > cy
	}
	return x > y
}
func (h *workerHeap) Swap(a, b int) { h.idx[a], h.idx[b] = h.idx[b], h.idx[a] }
func (h *workerHeap) Push(x any)    { h.idx = append(h.idx, x.(int)) }
func (h *workerHeap) Pop() any {
	x := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return x
}
