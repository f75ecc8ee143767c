package locustpb_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/golocust/golocust/proto/locustpb"
)

func TestCheckVersion(t *testing.T) {
	for _, tc := range []struct {
		ours, peer string
		ok         bool
	}{
		{"1.0.0", "1.0.0", true},
		{"1.0.0", "1.7.3", true},
		{"1.2.0", "v1.0", true},
		{"1.0.0", "2.0.0", false},
		{"2.0.0", "1.9.9", false},
		{"1.0.0", "", false},
		{"1.0.0", "banana", false},
		{"1.0.0", "-1.0.0", false},
	} {
		err := locustpb.CheckVersion(tc.ours, tc.peer)
		if tc.ok {
			assert.NoError(t, err, "%s vs %s", tc.ours, tc.peer)
		} else {
			assert.ErrorIs(t, err, locustpb.ErrIncompatibleVersion, "%s vs %s", tc.ours, tc.peer)
		}
	}
}

func lognormalHistogram(r *rand.Rand, n int, medianUs float64) *hdrhistogram.Histogram {
	h := hdrhistogram.New(1, 3_600_000_000, 3)
	mu := math.Log(medianUs)
	for range n {
		_ = h.RecordValue(int64(math.Exp(mu + 0.6*r.NormFloat64())))
	}
	return h
}

func TestHistogramRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	h := lognormalHistogram(r, 1000, 20_000)
	b, err := locustpb.EncodeHistogram(h)
	require.NoError(t, err)
	got, err := locustpb.DecodeHistogram(b)
	require.NoError(t, err)
	assert.True(t, h.Equals(got))
	assert.Equal(t, h.ValueAtQuantile(95), got.ValueAtQuantile(95))

	nilEnc, err := locustpb.EncodeHistogram(nil)
	require.NoError(t, err)
	assert.Nil(t, nilEnc)
	nilDec, err := locustpb.DecodeHistogram(nil)
	require.NoError(t, err)
	assert.Nil(t, nilDec)
}

func TestDecodeHistogramRejectsHostileGeometry(t *testing.T) {
	for _, g := range []struct {
		lo, hi int64
		digits int
	}{
		{1, math.MaxInt64 / 2, 3},
		{1, 3_600_000_000, 5},
	} {
		h := hdrhistogram.New(g.lo, g.hi, g.digits)
		_ = h.RecordValue(10)
		b, err := locustpb.EncodeHistogram(h)
		require.NoError(t, err)
		_, err = locustpb.DecodeHistogram(b)
		assert.ErrorIs(t, err, locustpb.ErrBadHistogram, "%+v", g)
	}
	for _, b := range [][]byte{{1}, {0, 0, 0, 0, 0, 0, 0, 0}, binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 0x1c849314), 99)} {
		_, err := locustpb.DecodeHistogram(b)
		assert.ErrorIs(t, err, locustpb.ErrBadHistogram)
	}
}

