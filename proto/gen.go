package locustpb

// The tools and versions are listed in doc.go.

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative locust.proto
