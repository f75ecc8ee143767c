package locustpb_test

import (
	"math"
	"math/rand/v2"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/proto/locustpb"
)

func TestMergeHistogramIsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, g := range []struct {
		lo, hi int64
		digits int
	}{
		{1, 3_600_000_000, 3},
		{1, 60_000_000, 2},
		{1000, 3_600_000_000, 3}, // unit magnitude > 0
		{1, 1 << 40, 1},
	} {
		a := hdrhistogram.New(g.lo, g.hi, g.digits)
		b := hdrhistogram.New(g.lo, g.hi, g.digits)
		for range 2000 {
			_ = a.RecordValue(min(int64(math.Exp(math.Log(20_000)+r.NormFloat64())), g.hi))
			_ = b.RecordValue(min(int64(math.Exp(math.Log(90_000)+r.NormFloat64())), g.hi))
		}
		_ = a.RecordValue(g.lo) // first bucket
		_ = b.RecordValues(g.hi, 3)
		ea, err := locustpb.EncodeHistogram(a)
		require.NoError(t, err)
		eb, err := locustpb.EncodeHistogram(b)
		require.NoError(t, err)

		got := hdrhistogram.New(g.lo, g.hi, g.digits)
		require.NoError(t, locustpb.MergeHistogram(got, ea))
		require.NoError(t, locustpb.MergeHistogram(got, eb))
		require.NoError(t, locustpb.MergeHistogram(got, nil))

		want := a.Clone()
		want.Merge(b)
		assert.Equal(t, want.TotalCount(), got.TotalCount(), "%+v", g)
		assert.Equal(t, want.Export().Counts, got.Export().Counts, "%+v", g)
		for _, q := range []float64{50, 95, 99, 99.9, 100} {
			assert.Equal(t, want.ValueAtQuantile(q), got.ValueAtQuantile(q), "%+v q%v", g, q)
		}
	}
}

func TestMergeHistogramRejectsBadInput(t *testing.T) {
	h := hdrhistogram.New(1, 3_600_000_000, 3)
	_ = h.RecordValue(42)
	good, err := locustpb.EncodeHistogram(h)
	require.NoError(t, err)
	wide := hdrhistogram.New(1, 3_600_000_000, 5)
	_ = wide.RecordValue(42)
	bad, err := locustpb.EncodeHistogram(wide)
	require.NoError(t, err)

	dst := hdrhistogram.New(1, 3_600_000_000, 3)
	for name, b := range map[string][]byte{
		"short":     {1, 2, 3},
		"truncated": good[:len(good)-3],
		"cookie":    append([]byte{0, 0, 0, 0}, good[4:]...),
		"geometry":  bad,
	} {
		assert.ErrorIs(t, locustpb.MergeHistogram(dst, b), locustpb.ErrBadHistogram, name)
	}
	require.NoError(t, locustpb.MergeHistogram(dst, good))
	assert.EqualValues(t, 1, dst.TotalCount())
}

func BenchmarkMergeHistogram(b *testing.B) {
	hb, err := locustpb.EncodeHistogram(lognormalHistogram(rand.New(rand.NewPCG(1, 1)), 1000, 20_000))
	require.NoError(b, err)
	dst := hdrhistogram.New(1, 3_600_000_000, 3)
	b.ReportAllocs()
	for b.Loop() {
		if err := locustpb.MergeHistogram(dst, hb); err != nil {
			b.Fatal(err)
		}
	}
}
