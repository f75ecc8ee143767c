package runner

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gproto "google.golang.org/protobuf/proto"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/stats"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// Samples recorded on several "workers", each sent as deltas through the
// wire (encode, marshal, unmarshal, validate, decode) and merged into a
// master registry, give the same numbers as one registry fed every sample.
// Durations are whole microseconds, the wire's unit, so equality is exact.
func TestWireRoundTripEqualsCentralRegistry(t *testing.T) {
	cases := []wireCase{
		{"one worker one name", 1, 1, 3, 0, false},
		{"median of 100 800 700", 1, 1, 0, 0, false}, // filled below
		{"two workers with failures", 2, 5, 500, 10, false},
		{"corrected latencies", 3, 3, 300, 0, true},
		{"many names", 4, 60, 2000, 5, false},
	}
	for _, via := range []string{"snapshot", "coalescer"} {
		for _, tc := range cases {
			t.Run(via+"/"+tc.name, func(t *testing.T) {
				roundTrip(t, via, tc)
			})
		}
	}
}

// wireCase is a set of samples spread over workers.
type wireCase struct {
	name    string
	workers int
	names   int
	samples int
	failPct int
	corr    bool
}

func roundTrip(t *testing.T, via string, tc wireCase) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	central := stats.NewRegistry(stats.Options{Now: clk.now, MaxNames: 10_000})
	master := stats.NewRegistry(stats.Options{Now: clk.now, MaxNames: 10_000})
	workers := make([]*stats.Registry, tc.workers)
	for i := range workers {
		workers[i] = stats.NewRegistry(stats.Options{Now: clk.now, MaxNames: 10_000})
	}
	var coal *coalescer
	merge := func(w *stats.Registry) { mergeThroughWire(t, master, w, "w") }
	if via == "coalescer" {
		coal = newCoalescer(master)
		merge = func(w *stats.Registry) {
			r, err := SnapshotToReport(w.TakeDelta(), 1, nil)
			require.NoError(t, err)
			require.NoError(t, coal.add(r, "w"))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var samples []stats.Sample
	if tc.samples == 0 {
		for _, ms := range []int{100, 800, 700} {
			samples = append(samples, stats.Sample{Method: "GET", Name: "/x", Duration: time.Duration(ms) * time.Millisecond})
		}
	}
	for i := range tc.samples {
		s := stats.Sample{
			Method:   []string{"GET", "POST"}[i%2],
			Name:     fmt.Sprintf("/n%d", rng.IntN(tc.names)),
			Duration: time.Duration(1+rng.IntN(2_000_000)) * time.Microsecond,
			Size:     int64(rng.IntN(5000)),
		}
		if tc.corr {
			s.Corrected = s.Duration + time.Duration(rng.IntN(1000))*time.Microsecond
		}
		if rng.IntN(100) < tc.failPct {
			s.Err = fmt.Errorf("HTTP %d", 500+rng.IntN(3))
		}
		samples = append(samples, s)
	}
	for i, s := range samples {
		if i%50 == 0 {
			clk.t = clk.t.Add(700 * time.Millisecond)
		}
		central.Record(s)
		workers[i%tc.workers].Record(s)
		if i%97 == 0 { // a report mid-way
			merge(workers[i%tc.workers])
		}
		if i%301 == 0 && coal != nil {
			coal.fold()
		}
	}
	for _, w := range workers {
		merge(w)
	}
	if coal != nil {
		coal.fold()
	}
	want, got := central.Snapshot(), master.Snapshot()
	require.Len(t, got.Entries, len(want.Entries))
	for i := range want.Entries {
		assertSameEntry(t, want.Entries[i], got.Entries[i])
	}
	assertSameEntry(t, want.Total, got.Total)
	require.Len(t, got.Errors, len(want.Errors))
	for i := range want.Errors {
		w, g := want.Errors[i], got.Errors[i]
		assert.Equal(t, [3]string{w.Method, w.Name, w.Message}, [3]string{g.Method, g.Name, g.Message})
		assert.Equal(t, w.Occurrences, g.Occurrences)
		assert.True(t, w.FirstSeen.Equal(g.FirstSeen), "first seen")
		assert.True(t, w.LastSeen.Equal(g.LastSeen), "last seen")
	}
}

func mergeThroughWire(t *testing.T, dst, src *stats.Registry, node string) {
	t.Helper()
	r, err := SnapshotToReport(src.TakeDelta(), 1, map[string]int{"A": 1})
	require.NoError(t, err)
	b, err := gproto.Marshal(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Stats{Stats: r}})
	require.NoError(t, err)
	var m locustpb.WorkerMessage
	require.NoError(t, gproto.Unmarshal(b, &m))
	require.NoError(t, locustpb.ValidateWorkerMessage(&m, locustpb.Limits{}))
	snap, err := ReportToSnapshot(m.GetStats(), node)
	require.NoError(t, err)
	dst.Merge(snap)
}

