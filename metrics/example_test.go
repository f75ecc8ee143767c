package metrics_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/golocust/golocust/metrics"
	"github.com/golocust/golocust/stats"
)

func Example() {
	reg := stats.NewRegistry(stats.Options{})
	reg.Record(stats.Sample{Method: "GET", Name: "/item", Duration: 12 * time.Millisecond})

	// The runner side supplies the source; here only the statistics.
	h := metrics.Handler(metrics.Funcs{
		SnapshotFunc:   reg.Snapshot,
		UserCountsFunc: func() map[string]int { return map[string]int{"Shopper": 3} },
	})
	srv := httptest.NewServer(h) // in golocust: GET /metrics on the web port
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "locust_requests_total") || strings.HasPrefix(line, "locust_users") ||
			strings.HasPrefix(line, `locust_response_time_seconds_bucket{method="GET",name="/item",le="0.025"}`) {
			fmt.Println(line)
		}
	}
	// Output:
	// locust_requests_total{method="GET",name="/item"} 1
	// locust_response_time_seconds_bucket{method="GET",name="/item",le="0.025"} 1
	// locust_users{class="Shopper"} 3
}
