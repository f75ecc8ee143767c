package report_test

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/golocust/golocust/report"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/threshold"
)

func Example() {
	reg := stats.NewRegistry(stats.Options{})
	for i := 1; i <= 100; i++ {
		reg.Record(stats.Sample{Method: "GET", Name: "/item", Duration: time.Duration(i) * time.Millisecond})
	}
	snap := reg.Snapshot()
	ths := threshold.Evaluate([]threshold.Threshold{threshold.MustParse("p95<300ms")}, snap)

	var buf bytes.Buffer // in golocust: the --html file
	err := report.Write(&buf, report.Data{
		Host:       "http://127.0.0.1:8080",
		Users:      10,
		Classes:    []report.Class{{Name: "Shopper", Users: 10, Tasks: []report.TaskShare{{Name: "Browse", Share: 1}}}},
		Snapshot:   snap,
		Thresholds: ths,
	})
	fmt.Println(err)
	page := buf.String()
	fmt.Println(strings.HasPrefix(page, "<!DOCTYPE html>"))
	fmt.Println(strings.Contains(page, `<td class="text">/item</td><td>100</td>`))
	fmt.Println(strings.Contains(page, `<span class="pass">all 1 passed</span>`))
	// Output:
	// <nil>
	// true
	// true
	// true
}