func assertSameEntry(t *testing.T, want, got *stats.Entry) {
	t.Helper()
	id := want.Method + " " + want.Name
	assert.Equal(t, want.Method, got.Method, id)
	assert.Equal(t, want.Name, got.Name, id)
	assert.Equal(t, want.NumRequests, got.NumRequests, id)
	assert.Equal(t, want.NumFailures, got.NumFailures, id)
	assert.Equal(t, want.TotalTime, got.TotalTime, id)
	assert.Equal(t, want.TotalBytes, got.TotalBytes, id)
	assert.Equal(t, want.Min, got.Min, id)
	assert.Equal(t, want.Max, got.Max, id)
	for _, p := range stats.ReportPercentiles {
		assert.Equal(t, want.Percentile(p), got.Percentile(p), "%s p%v", id, p)
		if want.CorrectedHist != nil {
			assert.Equal(t, want.CorrectedPercentile(p), got.CorrectedPercentile(p), "%s corrected p%v", id, p)
		}
	}
	assert.Equal(t, want.Median(), got.Median(), id)
	var wr, gr int64
	for _, v := range want.ReqPerSec {
		wr += v
	}
	for _, v := range got.ReqPerSec {
		gr += v
	}
	assert.Equal(t, wr, gr, "%s per-second counts", id)
}

func TestWireMedianOf100_800_700(t *testing.T) {
	reg := stats.NewRegistry(stats.Options{})
	w := stats.NewRegistry(stats.Options{})
	for _, ms := range []int{100, 800, 700} {
		w.Record(stats.Sample{Method: "GET", Name: "/", Duration: time.Duration(ms) * time.Millisecond})
	}
	mergeThroughWire(t, reg, w, "w1")
	assert.Equal(t, 700*time.Millisecond, reg.Snapshot().Entries[0].Median().Round(time.Millisecond))
}

func TestWireExceptionsCarryTheNode(t *testing.T) {
	reg := stats.NewRegistry(stats.Options{})
	w := stats.NewRegistry(stats.Options{})
	w.RecordException("boom", "stack")
	w.RecordException("boom", "stack")
	mergeThroughWire(t, reg, w, "worker-7")
	snap := reg.Snapshot()
	require.Len(t, snap.Exceptions, 1)
	assert.Equal(t, int64(2), snap.Exceptions[0].Count)
	assert.Equal(t, []string{"worker-7"}, snap.Exceptions[0].Nodes)
}

func TestWireBadHistogramIsAnError(t *testing.T) {
	r := &locustpb.StatsReport{Entries: []*locustpb.StatsEntry{{Method: "GET", Name: "/", NumRequests: 1, Histogram: []byte("garbage!")}}}
	_, err := ReportToSnapshot(r, "w")
	assert.True(t, errors.Is(err, locustpb.ErrBadHistogram), "%v", err)
}

func TestSecondsToWire(t *testing.T) {
	first, reqs, fails := secondsToWire(map[int64]int64{10: 2, 12: 3}, map[int64]int64{11: 1})
	assert.Equal(t, int64(10), first)
	assert.Equal(t, []int64{2, 0, 3}, reqs)
	assert.Equal(t, []int64{0, 1}, fails)
	first, reqs, fails = secondsToWire(nil, nil)
	assert.Zero(t, first)
	assert.Nil(t, reqs)
	assert.Nil(t, fails)
	// An oversized span keeps the newest seconds.
	_, reqs, _ = secondsToWire(map[int64]int64{1: 1, 1 + 2*maxWireSeconds: 1}, nil)
	assert.Len(t, reqs, maxWireSeconds)
}

