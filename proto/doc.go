// Package locustpb is the old import path of golocust's master/worker wire
// protocol, kept so that code written against it keeps compiling: every
// exported identifier forwards to the package that now holds the protocol
// (types are aliases, so values pass freely between the two).
//
// Deprecated: use github.com/golocust/golocust/proto/locustpb.
package locustpb
