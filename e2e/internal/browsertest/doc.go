// Package browsertest drives headless Chromium from tests (through
// chromedp) and records what must never happen on a page of ours: dialogs,
// console errors and Content-Security-Policy violations.
//
// Tests skip with a clear message when no Chromium is installed, and fail
// instead when LOCUST_REQUIRE_BROWSER=1 (as CI sets it). Because go test
// shows nothing but "ok" for a package that passes, a skip also writes one
// line (MissingLine) to the terminal, once per go test command.
//
// It lives in the e2e module with the tests that use it, so that the
// library's go.mod does not require chromedp.
package browsertest
