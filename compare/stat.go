package compare

import (
	"math"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/golocust/golocust/stats"
)

// minExpected is the smallest expected count of each cell of a 2×2 table
// for which the normal approximation of the two-proportion z-test is
// trusted (the usual rule of thumb for the chi-square test); below it a
// test says "too few samples" and never rejects.
const minExpected = 5

// Test is the outcome of one two-sample test.
type Test struct {
	// Z is the statistic, positive when the current run is worse (slower,
	// or failing more often).
	Z float64
	// P is the two-sided p-value.
	P float64
	// Significant is true when P < 1-confidence (and there were enough
	// samples).
	Significant bool
	// TooFew is true when an expected cell count was under 5: the test
	// was not made and is not significant.
	TooFew bool
}

// twoProportion is the two-proportion z-test of x1/n1 against x2/n2
// (pooled variance), with Z positive when x2/n2 > x1/n1.
func twoProportion(x1, n1, x2, n2 int64, alpha float64) Test {
	if n1 <= 0 || n2 <= 0 {
		return Test{TooFew: true}
	}
	p := float64(x1+x2) / float64(n1+n2)
	for _, e := range []float64{float64(n1) * p, float64(n1) * (1 - p), float64(n2) * p, float64(n2) * (1 - p)} {
		if e < minExpected {
			return Test{TooFew: true}
		}
	}
	se := math.Sqrt(p * (1 - p) * (1/float64(n1) + 1/float64(n2)))
	z := (float64(x2)/float64(n2) - float64(x1)/float64(n1)) / se
	pv := math.Erfc(math.Abs(z) / math.Sqrt2)
	return Test{Z: z, P: pv, Significant: pv < alpha}
}

// QuantileTest tests whether the q-quantile (q in (0,1)) of the latencies
// in cur differs from that of base, exactly from the histograms' bucket
// counts: the pooled q-quantile m of both samples is found, each sample's
// share of values at or below m is counted, and the two shares are
// compared with a two-proportion z-test at significance level alpha. Under
// the null hypothesis (one distribution) both shares are about q; a
// slower current run has fewer values at or below m, which makes Z
// positive. This is Mood's median test generalised to any quantile: it
// assumes nothing about the shape of the distributions, costs one pass over
// the populated buckets, and gives the same answer every time.
//
// Both histograms must have golocust's geometry (stats.NewHistogram), so
// that equal values fall in equal buckets.
func QuantileTest(base, cur *hdrhistogram.Histogram, q, alpha float64) Test {
	return newPair(base, cur).test(q, alpha)
}

// pair holds two histograms' counts index by index, so that the tests of
// several percentiles share one pass of copying.
type pair struct {
	a, b   []int64
	na, nb int64
}

// newPair aligns the counts of base and cur. Histograms of one geometry
// (lowest value and significant digits; the highest only decides the
// length) put equal values at equal indexes; others are first merged into
// golocust's full-range geometry.
func newPair(base, cur *hdrhistogram.Histogram) *pair {
	if base == nil || cur == nil || base.TotalCount() == 0 || cur.TotalCount() == 0 {
		return &pair{}
	}
	if base.LowestTrackableValue() != cur.LowestTrackableValue() || base.SignificantFigures() != cur.SignificantFigures() {
		a, b := stats.NewHistogram(), stats.NewHistogram()
		a.Merge(base)
		b.Merge(cur)
		base, cur = a, b
	}
	return &pair{a: base.Export().Counts, b: cur.Export().Counts, na: base.TotalCount(), nb: cur.TotalCount()}
}

func (p *pair) test(q, alpha float64) Test {
	if p.na == 0 || p.nb == 0 || q <= 0 || q >= 1 {
		return Test{TooFew: true}
	}
	rank := int64(math.Ceil(q * float64(p.na+p.nb)))
	var a, b int64
	for i := range max(len(p.a), len(p.b)) {
		if i < len(p.a) {
			a += p.a[i]
		}
		if i < len(p.b) {
			b += p.b[i]
		}
		if a+b >= rank {
			break
		}
	}
	// "At or below m" is the event whose probability is compared; the test
	// is about the share above m being larger in cur, hence the swap.
	return twoProportion(p.na-a, p.na, p.nb-b, p.nb, alpha)
}

// FailureTest tests whether the failure ratio of the current run
// (curFails of curN) differs from the baseline's, with the two-proportion
// z-test at significance level alpha; Z is positive when the current run
// fails more often.
func FailureTest(baseFails, baseN, curFails, curN int64, alpha float64) Test {
	return twoProportion(baseFails, baseN, curFails, curN, alpha)
}
