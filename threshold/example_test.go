package threshold_test

import (
	"fmt"
	"os"
	"time"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/threshold"
)

func Example() {
	reg := stats.NewRegistry(stats.Options{})
	for i := range 100 {
		d := 20 * time.Millisecond
		if i%10 == 0 {
			d = 120 * time.Millisecond // the slowest 10 %
		}
		reg.Record(stats.Sample{Method: "GET", Name: "/item", Duration: d})
	}

	ths, err := threshold.ParseAll([]string{"p95<300ms", "GET /item:max<50ms", "fail_ratio<1%"})
	if err != nil {
		fmt.Println(err) // a usage error: exit 2
		return
	}
	results := threshold.Evaluate(ths, reg.Snapshot())
	_ = threshold.WriteSummary(os.Stdout, results)
	if !threshold.AllPassed(results) {
		fmt.Println("exit code 3")
	}
	// Output:
	// Thresholds:
	//   PASS  p95<300ms           p95 = 120ms
	//   FAIL  GET /item:max<50ms  max of "GET /item" = 120ms (must be < 50ms)
	//   PASS  fail_ratio<1%       fail_ratio = 0%
	// 2 of 3 thresholds held, 1 breached
	// exit code 3
}

func ExampleParse() {
	_, err := threshold.Parse("p95<300")
	fmt.Println(err)
	// Output:
	// invalid threshold "p95<300": p95 needs a time unit (ns, us, ms, s, m, h), e.g. p95<300ms (examples: p95<300ms, p99.9<1s, avg<100ms, fail_ratio<0.01, rps>500, "GET /item:p99<500ms")
}

// A bound relative to a baseline run (in a program, the --json-file of an
// earlier run, read by package compare): /checkout may be at most 10 %
// slower at p95 than it was.
func ExampleEvaluateAgainst() {
	run := func(checkout time.Duration) *stats.Snapshot {
		reg := stats.NewRegistry(stats.Options{})
		for range 100 {
			reg.Record(stats.Sample{Method: "POST", Name: "/checkout", Duration: checkout})
		}
		return reg.Snapshot()
	}
	base, branch := run(100*time.Millisecond), run(120*time.Millisecond)
	ths, _ := threshold.ParseAll([]string{"/checkout:p95<baseline*1.10", "/checkout:p95<=baseline*125%"})
	_ = threshold.WriteSummary(os.Stdout, threshold.EvaluateAgainst(ths, branch, base, nil))
	// Output:
	// Thresholds:
	//   FAIL  /checkout:p95<baseline*1.10   p95 of "/checkout" = 120ms (must be < 110ms)
	//   PASS  /checkout:p95<=baseline*125%  p95 of "/checkout" = 120ms
	// 1 of 2 thresholds held, 1 breached
}
