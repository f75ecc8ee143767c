package locustpb

// The tools and versions are listed in doc.go. The second step refreshes
// the deprecated forwarders at the old import path (../alias.go).

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative locust.proto
//go:generate go run ../genalias.go -src . -out ../alias.go
