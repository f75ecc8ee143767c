// Package locustpb is golocust's master/worker wire protocol: locust.proto
// and the Go code protoc generates from it (committed), plus the few helpers
// both ends need — the protocol version and its compatibility rule,
// validation of decoded messages, and the compact histogram encoding used in
// stats reports.
//
// A worker keeps one bidirectional stream (Cluster.Connect) open for its
// whole life. It sends WorkerMessage envelopes; the master answers with
// MasterMessage envelopes. Each envelope is a oneof of typed messages:
//
//	worker → master: Hello, Heartbeat, Spawning, SpawningComplete, StatsReport, Stopped, Quit, Custom, Goodbye
//	master → worker: Ack, Heartbeat, Spawn, SpawningComplete, Stop, Quit, Reconnect, Custom, Goodbye
//
// The transport package moves these messages; the runners decide what they
// mean.
//
// # Regenerating
//
// After editing locust.proto, run from the module root:
//
//	go generate ./proto/locustpb
//
// which runs (see gen.go)
//
//	protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative locust.proto
//
// and then refreshes the deprecated forwarders at the old import path
// github.com/golocust/golocust/proto (../alias.go, checked by its tests).
//
// with these tools on PATH (the generated code must match the
// google.golang.org/protobuf and google.golang.org/grpc versions in go.mod):
//
//	apt-get update && apt-get install -y protobuf-compiler   # protoc 3.21.12 (Debian 12)
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//
// # Histograms
//
// StatsEntry.histogram and corrected_histogram carry an HdrHistogram in the
// standard V2 compressed format (zlib), as raw bytes (without the base64 that
// hdrhistogram-go's Encode adds). Measured with 1000 log-normal samples per
// histogram at 3 significant digits, that is about 720 bytes per histogram,
// against about 1720 bytes for a plain run-length encoding of the non-zero
// buckets; so V2 it is (TestStatsReportWireSize measures both). A
// StatsReport with 100 such names is 81,425 bytes on the wire (153,759 with
// corrected histograms as well).
//
// EncodeHistogram and DecodeHistogram convert; MergeHistogram adds an
// encoded histogram straight into an existing one (the master's path: no
// intermediate histogram). Both bound the geometry a peer can make the
// receiver allocate or walk (at most 3 significant digits, values up to
// 2^40).
package locustpb
