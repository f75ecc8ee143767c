package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// Find returns the Chromium to drive, or skips the test (fails it when
// LOCUST_REQUIRE_BROWSER=1).
func Find(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found in PATH: install it (apt-get install -y chromium) to run the browser tests"
	if os.Getenv("LOCUST_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + " (LOCUST_REQUIRE_BROWSER=1 makes them required)")
	}
	announceMissing()
	t.Skip(msg)
	return ""
}

// MissingLine is the line a terminal shows when the browser tests skip.
const MissingLine = "golocust: browser tests SKIPPED: no Chromium in PATH (apt-get install -y chromium runs them; LOCUST_REQUIRE_BROWSER=1 makes them required)"

var announce sync.Once

// announceMissing writes MissingLine to the terminal once per go test
// command. go test prints nothing but "ok" for a package that passes, so
// a skip message alone is seen only under -v; the terminal (/dev/tty)
// is the one place a passing package can still say something. Packages
// run as separate processes of the same go command: a marker file named
// after that command's process keeps it to one line. Without a terminal
// (CI) nothing is written: CI sets LOCUST_REQUIRE_BROWSER=1.
func announceMissing() {
	announce.Do(func() {
		tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer tty.Close()
		dir := os.TempDir()
		if old, _ := filepath.Glob(filepath.Join(dir, "golocust-no-chromium-*")); len(old) > 0 {
			for _, f := range old { // markers of earlier go test commands
				if fi, err := os.Stat(f); err == nil && time.Since(fi.ModTime()) > time.Hour {
					_ = os.Remove(f)
				}
			}
		}
		marker := filepath.Join(dir, fmt.Sprintf("golocust-no-chromium-%d", os.Getppid()))
		f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return // another package of this go test said it
		}
		_ = f.Close()
		_, _ = fmt.Fprintln(tty, MissingLine)
	})
}

// Browser is one headless Chromium tab.
type Browser struct {
	t        testing.TB
	Ctx      context.Context
	mu       sync.Mutex
	console  []string
	dialogs  []string
	wg       sync.WaitGroup
	once     sync.Once
	shutdown func()
}

// Close stops Chromium (it also stops when the test ends). A test that
// listens to events of its own calls it before waiting for its listeners.
func (b *Browser) Close() { b.once.Do(b.shutdown) }

// New starts Chromium with the flags this machine needs (no sandbox as
// root, no background networking, a fresh profile) plus extra, and stops
// it when the test ends.
func New(t testing.TB, extra ...chromedp.ExecAllocatorOption) *Browser {
	t.Helper()
	exe := Find(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1000),
	)
	opts = append(opts, extra...)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &Browser{t: t, Ctx: ctx}
	b.shutdown = func() {
		_ = chromedp.Cancel(ctx)
		cancel()
		acancel()
		b.wg.Wait()
	}
	t.Cleanup(b.Close)
	require.NoError(t, chromedp.Do(ctx), "starting Chromium")

	// Report CSP violations from inside the page too (the injected script
	// is not subject to the page's CSP).
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__csp = []; document.addEventListener('securitypolicyviolation',
			e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`,
	})
	require.NoError(t, err)

	messages := chromedp.Console(ctx)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	b.wg.Add(2)
	go func() {
		defer b.wg.Done()
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, fmt.Sprintf("%s [%s] %s:%d", m, m.Source, m.URL, m.Line+1))
			b.mu.Unlock()
		}
	}()
	go func() {
		defer b.wg.Done()
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, ev.Message)
			b.mu.Unlock()
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return b
}

// Do runs actions with a 20 s deadline and fails the test on error.
func (b *Browser) Do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 20*time.Second)
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, steps...))
}

// Eval evaluates a JavaScript expression that yields a string.
func (b *Browser) Eval(js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	require.NoError(b.t, err, js)
	return v
}

// WaitJS polls a boolean expression until it holds, failing the test
// after 20 s.
func (b *Browser) WaitJS(js string, what string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s: %s (last error %v)", what, js, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SetValue sets the value of the input with the given id.
func (b *Browser) SetValue(id, v string) {
	b.t.Helper()
	b.Do(chromedp.SetValue(chromedp.ID(id), v))
}

// Click clicks the first element matching a CSS selector.
func (b *Browser) Click(sel string) {
	b.t.Helper()
	b.Do(chromedp.Click(chromedp.CSS(sel)))
}

// Screenshot writes a full-page PNG.
func (b *Browser) Screenshot(path string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err)
	require.NoError(b.t, os.WriteFile(path, png, 0o644))
}

// Problems returns console errors and warnings, CSP violations and
// dialogs, less the console lines expected says the test caused on purpose.
func (b *Browser) Problems(expected func(consoleLine string) bool) []string {
	b.t.Helper()
	csp := b.Eval(`JSON.stringify(window.__csp || [])`)
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		if expected != nil && expected(m) {
			continue
		}
		if strings.HasPrefix(m, "error") || strings.HasPrefix(m, "exception") || strings.HasPrefix(m, "warning") ||
			strings.Contains(m, "Content Security Policy") {
			out = append(out, "console: "+m)
		}
	}
	if csp != "[]" {
		out = append(out, "CSP violations: "+csp)
	}
	for _, d := range b.dialogs {
		out = append(out, "dialog opened: "+d)
	}
	return out
}

// Dialogs returns the messages of the dialogs that opened.
func (b *Browser) Dialogs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.dialogs...)
}