// A stats report of 100 names (1000 samples each) on the wire.
func TestStatsReportSize(t *testing.T) {
	reg := stats.NewRegistry(stats.Options{})
	rng := rand.New(rand.NewPCG(3, 4))
	for n := range 100 {
		for range 1000 {
			reg.Record(stats.Sample{Method: "GET", Name: fmt.Sprintf("/api/item/%d", n), Duration: time.Duration(rng.ExpFloat64()*20_000+500) * time.Microsecond})
		}
	}
	r, err := SnapshotToReport(reg.TakeDelta(), 10, nil)
	require.NoError(t, err)
	b, err := gproto.Marshal(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Stats{Stats: r}})
	require.NoError(t, err)
	t.Logf("a stats report with 100 names x 1000 samples is %d bytes on the wire", len(b))
	assert.Less(t, len(b), 1<<20)
}

// A report with more names than the master's cap folds the excess into
// the "other" entry; a corrupt histogram is an error; many names at once
// fold early instead of growing without bound.
func TestCoalescerCapsAndErrors(t *testing.T) {
	master := stats.NewRegistry(stats.Options{MaxNames: 10})
	c := newCoalescer(master)
	w := stats.NewRegistry(stats.Options{MaxNames: 10_000})
	for n := range maxPending + 50 {
		w.Record(stats.Sample{Method: "GET", Name: fmt.Sprintf("/u/%d", n), Duration: time.Millisecond})
	}
	r, err := SnapshotToReport(w.TakeDelta(), 0, nil)
	require.NoError(t, err)
	require.NoError(t, c.add(r, "w"))
	assert.LessOrEqual(t, len(c.sum.acc), maxPending, "accumulators stay bounded")
	c.fold()
	snap := master.Snapshot()
	assert.Equal(t, int64(maxPending+50), snap.Total.NumRequests)
	assert.LessOrEqual(t, len(snap.Entries), 11)
	var other int64
	for _, e := range snap.Entries {
		if e.Name == stats.OtherName {
			other += e.NumRequests
		}
	}
	assert.Equal(t, int64(maxPending+50-10), other)

	bad := &locustpb.StatsReport{Entries: []*locustpb.StatsEntry{{Method: "GET", Name: "/", NumRequests: 1, Histogram: []byte("garbage!")}}}
	assert.ErrorIs(t, c.add(bad, "w"), locustpb.ErrBadHistogram)
	c.discard()
	assert.Empty(t, c.sum.acc)
}

// The generator's lag and the users that ended early reach the master
// exactly, through the wire and through the coalescer.
func TestWireCarriesGeneratorLagAndEndedUsers(t *testing.T) {
	for _, via := range []string{"snapshot", "coalescer"} {
		t.Run(via, func(t *testing.T) {
			master := stats.NewRegistry(stats.Options{})
			coal := newCoalescer(master)
			for w := range 2 {
				reg := stats.NewRegistry(stats.Options{})
				for i := range 100 {
					reg.RecordLag(time.Duration(w*100+i) * time.Millisecond)
				}
				reg.RecordUserEnd("A: OnStart returned user.ErrStopUser")
				if via == "snapshot" {
					mergeThroughWire(t, master, reg, "w")
					continue
				}
				r, err := SnapshotToReport(reg.TakeDelta(), 1, nil)
				require.NoError(t, err)
				require.NoError(t, coal.add(r, "w"))
			}
			coal.fold()
			s := master.Snapshot()
			require.NotNil(t, s.Lag)
			assert.EqualValues(t, 200, s.Lag.TotalCount())
			assert.InDelta(t, 99_500, s.Lag.ValueAtQuantile(50), 1000)
			assert.Equal(t, map[string]int64{"A: OnStart returned user.ErrStopUser": 2}, s.EndedUsers)
		})
	}
}