func TestValidateWorkerMessage(t *testing.T) {
	hello := func(h *locustpb.Hello) *locustpb.WorkerMessage {
		return &locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Hello{Hello: h}}
	}
	stats := func(e *locustpb.StatsEntry) *locustpb.WorkerMessage {
		return &locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Stats{Stats: &locustpb.StatsReport{Entries: []*locustpb.StatsEntry{e}}}}
	}
	for name, tc := range map[string]struct {
		m  *locustpb.WorkerMessage
		ok bool
	}{
		"hello":                      {hello(&locustpb.Hello{WorkerId: "h_1", Version: "1.0.0", Pid: 7, CpuCount: 2}), true},
		"hello no id":                {hello(&locustpb.Hello{Version: "1.0.0"}), false},
		"hello bad version":          {hello(&locustpb.Hello{WorkerId: "w", Version: "x"}), false},
		"hello control char":         {hello(&locustpb.Hello{WorkerId: "w\n", Version: "1.0.0"}), false},
		"empty envelope":             {&locustpb.WorkerMessage{}, false},
		"stats":                      {stats(&locustpb.StatsEntry{Method: "GET", Name: "/", NumRequests: 2, MinUs: 1, MaxUs: 9}), true},
		"stats min>max":              {stats(&locustpb.StatsEntry{Method: "GET", Name: "/", NumRequests: 2, MinUs: 10, MaxUs: 9}), false},
		"stats negative":             {stats(&locustpb.StatsEntry{Method: "GET", Name: "/", NumRequests: -1}), false},
		"stats no name":              {stats(&locustpb.StatsEntry{Method: "GET"}), false},
		"custom":                     {&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Custom{Custom: &locustpb.Custom{Type: "t", Data: []byte{1}}}}, true},
		"custom no type":             {&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Custom{Custom: &locustpb.Custom{}}}, false},
		"heartbeat missing":          {&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Heartbeat{Heartbeat: &locustpb.Heartbeat{State: locustpb.WorkerState_WORKER_STATE_MISSING}}}, false},
		"heartbeat nan cpu":          {&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Heartbeat{Heartbeat: &locustpb.Heartbeat{CpuPercent: math.NaN()}}}, false},
		"spawning complete negative": {&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_SpawningComplete{SpawningComplete: &locustpb.SpawningComplete{UserClassCounts: map[string]int64{"A": -1}}}}, false},
	} {
		err := locustpb.ValidateWorkerMessage(tc.m, locustpb.Limits{})
		if tc.ok {
			assert.NoError(t, err, name)
		} else {
			assert.ErrorIs(t, err, locustpb.ErrInvalidMessage, name)
		}
	}
}

func TestValidateMasterMessage(t *testing.T) {
	ack := func(i, n int32) *locustpb.MasterMessage {
		return &locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Ack{Ack: &locustpb.Ack{WorkerIndex: i, WorkerCount: n, Version: locustpb.Version}}}
	}
	assert.NoError(t, locustpb.ValidateMasterMessage(ack(0, 1), locustpb.Limits{}))
	assert.ErrorIs(t, locustpb.ValidateMasterMessage(ack(1, 1), locustpb.Limits{}), locustpb.ErrInvalidMessage)
	assert.ErrorIs(t, locustpb.ValidateMasterMessage(&locustpb.MasterMessage{}, locustpb.Limits{}), locustpb.ErrInvalidMessage)
	spawn := &locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Spawn{Spawn: &locustpb.Spawn{
		Sequence: 1, UserClassCounts: map[string]int64{"A": 3}, StopTimeoutUs: 1e6,
		Options: &locustpb.RunOptions{Tags: []string{"x"}, Arrival: &locustpb.Arrival{IterationsPerSecond: 10}},
	}}}
	assert.NoError(t, locustpb.ValidateMasterMessage(spawn, locustpb.Limits{}))
	spawn.GetSpawn().Options.Arrival.IterationsPerSecond = math.Inf(1)
	assert.ErrorIs(t, locustpb.ValidateMasterMessage(spawn, locustpb.Limits{}), locustpb.ErrInvalidMessage)
}

