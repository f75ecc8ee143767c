// Package deploy holds what it takes to run a golocust load test in
// containers: a Dockerfile template that builds the user's own load-test
// binary (a main package calling locust.Main) into a small non-root image,
// and a kustomize base for Kubernetes under k8s/base (a master Deployment
// and Service, autoscaled workers, a Secret for the worker token and the
// cluster's TLS material) with an example overlay under k8s/overlays.
//
// The package has no Go API. Its tests (in the e2e module, e2e/deploy, so
// that the library's go.mod does not require the Kubernetes API modules)
// validate the files without a cluster: every manifest is decoded strictly
// into the Kubernetes API types (an unknown or misspelt field is an
// error), and the wiring is checked against what the binary serves: the workers dial the master Service on
// the master's gRPC port, probes ask /healthz and /readyz on the ports the
// binary listens on, the worker token comes from the Secret, the
// autoscaler targets the worker Deployment, and the pods run as the
// image's non-root user with a read-only root filesystem. README.md walks
// from `go run` on a laptop to a cluster of workers.
package deploy
