package stats

import (
	"fmt"
	"math/bits"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry: microseconds, 1 µs .. 1 h, 3 significant digits.
//
// A dense hdrhistogram of this range has 23 buckets × 1,024 sub-buckets =
// 23,552 int64 counts ≈ 184 KiB. The range costs little: halving the top to
// 30 min saves one bucket (8 KiB), and a top of 60 s would still need 17
// buckets (144 KiB). So the registry keeps a dense counts array only where
// recording must be O(1) (one per active stripe, freed when a name has been
// idle for idleFree), and keeps everything else — the cumulative histogram
// of each name, the per-second slices of the current window — as sparse
// PackedHistograms whose size grows with the populated buckets (a few KiB).
// Snapshots hand out dense histograms (the public type); see Snapshot for
// how they are shared between snapshots.
const (
	histLowest  = 1
	histHighest = int64(time.Hour / time.Microsecond) // 3.6e9 µs; larger values are clamped
	histDigits  = 3

	subHalfMag = 10 // log2 of the sub-bucket half count for 3 digits
	subHalf    = 1 << subHalfMag
	subMask    = 2*subHalf - 1
	countsLen  = 23 * subHalf
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histLowest, histHighest, histDigits) }

func newPacked() *hdrhistogram.PackedHistogram {
	return hdrhistogram.NewPacked(histLowest, histHighest, histDigits)
}

// micros converts a duration to clamped histogram units.
func micros(d time.Duration) int64 {
	us := int64(d / time.Microsecond)
	if us < 0 {
		return 0
	}
	if us > histHighest {
		return histHighest
	}
	return us
}

// countsIndex is hdrhistogram's flat counts index of v for this geometry.
func countsIndex(v int64) int {
	bucket := 64 - bits.LeadingZeros64(uint64(v|subMask)) - (subHalfMag + 1)
	return (bucket+1)<<subHalfMag + int(v>>uint(bucket)) - subHalf
}

// valueAt is the lowest value of the flat counts index idx.
func valueAt(idx int) int64 {
	bucket := idx>>subHalfMag - 1
	sub := idx&(subHalf-1) + subHalf
	if bucket < 0 {
		sub -= subHalf
		bucket = 0
	}
	return int64(sub) << uint(bucket)
}

// denseCounts is a dense counts array with the touched index range, so that
// folding and clearing it costs the range, not the whole array.
type denseCounts struct {
	c      []int64
	lo, hi int // touched range; lo > hi when empty
}

func (d *denseCounts) add(v int64) {
	if d.c == nil {
		d.c = make([]int64, countsLen)
		d.lo, d.hi = countsLen, -1
	}
	i := countsIndex(v)
	d.c[i]++
	if i < d.lo {
		d.lo = i
	}
	if i > d.hi {
		d.hi = i
	}
}

// drain adds the counts to each non-nil destination and clears them.
func (d *denseCounts) drain(dst ...*hdrhistogram.PackedHistogram) {
	if d.c == nil {
		return
	}
	for i := d.lo; i <= d.hi; i++ {
		c := d.c[i]
		if c == 0 {
			continue
		}
		v := valueAt(i)
		for _, p := range dst {
			if p != nil {
				_ = p.RecordValues(v, c)
			}
		}
		d.c[i] = 0
	}
	d.lo, d.hi = countsLen, -1
}

// toDense returns a new dense histogram holding the sum of the sparse ones.
// Its highest trackable value is the largest value held, not 1 h: the
// counts array then covers only the buckets up to it (for latencies under
// 65 ms, 7 of the 23 buckets: 56 KiB instead of 184 KiB). The flat index of
// every value is the same as in the full range, so merging either way is
// exact.
func toDense(ps ...*hdrhistogram.PackedHistogram) *hdrhistogram.Histogram {
	top := int64(subMask) // at least the first bucket
	for _, p := range ps {
		if p != nil && p.TotalCount() > 0 {
			top = max(top, min(p.Max(), histHighest))
		}
	}
	h := hdrhistogram.New(histLowest, top, histDigits)
	for _, p := range ps {
		if p != nil {
			p.MergeInto(h)
		}
	}
	return h
}

// NewHistogram returns an empty histogram of the registry's geometry and
// full range (microseconds, 1 µs .. 1 h, 3 significant digits). Snapshot
// histograms are read-only and sized to the values they hold: to add
// several of them up, merge them into a NewHistogram.
func NewHistogram() *hdrhistogram.Histogram { return newHist() }

// EncodeHistogram returns h in HdrHistogram's compressed V2 encoding,
// base64 (the "hdr" keys of the JSON output); "" for nil. Any HdrHistogram
// implementation reads it, and DecodeHistogram gives back the exact counts.
func EncodeHistogram(h *hdrhistogram.Histogram) (string, error) {
	if h == nil {
		return "", nil
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("encoding a histogram: %w", err)
	}
	return string(b), nil
}

// DecodeHistogram reads what EncodeHistogram wrote. It refuses a
// histogram of another geometry than the registry's (microseconds, 3
// significant digits, at most 1 h), so that merging and comparing it with
// the registry's own stays exact.
func DecodeHistogram(s string) (*hdrhistogram.Histogram, error) {
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("not an HdrHistogram in compressed V2 base64 encoding: %w", err)
	}
	if h.SignificantFigures() != histDigits || h.LowestTrackableValue() != histLowest || h.HighestTrackableValue() > histHighest {
		return nil, fmt.Errorf("histogram geometry %d..%d at %d digits is not golocust's (1..%d µs at %d digits)",
			h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures(), histHighest, histDigits)
	}
	return h, nil
}
