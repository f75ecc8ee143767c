package runner

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gproto "google.golang.org/protobuf/proto"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/stats"
)

// The fixtures in testdata/wire are worker stats reports as they travel
// (marshalled WorkerMessages) and the merged numbers the master computed
// from them when they were recorded (merged.json, by the decoder and merge
// code of the time). Replaying them through today's decoder and merge must
// give the same numbers, so a change to either is caught. -update-wire
// records new fixtures (only when the wire format itself changes).
var updateWire = flag.Bool("update-wire", false, "record the wire fixtures in testdata/wire anew")

const wireFixtureDir = "testdata/wire"

// fixtureEntry is what the fixtures pin of a merged entry.
type fixtureEntry struct {
	Method, Name               string
	Requests, Failures, Bytes  int64
	TotalUs, MinUs, MaxUs      int64
	StartUnixUs, LastUnixUs    int64
	HistCount, CorrCount       int64
	PercentilesUs, CorrectedUs []int64
	ReqPerSec, FailPerSec      map[int64]int64
}

type fixtureErr struct {
	Method, Name, Message string
	Occurrences           int64
}

type fixtureMerged struct {
	Entries    []fixtureEntry
	Total      fixtureEntry
	Errors     []fixtureErr
	Exceptions []string // "count nodes message"
	Omitted    int64
}

func fixtureOf(e *stats.Entry) fixtureEntry {
	f := fixtureEntry{
		Method: e.Method, Name: e.Name,
		Requests: e.NumRequests, Failures: e.NumFailures, Bytes: e.TotalBytes,
		TotalUs: e.TotalTime.Microseconds(), MinUs: e.Min.Microseconds(), MaxUs: e.Max.Microseconds(),
		StartUnixUs: unixUs(e.Start), LastUnixUs: unixUs(e.LastRequest),
		ReqPerSec: e.ReqPerSec, FailPerSec: e.FailPerSec,
	}
	if e.Hist != nil {
		f.HistCount = e.Hist.TotalCount()
	}
	if e.CorrectedHist != nil {
		f.CorrCount = e.CorrectedHist.TotalCount()
	}
	for _, p := range stats.ReportPercentiles {
		f.PercentilesUs = append(f.PercentilesUs, e.Percentile(p).Microseconds())
		if e.CorrectedHist != nil {
			f.CorrectedUs = append(f.CorrectedUs, e.CorrectedPercentile(p).Microseconds())
		}
	}
	return f
}

func mergedOf(s *stats.Snapshot) fixtureMerged {
	m := fixtureMerged{Total: fixtureOf(s.Total)}
	for _, e := range s.Entries {
		m.Entries = append(m.Entries, fixtureOf(e))
	}
	for _, x := range s.Errors {
		m.Errors = append(m.Errors, fixtureErr{x.Method, x.Name, x.Message, x.Occurrences})
	}
	for _, x := range s.Exceptions {
		m.Exceptions = append(m.Exceptions, fmt.Sprintf("%d %v %s", x.Count, x.Nodes, x.Message))
	}
	if s.Omitted != nil {
		m.Omitted = s.Omitted.TotalCount()
	}
	return m
}

// recordWireFixtures writes the reports of three workers.
func recordWireFixtures(t *testing.T) {
	require.NoError(t, os.MkdirAll(wireFixtureDir, 0o755))
	rng := rand.New(rand.NewPCG(7, 11))
	at := time.Unix(1_800_000_000, 0)
	for w := range 3 {
		clk := &fakeClock{t: at}
		reg := stats.NewRegistry(stats.Options{Now: clk.now, MaxNames: 10_000})
		for report := range 2 {
			for i := range 400 {
				if i%40 == 0 {
					clk.t = clk.t.Add(300 * time.Millisecond)
				}
				s := stats.Sample{
					Method:   []string{"GET", "POST"}[i%2],
					Name:     fmt.Sprintf("/n%d", rng.IntN(7)),
					Duration: time.Duration(1+rng.IntN(900_000)) * time.Microsecond,
					Size:     int64(rng.IntN(5000)),
				}
				if w == 1 {
					s.Corrected = s.Duration + time.Duration(rng.IntN(5000))*time.Microsecond
				}
				if rng.IntN(100) < 7 {
					s.Err = fmt.Errorf("HTTP %d", 500+rng.IntN(3))
				}
				reg.Record(s)
			}
			if w == 2 {
				reg.RecordOmitted(time.Duration(10+report) * time.Millisecond)
				reg.RecordException("boom", "stack of worker 2")
			}
			r, err := SnapshotToReport(reg.TakeDelta(), 10, map[string]int{"A": 10})
			require.NoError(t, err)
			b, err := gproto.Marshal(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Stats{Stats: r}})
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(wireFixtureDir, fmt.Sprintf("report-w%d-%d.bin", w, report)), b, 0o644))
		}
	}
}

// replayWireFixtures merges the fixtures into a master registry through
// the decoder (via "snapshot") or the master's coalescer (via "coalescer").
func replayWireFixtures(t *testing.T, via string) *stats.Snapshot {
	files, err := filepath.Glob(filepath.Join(wireFixtureDir, "report-*.bin"))
	require.NoError(t, err)
	require.Len(t, files, 6)
	slices.Sort(files)
	clk := &fakeClock{t: time.Unix(1_800_000_010, 0)}
	master := stats.NewRegistry(stats.Options{Now: clk.now, MaxNames: 10_000})
	coal := newCoalescer(master)
	for i, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var m locustpb.WorkerMessage
		require.NoError(t, gproto.Unmarshal(b, &m))
		require.NoError(t, locustpb.ValidateWorkerMessage(&m, locustpb.Limits{}))
		node := filepath.Base(f)[len("report-") : len("report-")+2]
		if via == "snapshot" {
			snap, err := ReportToSnapshot(m.GetStats(), node)
			require.NoError(t, err)
			master.Merge(snap)
			continue
		}
		require.NoError(t, coal.add(m.GetStats(), node))
		if i%2 == 1 {
			coal.fold()
		}
	}
	coal.fold()
	return master.Snapshot()
}

// One merge gives the numbers recorded in the fixtures, by either path.
func TestWireFixturesMergeToRecordedNumbers(t *testing.T) {
	golden := filepath.Join(wireFixtureDir, "merged.json")
	if *updateWire {
		recordWireFixtures(t)
		b, err := json.MarshalIndent(mergedOf(replayWireFixtures(t, "snapshot")), "", " ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(golden, b, 0o644))
	}
	b, err := os.ReadFile(golden)
	require.NoError(t, err)
	var want fixtureMerged
	require.NoError(t, json.Unmarshal(b, &want))
	require.NotEmpty(t, want.Entries)
	require.NotZero(t, want.Total.CorrCount, "the fixtures hold corrected latencies")
	require.NotZero(t, want.Omitted, "the fixtures hold omitted samples")
	for _, via := range []string{"snapshot", "coalescer"} {
		t.Run(via, func(t *testing.T) {
			got := mergedOf(replayWireFixtures(t, via))
			assert.Equal(t, want, got)
		})
	}
}
