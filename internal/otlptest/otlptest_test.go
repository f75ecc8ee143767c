package otlptest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
)

// gaugeExport is an export of one int gauge named name, collected at t.
func gaugeExport(name string, v int64, t uint64) *colmetricpb.ExportMetricsServiceRequest {
	return &colmetricpb.ExportMetricsServiceRequest{ResourceMetrics: []*metricpb.ResourceMetrics{{
		ScopeMetrics: []*metricpb.ScopeMetrics{{Metrics: []*metricpb.Metric{{
			Name: name,
			Data: &metricpb.Metric_Gauge{Gauge: &metricpb.Gauge{DataPoints: []*metricpb.NumberDataPoint{{
				TimeUnixNano: t,
				Value:        &metricpb.NumberDataPoint_AsInt{AsInt: v},
			}}}},
		}}}},
	}}}
}

// The latest collection wins, whatever the order the exports arrived in.
func TestLatestOrdersByCollectionTime(t *testing.T) {
	final := gaugeExport("users", 0, 300)
	cut := gaugeExport("users", 4, 200) // recorded after the final one
	exports := []*colmetricpb.ExportMetricsServiceRequest{gaugeExport("users", 4, 100), final, cut, gaugeExport("other", 9, 400)}
	assert.Same(t, final, Latest(exports, "users"))
	v, ok := Gauge(Latest(exports, "users"), "users")
	assert.True(t, ok)
	assert.Zero(t, v)
	assert.Nil(t, Latest(exports, "missing"))
}
