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
