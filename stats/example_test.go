package stats_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/golocust/golocust/stats"
)

func ExampleRegistry() {
	r := stats.NewRegistry(stats.Options{})
	for i := 1; i <= 100; i++ {
		r.Record(stats.Sample{Method: "GET", Name: "/item", Duration: time.Duration(i) * time.Millisecond, Size: 512})
	}
	r.Record(stats.Sample{Method: "POST", Name: "/cart", Duration: 3 * time.Millisecond, Err: errors.New("HTTP 503")})

	s := r.Snapshot()
	for _, e := range s.Entries {
		fmt.Printf("%s %s: %d requests, %d failures, median %v, p99 %v, max %v\n",
			e.Method, e.Name, e.NumRequests, e.NumFailures, e.Median(), e.Percentile(0.99), e.Max)
	}
	fmt.Println(s.Total.Name, s.Total.NumRequests, s.Total.NumFailures)
	fmt.Println(s.Errors[0].Method, s.Errors[0].Name, s.Errors[0].Message, s.Errors[0].Occurrences)
	// Output:
	// POST /cart: 1 requests, 1 failures, median 3ms, p99 3ms, max 3ms
	// GET /item: 100 requests, 0 failures, median 50.015ms, p99 100ms, max 100ms
	// Aggregated 101 1
	// POST /cart HTTP 503 1
}

// A worker sends what it recorded since its last report; the master adds
// the deltas up exactly.
func ExampleRegistry_Merge() {
	master := stats.NewRegistry(stats.Options{})
	for w := range 3 {
		worker := stats.NewRegistry(stats.Options{})
		for i := range 1000 {
			worker.Record(stats.Sample{Method: "GET", Name: "/", Duration: time.Duration(w*1000+i) * time.Microsecond})
		}
		master.Merge(worker.TakeDelta())
	}
	t := master.Snapshot().Total
	fmt.Println(t.NumRequests, t.Min, t.Max, t.Hist.TotalCount())
	// Output: 3000 0s 2.999ms 3000
}

func ExampleWriteStatsCSV() {
	clock := time.Unix(1_800_000_000, 0)
	r := stats.NewRegistry(stats.Options{Now: func() time.Time { return clock }})
	for i := 1; i <= 4; i++ {
		clock = clock.Add(time.Second)
		r.Record(stats.Sample{Method: "GET", Name: "/", Duration: time.Duration(i) * 10 * time.Millisecond, Size: 100})
	}
	var b bytes.Buffer
	_ = stats.WriteStatsCSV(&b, r.Snapshot())
	// Rows end in \r\n, as Python's csv module (and so Locust) writes them.
	fmt.Print(strings.ReplaceAll(b.String(), "\r\n", "\n"))
	// Output:
	// Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
	// GET,/,4,0,20,25.0,10.0,40.0,100.0,1.0,0.0,30,30,40,40,40,40,40,40,40,40,40
	// ,Aggregated,4,0,20,25.0,10.0,40.0,100.0,1.0,0.0,30,30,40,40,40,40,40,40,40,40,40
}

func ExampleHistory() {
	h := stats.NewHistory(2)
	for users := range 3 {
		h.Append(stats.HistoryPoint{UserCount: users * 10})
	}
	for _, p := range h.Points() {
		fmt.Println(p.UserCount)
	}
	// Output:
	// 10
	// 20
}

func ExampleWriteConsoleStats() {
	clock := time.Unix(1_800_000_000, 0)
	r := stats.NewRegistry(stats.Options{Now: func() time.Time { return clock }})
	for i := range 30 {
		r.Record(stats.Sample{Method: "GET", Name: "/item", Duration: time.Duration(10+i%3) * time.Millisecond})
		if i%10 == 0 {
			r.Record(stats.Sample{Method: "POST", Name: "/cart", Duration: 40 * time.Millisecond, Err: errors.New("HTTP 500")})
		}
		clock = clock.Add(100 * time.Millisecond)
	}
	stats.WriteConsoleStats(os.Stdout, r.Snapshot(), clock, true)
	// Output:
	// Type     Name                                                      # reqs      # fails |    Avg     Min     Max    Med |   req/s  failures/s
	// --------|--------------------------------------------------------|-------|-------------|-------|-------|-------|-------|--------|-----------
	// POST     /cart                                                          3   3(100.00%) |     40      40      40     40 |    1.03        1.03
	// GET      /item                                                         30     0(0.00%) |     11      10      12     11 |   10.34        0.00
	// --------|--------------------------------------------------------|-------|-------------|-------|-------|-------|-------|--------|-----------
	//          Aggregated                                                    33     3(9.09%) |     13      10      40     11 |   11.38        1.03
}

// CSVCell quotes a cell a spreadsheet would run as a formula.
func ExampleCSVCell() {
	fmt.Println(stats.CSVCell("=HYPERLINK(\"x\")"))
	fmt.Println(stats.CSVCell("/api/items"))
	// Output:
	// '=HYPERLINK("x")
	// /api/items
}

// A request that carried a traceparent is recorded with its ids; each
// name keeps its slowest traced requests as exemplars, and
// ExemplarsAtPercentile gives the ones behind a percentile.
func ExampleEntry_ExemplarsAtPercentile() {
	r := stats.NewRegistry(stats.Options{})
	for i := 1; i <= 200; i++ {
		s := stats.Sample{Method: "GET", Name: "/checkout", Duration: time.Duration(i) * time.Millisecond}
		s.TraceID[15], s.SpanID[7] = byte(i), byte(i) // from the request's traceparent
		r.Record(s)
	}
	e := r.Snapshot().Entries[0]
	fmt.Println("kept:", len(e.Exemplars))
	for _, x := range e.ExemplarsAtPercentile(0.99) {
		fmt.Println(x.TraceID, x.Duration)
	}
	// Output:
	// kept: 10
	// 000000000000000000000000000000c8 200ms
	// 000000000000000000000000000000c7 199ms
}
