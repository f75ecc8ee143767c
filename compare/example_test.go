package compare_test

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/golocust/golocust/compare"
	"github.com/golocust/golocust/stats"
)

// A test records a baseline with --json-file on main and compares a later
// run with it. Here both runs are read from JSON text written the same way.
func Example() {
	base := record(map[string]int{"/cart": 5000, "/checkout": 5000}) // µs
	cur := record(map[string]int{"/cart": 5000, "/checkout": 6000})  // /checkout 20 % slower

	rep := compare.Compare(base, cur, compare.Options{})
	for _, name := range []string{"/cart", "/checkout"} {
		fmt.Printf("%s: %s\n", name, rep.Row("GET "+name).Verdict())
	}
	fmt.Println("regressed:", rep.Regressed())
	// Output:
	// /cart: no significant change
	// /checkout: slower
	// regressed: true
}

// record builds a run's snapshot as Load would read it from a --json-file:
// 2,000 requests per name, spread ±10 % around the given latency.
func record(latency map[string]int) *stats.Snapshot {
	reg := stats.NewRegistry(stats.Options{})
	for name, us := range latency {
		for i := range 2000 {
			d := us * (90 + i%21) / 100
			reg.Record(stats.Sample{Method: "GET", Name: name, Duration: time.Duration(d) * time.Microsecond, Size: 100})
		}
	}
	var b strings.Builder
	if err := stats.WriteJSON(&b, reg.Snapshot()); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	snap, err := compare.Read(strings.NewReader(b.String()), "run.json")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return snap
}
