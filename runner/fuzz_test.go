package runner

import (
	"math"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/golocust/golocust/internal/timespan"
	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/stats"
)

// The fuzz targets of this file decode what a peer sends, the way the
// receiving runner does, and check that whatever the protocol's validation
// accepts leaves every count, span and rate finite, non-negative and in
// range, and gives a run the runner can start. The seed corpora run as
// tests; testdata/fuzz holds the inputs that once failed.

func TestMaxSpanOfTheProtocolIsTheTimespanMaximum(t *testing.T) {
	if time.Duration(locustpb.MaxSpanUs)*time.Microsecond != timespan.Max {
		t.Fatalf("locustpb.MaxSpanUs is %dµs, timespan.Max is %v", int64(locustpb.MaxSpanUs), timespan.Max)
	}
}

// checkMasterMessage is what a worker does with bytes from its master.
func checkMasterMessage(t *testing.T, b []byte) {
	var m locustpb.MasterMessage
	if proto.Unmarshal(b, &m) != nil || locustpb.ValidateMasterMessage(&m, locustpb.Limits{}) != nil {
		return
	}
	sp := m.GetSpawn()
	if sp == nil {
		return
	}
	if d := time.Duration(sp.GetStopTimeoutUs()) * time.Microsecond; d < 0 || d > timespan.Max {
		t.Fatalf("accepted a stop timeout of %v", d)
	}
	var users int64
	for _, n := range sp.GetUserClassCounts() {
		users += n
		if n < 0 || users > locustpb.DefaultLimits.MaxUsers || int64(int(n)) != n {
			t.Fatalf("accepted user counts %v", sp.GetUserClassCounts())
		}
	}
	sched, _ := wireArrival(sp.GetOptions().GetArrival())
	if sched == nil {
		return
	}
	if sched.PreAllocate < 0 || sched.MaxUsers < 0 || int64(sched.PreAllocate) > locustpb.DefaultLimits.MaxUsers ||
		int64(sched.MaxUsers) > locustpb.DefaultLimits.MaxUsers {
		t.Fatalf("accepted a pool of %d..%d users", sched.PreAllocate, sched.MaxUsers)
	}
	for _, st := range sched.Stages {
		if st.Duration < 0 || st.Duration > timespan.Max || math.IsNaN(st.Rate) || math.IsInf(st.Rate, 0) || st.Rate < 0 {
			t.Fatalf("accepted an arrival stage %+v", st)
		}
	}
	// The worker can start the share: the gate takes the schedule, and the
	// schedule's first iterations are due at finite offsets that never go
	// back in time.
	g, err := NewArrivalGate(*sched)
	if err != nil {
		if (sched.PreAllocate > 0 && sched.MaxUsers > 0 && sched.PreAllocate > sched.MaxUsers) ||
			(len(sched.Stages) == 0 && sched.Rate == 0) {
			return // refused with a reason, before any user starts
		}
		t.Fatalf("accepted a spawn whose arrival schedule %+v the worker cannot start: %v", *sched, err)
	}
	a := g.Config()
	if a.PreAllocate < 1 || (a.MaxUsers > 0 && a.PreAllocate > a.MaxUsers) {
		t.Fatalf("the gate would start %d users of at most %d", a.PreAllocate, a.MaxUsers)
	}
	s := NewSchedule(a)
	prev := time.Duration(-1)
	var end time.Duration // of the stages
	for _, st := range a.Stages {
		end += st.Duration
	}
	if end < 0 || end > timespan.Max {
		t.Fatalf("accepted arrival stages lasting %v", end)
	}
	for k := int64(a.Part); k < int64(a.Part)+50*int64(max(a.Parts, 1)); k += int64(max(a.Parts, 1)) {
		off, ok := s.At(k)
		if !ok {
			break
		}
		if off < 0 || off < prev || (len(a.Stages) > 0 && off > end) {
			t.Fatalf("iteration %d of %+v is due at %v (previous %v)", k, a, off, prev)
		}
		prev = off
	}
}

func FuzzMasterMessage(f *testing.F) {
	arrival := &locustpb.Arrival{ClusterRate: 100, ClusterStages: []*locustpb.RateStage{{DurationUs: 3_000_000, Rate: 100}, {DurationUs: 1_000_000, Rate: 0}},
		PreAllocate: 2, MaxUsers: 20, Part: 1, Parts: 2, RunId: 7, MaxIterations: 50, IterationLimit: true}
	for _, m := range []*locustpb.MasterMessage{
		{Kind: &locustpb.MasterMessage_Spawn{Spawn: &locustpb.Spawn{Sequence: 1, UserClassCounts: map[string]int64{"Shopper": 3, "Visitor": 1},
			Host: "http://127.0.0.1:8080", StopTimeoutUs: 5_000_000, Options: &locustpb.RunOptions{Tags: []string{"a"}, Arrival: arrival}}}},
		{Kind: &locustpb.MasterMessage_Spawn{Spawn: &locustpb.Spawn{Sequence: 2, UserClassCounts: map[string]int64{"A": 10}}}},
		{Kind: &locustpb.MasterMessage_Spawn{Spawn: &locustpb.Spawn{Options: &locustpb.RunOptions{Arrival: &locustpb.Arrival{ClusterRate: 5}}}}},
		{Kind: &locustpb.MasterMessage_Spawn{Spawn: &locustpb.Spawn{Options: &locustpb.RunOptions{Arrival: &locustpb.Arrival{
			ClusterStages: []*locustpb.RateStage{{DurationUs: locustpb.MaxSpanUs, Rate: 1e12}}, PreAllocate: 10_000_000}}}}},
		{Kind: &locustpb.MasterMessage_Ack{Ack: &locustpb.Ack{WorkerIndex: 0, WorkerCount: 1, Version: locustpb.Version}}},
		{Kind: &locustpb.MasterMessage_Stop{Stop: &locustpb.Stop{}}},
		{Kind: &locustpb.MasterMessage_Quit{Quit: &locustpb.Quit{Reason: "bye"}}},
		{Kind: &locustpb.MasterMessage_Custom{Custom: &locustpb.Custom{Type: "t", Data: []byte("x")}}},
	} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(checkMasterMessage)
}

