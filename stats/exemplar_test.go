package stats

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// traced is a traced sample whose ids encode i, so that a test can tell
// which request an exemplar came from.
func traced(name string, i int, d time.Duration) Sample {
	s := Sample{Method: "GET", Name: name, Duration: d}
	binary.BigEndian.PutUint64(s.TraceID[8:], uint64(i)+1)
	binary.BigEndian.PutUint64(s.SpanID[:], uint64(i)+1)
	return s
}

func idOf(x Exemplar) int { return int(binary.BigEndian.Uint64(x.TraceID[8:])) - 1 }

// slowest returns the indexes of the k largest durations (ties: lower
// index first, as the registry keeps the first it saw only when both are
// recorded in order; the tests use distinct durations).
func slowest(ds []time.Duration, k int) []int {
	idx := make([]int, len(ds))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return ds[idx[a]] > ds[idx[b]] })
	return idx[:min(k, len(idx))]
}

func ids(xs []Exemplar) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = idOf(x)
	}
	return out
}

// distinctDurations returns n different durations in random order.
func distinctDurations(rng *rand.Rand, n int) []time.Duration {
	ds := make([]time.Duration, n)
	for i := range ds {
		ds[i] = time.Duration(i+1) * 7 * time.Microsecond
	}
	rng.Shuffle(n, func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
	return ds
}

func TestExemplarsAreTheSlowestTracedRequestsFromConcurrentRecorders(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 5000
	ds := distinctDurations(rng, n)
	r := NewRegistry(Options{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 8 {
				r.Record(traced("/a", i, ds[i]))
				r.Record(Sample{Method: "GET", Name: "/a", Duration: time.Hour}) // untraced: never an exemplar
			}
		}()
	}
	wg.Wait()
	s := r.Snapshot()
	require.Len(t, s.Entries, 1)
	e := s.Entries[0]
	assert.Equal(t, slowest(ds, MaxExemplars), ids(e.Exemplars), "slowest first")
	for _, x := range e.Exemplars {
		assert.Equal(t, ds[idOf(x)], x.Duration)
		assert.False(t, x.Time.IsZero())
		assert.Equal(t, uint64(idOf(x)+1), binary.BigEndian.Uint64(x.SpanID[:]))
	}
	assert.Equal(t, ids(e.Exemplars), ids(s.Total.Exemplars), "the Aggregated row keeps the slowest of all names")
}

func TestExemplarsMergedAcrossDeltasAreTheTopOfTheUnion(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n, workers = 3000, 3
	ds := distinctDurations(rng, n)
	master := NewRegistry(Options{})
	var merged *Entry // the same through Entry.Merge
	regs := make([]*Registry, workers)
	for w := range regs {
		regs[w] = NewRegistry(Options{})
	}
	for i := range n {
		regs[i%workers].Record(traced("/b", i, ds[i]))
		if i%500 == 499 { // a report every now and then, as a worker sends
			for _, w := range regs {
				d := w.TakeDelta()
				master.Merge(d)
				for _, e := range d.Entries {
					if merged == nil {
						merged = &Entry{}
					}
					merged.Merge(e)
				}
			}
		}
	}
	want := slowest(ds, MaxExemplars)
	s := master.Snapshot()
	require.Len(t, s.Entries, 1)
	assert.Equal(t, want, ids(s.Entries[0].Exemplars))
	require.NotNil(t, merged)
	assert.Equal(t, want, ids(merged.Exemplars))
	// Merging the same entry again keeps each request once.
	merged.Merge(s.Entries[0])
	assert.Equal(t, want, ids(merged.Exemplars))
}

func TestExemplarsGoWithResetAndDeltas(t *testing.T) {
	r := NewRegistry(Options{})
	r.Record(traced("/c", 1, time.Second))
	d := r.TakeDelta()
	require.Len(t, d.Entries, 1)
	assert.Equal(t, []int{1}, ids(d.Entries[0].Exemplars))
	r.Record(traced("/c", 2, time.Millisecond))
	assert.Equal(t, []int{2}, ids(r.Snapshot().Entries[0].Exemplars), "a delta takes its exemplars away")
	r.Reset()
	assert.Empty(t, r.Snapshot().Entries[0].Exemplars)
}

func TestExemplarsAtOrAbove(t *testing.T) {
	r := NewRegistry(Options{})
	for i := range 100 {
		r.Record(traced("/d", i, time.Duration(i+1)*time.Millisecond))
	}
	e := r.Snapshot().Entries[0]
	p99 := e.Percentile(0.99)
	assert.Equal(t, 100*time.Millisecond, p99)
	assert.Equal(t, []int{99}, ids(e.ExemplarsAtOrAbove(p99)))
	assert.Equal(t, []int{99, 98, 97}, ids(e.ExemplarsAtOrAbove(98*time.Millisecond)))
	assert.Len(t, e.ExemplarsAtOrAbove(0), MaxExemplars)
}

func TestExemplarsInJSON(t *testing.T) {
	r := NewRegistry(Options{})
	s := traced("/e", 41, 2500*time.Microsecond)
	r.Record(s)
	r.Record(Sample{Method: "GET", Name: "/f", Duration: time.Millisecond})
	var b bytes.Buffer
	require.NoError(t, WriteJSON(&b, r.Snapshot()))
	var list []struct {
		Name      string `json:"name"`
		Exemplars []struct {
			TraceID      string  `json:"trace_id"`
			SpanID       string  `json:"span_id"`
			ResponseTime float64 `json:"response_time"`
		} `json:"exemplars"`
	}
	require.NoError(t, json.Unmarshal(b.Bytes(), &list))
	require.Len(t, list, 2)
	require.Len(t, list[0].Exemplars, 1)
	x := list[0].Exemplars[0]
	assert.Equal(t, "0000000000000000000000000000002a", x.TraceID)
	assert.Equal(t, s.TraceID.String(), x.TraceID)
	assert.Equal(t, "000000000000002a", x.SpanID)
	assert.Equal(t, 2.5, x.ResponseTime)
	assert.NotNil(t, list[1].Exemplars, "always a list")
	assert.Empty(t, list[1].Exemplars)
	assert.Contains(t, b.String(), `"exemplars": []`)
}

func TestTraceIDParseRoundTrip(t *testing.T) {
	id := traced("/", 0xabcdef, 0).TraceID
	got, ok := ParseTraceID(id.String())
	assert.True(t, ok)
	assert.Equal(t, id, got)
	_, ok = ParseTraceID("xyz")
	assert.False(t, ok)
	_, ok = ParseTraceID(string(slices.Repeat([]byte("g"), 32)))
	assert.False(t, ok)
	assert.True(t, TraceID{}.IsZero())
}

func TestTracedRecordAllocatesNothingOnceTheNameHasExemplars(t *testing.T) {
	r := NewRegistry(Options{})
	r.Record(traced("/g", 0, time.Millisecond))
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		r.Record(traced("/g", i, time.Duration(i)*time.Microsecond))
	})
	assert.Zero(t, allocs)
}

// BenchmarkRecordParallelTraced is BenchmarkRecordParallel with every
// sample traced (--traceparent): the exemplar top-K's cost on Record.
func BenchmarkRecordParallelTraced(b *testing.B) {
	r := NewRegistry(Options{})
	names := []string{"/", "/item", "/cart", "/login"}
	b.SetParallelism(max(1, 50/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			s := traced(names[i&3], i, time.Duration(i&4095)*time.Microsecond)
			s.Size = 512
			r.Record(s)
		}
	})
}

func TestExemplarsAtPercentileCountTheRequestsInThePercentilesBucket(t *testing.T) {
	r := NewRegistry(Options{})
	for i := range 300 {
		r.Record(traced("/p", i, time.Duration(i+1)*time.Millisecond))
	}
	e := r.Snapshot().Entries[0]
	require.Greater(t, e.Percentile(0.99), 298*time.Millisecond, "read to 3 digits: the bucket's top")
	assert.Equal(t, []int{299, 298, 297}, ids(e.ExemplarsAtPercentile(0.99)))
	assert.Equal(t, []int{299}, ids(e.ExemplarsAtPercentile(1)))
	assert.Empty(t, (&Entry{}).ExemplarsAtPercentile(0.99))
}
