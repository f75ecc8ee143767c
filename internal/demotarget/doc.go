// Package demotarget is a small web shop that golocust's examples and
// tests load-test when no -H is given. It listens on 127.0.0.1 only, adds
// a small random latency to each answer, fails a small share of requests
// with HTTP 500, and counts every request it receives so that tests can
// compare its count with the load tester's statistics.
package demotarget