// checkWorkerMessage is what a master does with bytes from a worker: the
// stats of a report go through the one wire decoder into the registry the
// UI, the outputs and the thresholds read.
func checkWorkerMessage(t *testing.T, b []byte) {
	var m locustpb.WorkerMessage
	if proto.Unmarshal(b, &m) != nil || locustpb.ValidateWorkerMessage(&m, locustpb.Limits{}) != nil {
		return
	}
	lim := locustpb.DefaultLimits
	if hb := m.GetHeartbeat(); hb != nil && (hb.GetUserCount() < 0 || hb.GetUserCount() > lim.MaxUsers) {
		t.Fatalf("accepted a heartbeat of %d users", hb.GetUserCount())
	}
	if sc := m.GetSpawningComplete(); sc != nil {
		for _, n := range countsFromWire(sc.GetUserClassCounts()) {
			if n < 0 || int64(n) > lim.MaxUsers {
				t.Fatalf("accepted class counts %v", sc.GetUserClassCounts())
			}
		}
	}
	r := m.GetStats()
	if r == nil {
		return
	}
	var sum ReportSum
	// Twice, as from two workers: sums must stay in range too.
	for range 2 {
		if err := sum.Add(r, "w"); err != nil {
			return
		}
	}
	reg := stats.NewRegistry(stats.Options{})
	reg.Merge(sum.Snapshot())
	snap := reg.Snapshot()
	for _, e := range append(snap.Entries, snap.Total) {
		if e.NumRequests < 0 || e.NumFailures < 0 || e.TotalBytes < 0 || e.TotalTime < 0 || e.Min < 0 || e.Max < 0 {
			t.Fatalf("merged entry out of range: %+v", *e)
		}
		for _, p := range []float64{0.5, 0.99, 1} {
			if d := e.Percentile(p); d < 0 {
				t.Fatalf("percentile %v of %q is %v", p, e.Name, d)
			}
			if d := e.CorrectedPercentile(p); d < 0 {
				t.Fatalf("corrected percentile %v of %q is %v", p, e.Name, d)
			}
		}
		if e.Avg() < 0 {
			t.Fatalf("%q: average %v", e.Name, e.Avg())
		}
		for _, v := range []float64{e.AvgSize(), e.TotalRPS(), e.CurrentRPS(time.Now()), e.FailRatio()} {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Fatalf("%q: a derived figure is %v", e.Name, v)
			}
		}
	}
	for _, x := range snap.Errors {
		if x.Occurrences < 0 {
			t.Fatalf("error with %d occurrences", x.Occurrences)
		}
	}
}

func FuzzWorkerMessage(f *testing.F) {
	reg := stats.NewRegistry(stats.Options{})
	reg.Record(stats.Sample{Method: "GET", Name: "/a", Duration: 12 * time.Millisecond, Size: 100})
	reg.Record(stats.Sample{Method: "GET", Name: "/a", Duration: 30 * time.Millisecond, Corrected: 40 * time.Millisecond, Size: 100})
	reg.Record(stats.Sample{Method: "POST", Name: "/b", Duration: time.Second, Size: 5, Err: errFuzz{}})
	rep, err := SnapshotToReport(reg.TakeDelta(), 3, map[string]int{"A": 3})
	if err != nil {
		f.Fatal(err)
	}
	for _, m := range []*locustpb.WorkerMessage{
		{Kind: &locustpb.WorkerMessage_Stats{Stats: rep}},
		{Kind: &locustpb.WorkerMessage_Heartbeat{Heartbeat: &locustpb.Heartbeat{State: locustpb.WorkerState_WORKER_STATE_RUNNING, UserCount: 3}}},
		{Kind: &locustpb.WorkerMessage_SpawningComplete{SpawningComplete: &locustpb.SpawningComplete{UserClassCounts: map[string]int64{"A": 3}, UserCount: 3}}},
		{Kind: &locustpb.WorkerMessage_Stats{Stats: &locustpb.StatsReport{Entries: []*locustpb.StatsEntry{{Method: "GET", Name: "/x", NumRequests: 1 << 40,
			TotalTimeUs: 1 << 52, MaxUs: locustpb.MaxSpanUs, FirstSecond: 1, RequestsPerSecond: []int64{1 << 40}}}}}},
	} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(checkWorkerMessage)
}

type errFuzz struct{}

func (errFuzz) Error() string { return "boom" }
