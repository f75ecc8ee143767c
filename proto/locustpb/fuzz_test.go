package locustpb_test

import (
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"google.golang.org/protobuf/proto"

	"github.com/golocust/golocust/proto/locustpb"
)

// decodeWorkerMessage is what a master does with bytes from a worker:
// unmarshal the envelope, validate it, decode its histograms. It must never
// panic, and whatever it accepts must be valid.
func decodeWorkerMessage(t *testing.T, b []byte) {
	var m locustpb.WorkerMessage
	if err := proto.Unmarshal(b, &m); err != nil {
		return
	}
	if err := locustpb.ValidateWorkerMessage(&m, locustpb.Limits{}); err != nil {
		return
	}
	if m.GetKind() == nil {
		t.Fatal("accepted an envelope with no kind")
	}
	if h := m.GetHello(); h != nil && (h.GetWorkerId() == "" || len(h.GetWorkerId()) > locustpb.DefaultLimits.MaxIDLen) {
		t.Fatalf("accepted a bad hello %v", h)
	}
	for _, e := range m.GetStats().GetEntries() {
		if e.GetNumRequests() < 0 || e.GetNumFailures() < 0 {
			t.Fatalf("accepted negative counts %v", e)
		}
		for _, hb := range [][]byte{e.GetHistogram(), e.GetCorrectedHistogram()} {
			h, err := locustpb.DecodeHistogram(hb)
			if err == nil && h != nil && h.TotalCount() < 0 {
				t.Fatalf("decoded a negative histogram")
			}
			dst := hdrhistogram.New(1, 3_600_000_000, 3)
			if err := locustpb.MergeHistogram(dst, hb); err == nil && dst.TotalCount() < 0 {
				t.Fatalf("merged a negative histogram")
			}
		}
	}
	// Whatever is accepted must survive a round trip.
	out, err := proto.Marshal(&m)
	if err != nil {
		t.Fatalf("re-marshal: %v", err)
	}
	var again locustpb.WorkerMessage
	if err := proto.Unmarshal(out, &again); err != nil {
		t.Fatalf("re-unmarshal: %v", err)
	}
}

func FuzzDecodeWorkerMessage(f *testing.F) {
	seeds := []*locustpb.WorkerMessage{
		{Kind: &locustpb.WorkerMessage_Hello{Hello: &locustpb.Hello{WorkerId: "host_abc", Version: locustpb.Version, Hostname: "host", Pid: 1, CpuCount: 2}}},
		{Kind: &locustpb.WorkerMessage_Heartbeat{Heartbeat: &locustpb.Heartbeat{State: locustpb.WorkerState_WORKER_STATE_RUNNING, CpuPercent: 12.5, MemoryBytes: 1 << 20, UserCount: 3}}},
		{Kind: &locustpb.WorkerMessage_Spawning{Spawning: &locustpb.Spawning{Sequence: 4}}},
		{Kind: &locustpb.WorkerMessage_SpawningComplete{SpawningComplete: &locustpb.SpawningComplete{UserClassCounts: map[string]int64{"A": 1}, UserCount: 1}}},
		{Kind: &locustpb.WorkerMessage_Stopped{Stopped: &locustpb.Stopped{}}},
		{Kind: &locustpb.WorkerMessage_Quit{Quit: &locustpb.Quit{Reason: "bye"}}},
		{Kind: &locustpb.WorkerMessage_Custom{Custom: &locustpb.Custom{Type: "acknowledge_users", Data: []byte(`{"n":1}`)}}},
		{Kind: &locustpb.WorkerMessage_Goodbye{Goodbye: &locustpb.Goodbye{}}},
		{},
	}
	for _, s := range seeds {
		b, err := proto.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// A small stats report with a real histogram.
	full := statsReport100(f, true)
	full.GetStats().Entries = full.GetStats().Entries[:2]
	b, err := proto.Marshal(full)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{0x2a, 0x03, 0x0a, 0x01, 0xff}) // truncated stats
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(decodeWorkerMessage)
}
