package runner

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/stats"
)

// Traced samples on three "workers", sent as deltas through the wire and
// merged on a master: the master keeps the slowest exemplars of the union,
// with their ids, response times (whole microseconds) and times.
func TestWireCarriesExemplarsAndTheMasterKeepsTheUnionsSlowest(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	workers := []*stats.Registry{stats.NewRegistry(stats.Options{}), stats.NewRegistry(stats.Options{}), stats.NewRegistry(stats.Options{})}
	master := stats.NewRegistry(stats.Options{})
	central := stats.NewRegistry(stats.Options{})
	perm := rng.Perm(600)
	for i, p := range perm {
		s := stats.Sample{Method: "GET", Name: "/checkout", Duration: time.Duration(p+1) * 13 * time.Microsecond}
		binary.BigEndian.PutUint64(s.TraceID[8:], uint64(p)+1)
		binary.BigEndian.PutUint64(s.SpanID[:], uint64(p)+1)
		workers[i%3].Record(s)
		central.Record(s)
		if i%97 == 0 {
			for _, w := range workers {
				mergeThroughWire(t, master, w, "w")
			}
		}
	}
	for _, w := range workers {
		mergeThroughWire(t, master, w, "w")
	}
	want := central.Snapshot().Entries[0].Exemplars
	got := master.Snapshot().Entries[0].Exemplars
	require.Len(t, want, stats.MaxExemplars)
	require.Len(t, got, len(want))
	for i := range want {
		assert.Equal(t, want[i].TraceID, got[i].TraceID, i)
		assert.Equal(t, want[i].SpanID, got[i].SpanID, i)
		assert.Equal(t, want[i].Duration, got[i].Duration, i)
		assert.WithinDuration(t, want[i].Time, got[i].Time, time.Microsecond, i)
	}
}

func TestWireRefusesMalformedExemplars(t *testing.T) {
	r := &locustpb.StatsReport{Entries: []*locustpb.StatsEntry{{Method: "GET", Name: "/a", Exemplars: []*locustpb.Exemplar{{TraceId: []byte{1}, SpanId: make([]byte, 8)}}}}}
	err := locustpb.ValidateWorkerMessage(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Stats{Stats: r}}, locustpb.Limits{})
	assert.ErrorContains(t, err, "trace id is not 16 bytes")
	r.Entries[0].Exemplars = make([]*locustpb.Exemplar, locustpb.MaxExemplars+1)
	err = locustpb.ValidateWorkerMessage(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Stats{Stats: r}}, locustpb.Limits{})
	assert.ErrorContains(t, err, "exemplars")
}
