// Package telemetry exports a run's statistics over OTLP, the OpenTelemetry
// protocol (Locust's --otel): the request durations as the histogram
// locust.client.duration (seconds, one series per method and name) and the
// number of running users as the gauge locust.users.count.
//
// It reads the statistics when the exporter collects, not per request: the
// stats registry already holds every request's duration in an
// HdrHistogram, so enabling OpenTelemetry adds nothing to the hot path.
// The buckets are counted from those histograms (exact to their 0.1%
// precision); Count, Sum, Min and Max are exact. The series are
// cumulative from the start of the test (Snapshot.Start), so a new test or
// a stats reset starts new series, as OTLP expects after a reset.
//
// Configuration follows the OpenTelemetry SDK's standard variables:
// OTEL_EXPORTER_OTLP_ENDPOINT (or _METRICS_ENDPOINT), _HEADERS, _TIMEOUT,
// _INSECURE, _CERTIFICATE, _COMPRESSION; OTEL_EXPORTER_OTLP_PROTOCOL (or
// _METRICS_PROTOCOL): grpc (the default, as in Locust) or http/protobuf;
// OTEL_METRICS_EXPORTER: otlp (default) or none; OTEL_METRIC_EXPORT_INTERVAL
// and _TIMEOUT (the SDK's 60 s and 30 s by default); OTEL_SERVICE_NAME
// (default "locust", as in Locust) and OTEL_RESOURCE_ATTRIBUTES.
//
// Traces: with Options.Spans, the slowest traced requests of each name
// (stats.Entry.Exemplars, kept when requests carry a W3C traceparent, see
// --traceparent) are exported as client spans over OTLP traces, at each
// collection and once each: the span has the request's own trace and span
// ids (so the target's server span is its child), the entry's name, and
// the request's start and end. Only the kept requests get a span, not
// every request: the hot path stays free of tracing, and a tracing backend
// gets the requests worth opening. The histogram's data points carry the
// same requests as exemplars. OTEL_TRACES_EXPORTER=none turns the spans
// off; OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and _PROTOCOL override the
// shared settings.
//
// Start begins periodic export; Shutdown exports once more, so that the
// final numbers of a run are sent, and stops. The only goroutine the
// package starts (the SDK's periodic reader, and with Spans its batch span
// processor) end with Shutdown.
package telemetry
