package telemetry_test

import (
	"context"
	"fmt"
	"time"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/telemetry"
)

// Exporting a registry's numbers over OTLP. Where they go is configured by
// the standard variables, e.g. OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317
// and OTEL_METRIC_EXPORT_INTERVAL=5000; locust.Config.OTel (--otel) does
// this for a run.
func Example() {
	reg := stats.NewRegistry(stats.Options{})
	users := func() int { return 10 }
	exp, err := telemetry.Start(context.Background(), telemetry.Options{Snapshot: reg.Snapshot, Users: users})
	if err != nil {
		fmt.Println(err)
		return
	}
	reg.Record(stats.Sample{Method: "GET", Name: "/", Duration: 12 * time.Millisecond})
	// ... the run ...
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = exp.Shutdown(ctx) // sends the final numbers
}
