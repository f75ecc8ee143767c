package locustpb

// alias.go forwards every exported identifier of ./locustpb; regenerate it
// after locust.proto or the helpers there change (go generate ./proto/...
// runs both steps).

//go:generate go run genalias.go