// statsReport100 builds a realistic delta: 100 names, 1000 log-normal
// samples each, with per-second counters over a 3 s report interval, a few
// errors and one exception.
func statsReport100(t testing.TB, corrected bool) *locustpb.WorkerMessage {
	r := rand.New(rand.NewPCG(7, 8))
	rep := &locustpb.StatsReport{UserCount: 500, UserClassCounts: map[string]int64{"Shopper": 400, "Admin": 100}, StartUnixUs: 1_790_000_000_000_000}
	for i := range 100 {
		h := lognormalHistogram(r, 1000, 5_000+float64(i)*500)
		hb, err := locustpb.EncodeHistogram(h)
		require.NoError(t, err)
		e := &locustpb.StatsEntry{
			Method: "GET", Name: fmt.Sprintf("/api/v1/items/%d", i),
			NumRequests: h.TotalCount(), NumFailures: 3, TotalTimeUs: int64(h.Mean() * float64(h.TotalCount())),
			MinUs: h.Min(), MaxUs: h.Max(), TotalBytes: 1000 * 2345, Histogram: hb,
			FirstSecond: 1_790_000_000, RequestsPerSecond: []int64{333, 334, 333}, FailuresPerSecond: []int64{1, 1, 1},
			StartUnixUs: 1_790_000_000_000_000, LastRequestUnixUs: 1_790_000_002_999_000,
		}
		if corrected {
			cb, err := locustpb.EncodeHistogram(lognormalHistogram(r, 1000, 6_000+float64(i)*500))
			require.NoError(t, err)
			e.CorrectedHistogram = cb
		}
		rep.Entries = append(rep.Entries, e)
	}
	for i := range 5 {
		rep.Errors = append(rep.Errors, &locustpb.ErrorEntry{Method: "GET", Name: fmt.Sprintf("/api/v1/items/%d", i), Message: "HTTPError('500 Server Error')", Occurrences: 3, FirstSeenUnixUs: 1, LastSeenUnixUs: 2})
	}
	rep.Exceptions = []*locustpb.ExceptionEntry{{Message: "boom", Traceback: "goroutine 7 [running]:\nmain.(*Shopper).Buy(...)\n\t/src/main.go:42", Count: 2}}
	return &locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Stats{Stats: rep}}
}

// TestStatsReportWireSize measures a report with 100 names and checks it
// decodes, validates and round-trips. Figures: 81,425 bytes with
// service-time histograms only (722 B per histogram), 153,759 bytes with
// corrected histograms too.
func TestStatsReportWireSize(t *testing.T) {
	for _, corrected := range []bool{false, true} {
		m := statsReport100(t, corrected)
		b, err := proto.Marshal(m)
		require.NoError(t, err)
		var histBytes int
		for _, e := range m.GetStats().GetEntries() {
			histBytes += len(e.GetHistogram()) + len(e.GetCorrectedHistogram())
		}
		t.Logf("StatsReport, 100 names × 1000 samples, corrected=%v: %d bytes on the wire (%d of them histograms, %.0f B per histogram)",
			corrected, len(b), histBytes, float64(histBytes)/float64(len(m.GetStats().GetEntries()))/map[bool]float64{false: 1, true: 2}[corrected])
		assert.Less(t, len(b), 200_000)
		if !corrected {
			// The alternative encoding: uvarint (gap, count) pairs of the
			// non-zero buckets plus a small geometry header.
			var rle int
			r := rand.New(rand.NewPCG(7, 8))
			for i := range 100 {
				var buf []byte
				prev := -1
				for j, c := range lognormalHistogram(r, 1000, 5_000+float64(i)*500).Export().Counts {
					if c != 0 {
						buf = binary.AppendUvarint(binary.AppendUvarint(buf, uint64(j-prev-1)), uint64(c))
						prev = j
					}
				}
				rle += len(buf) + 12
			}
			t.Logf("run-length encoding of non-zero buckets instead: %.0f B per histogram (V2 compressed: %.0f B)", float64(rle)/100, float64(histBytes)/100)
			assert.Less(t, histBytes, rle, "V2 compressed is the smaller encoding")
		}
		var back locustpb.WorkerMessage
		require.NoError(t, proto.Unmarshal(b, &back))
		require.NoError(t, locustpb.ValidateWorkerMessage(&back, locustpb.Limits{}))
		h, err := locustpb.DecodeHistogram(back.GetStats().GetEntries()[42].GetHistogram())
		require.NoError(t, err)
		assert.EqualValues(t, 1000, h.TotalCount())
	}
}

func BenchmarkStatsReportMarshal(b *testing.B) {
	m := statsReport100(b, false)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		out, err := proto.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.ReportMetric(float64(n), "wire-bytes")
}

func BenchmarkDecodeHistogram(b *testing.B) {
	hb, err := locustpb.EncodeHistogram(lognormalHistogram(rand.New(rand.NewPCG(1, 1)), 1000, 20_000))
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := locustpb.DecodeHistogram(hb); err != nil {
			b.Fatal(err)
		}
	}
}
