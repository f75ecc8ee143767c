package runner

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	gproto "google.golang.org/protobuf/proto"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/stats"
)

// foldEvery is how many reports arrive per mergeInterval from 1,000
// workers reporting every 3 s (333 reports/s × 250 ms).
const foldEvery = 83

// BenchmarkMasterMergeReport measures the master's work for one worker's
// stats report of 100 names: unmarshal the message (gRPC does it on the
// master), validate it, decode it (ReportSum.Add) and merge it into the
// master's registry. 1,000 workers reporting every 3 s send 333 reports/s,
// so the budget of 10 % of one core is 300 µs per report.
//
// samples is the samples per name in one report: 30 is a worker doing
// 1,000 requests/s over 100 names; 1000 is 33,000 requests/s per worker,
// where every histogram is dense.
//
//	go test -run '^$' -bench BenchmarkMasterMergeReport -benchtime 2000x ./runner/
func BenchmarkMasterMergeReport(b *testing.B) {
	for _, samples := range []int{30, 1000} {
		b.Run(fmt.Sprintf("names=100/samples=%d", samples), func(b *testing.B) {
			const variants = 8 // distinct reports, as from different workers
			msgs := make([][]byte, variants)
			rng := rand.New(rand.NewPCG(1, 2))
			for v := range msgs {
				w := stats.NewRegistry(stats.Options{})
				for n := range 100 {
					name := fmt.Sprintf("/api/v1/resource/%d", n)
					for range samples {
						w.Record(stats.Sample{Method: "GET", Name: name, Duration: time.Duration(rng.ExpFloat64()*20_000+300) * time.Microsecond, Size: 512})
					}
				}
				r, err := SnapshotToReport(w.TakeDelta(), 100, map[string]int{"A": 100})
				if err != nil {
					b.Fatal(err)
				}
				msgs[v], err = gproto.Marshal(&locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Stats{Stats: r}})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(msgs[0])), "bytes/report")
			master := stats.NewRegistry(stats.Options{})
			coal := newCoalescer(master)
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				var m locustpb.WorkerMessage
				if err := gproto.Unmarshal(msgs[i%variants], &m); err != nil {
					b.Fatal(err)
				}
				if err := locustpb.ValidateWorkerMessage(&m, locustpb.Limits{}); err != nil {
					b.Fatal(err)
				}
				if err := coal.add(m.GetStats(), "w"); err != nil {
					b.Fatal(err)
				}
				i++
				if i%foldEvery == 0 {
					coal.fold()
				}
			}
			perReport := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(perReport/1000, "µs/report")
			// 1,000 workers every 3 s: 333.3 reports per second.
			b.ReportMetric(perReport*1000/3/1e9*100, "%core@1000workers")
		})
	}
}
