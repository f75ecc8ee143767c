// Package otlptest is a real OTLP metrics and traces receiver for tests:
// it serves the OpenTelemetry collector's metrics and trace services over
// gRPC and OTLP/HTTP (protobuf) on 127.0.0.1 and keeps every export it
// receives, so that a test can assert the data points and spans an
// exporter sent.
package otlptest
