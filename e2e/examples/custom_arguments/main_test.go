package customarguments

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/golocust/golocust/e2e/internal/browsertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// target counts the requests by the parameter values they carry.
type target struct {
	*httptest.Server
	mu   sync.Mutex
	seen map[string]int64 // "arg=... env=... flag=... invisible=... secret=..." -> requests
}

func newTarget(t *testing.T) *target {
	tg := &target{seen: map[string]int64{}}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		key := "arg=" + q.Get("arg") + " env=" + q.Get("env") + " flag=" + q.Get("flag") +
			" invisible=" + q.Get("invisible") + " secret=" + r.Header.Get("X-Secret")
		tg.mu.Lock()
		tg.seen[key]++
		tg.mu.Unlock()
	}))
	t.Cleanup(tg.Close)
	return tg
}

func (tg *target) counts() map[string]int64 {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	out := map[string]int64{}
	for k, v := range tg.seen {
		out[k] = v
	}
	return out
}

// startUI builds the example (a main package, which a test of another
// module cannot import) and runs it with its web UI on a free port until
// the test ends; it returns the UI's base URL and a func that ends the run
// with an interrupt, as Ctrl-C would, and returns its output.
func startUI(t *testing.T, args ...string) (string, func() string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "custom_arguments")
	build := exec.Command("go", "build", "-o", bin, "github.com/golocust/golocust/examples/custom_arguments")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building the example: %s", out)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, append([]string{"-P", strconv.Itoa(port), "--json"}, args...)...)
	cmd.Env = append(os.Environ(), "LOCUST_MY_UI_PASSWORD_ARGUMENT=s3cret")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	ready := func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	for deadline := time.Now().Add(20 * time.Second); !ready(); {
		select {
		case err := <-exited:
			t.Fatalf("the example exited (%v) before its web UI was ready: %s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			t.Fatalf("web UI not ready at %s after 20 s: %s", base, stderr.String())
		}
	}
	ended := false
	end := func() string {
		if !ended {
			ended = true
			require.NoError(t, cmd.Process.Signal(os.Interrupt))
			select {
			case err := <-exited:
				assert.NoError(t, err, "exit status after an interrupt: %s", stderr.String())
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
				t.Errorf("the example did not end within 30 s of an interrupt: %s", stderr.String())
			}
		}
		return stdout.String()
	}
	t.Cleanup(func() { end(); http.DefaultClient.CloseIdleConnections() })
	return base, end
}

// In Chromium: -u, -r, -t and -H prefill the form; the custom parameters
// show as a text field, a drop-down, a masked field, a checkbox and a
// number; what the user picks reaches every request of the test.
func TestBrowserPrefillsTheFormAndSetsCustomParameters(t *testing.T) {
	browsertest.Find(t)
	tg := newTarget(t)
	base, end := startUI(t, "-H", tg.URL, "-u", "3", "-r", "7", "-t", "5m", "--my-argument", "cli")
	b := browsertest.New(t)
	b.Do(chromedp.EmulateViewport(1400, 900), chromedp.Navigate(base+"/"))
	b.WaitJS(`!document.querySelector('#custom-params').hidden`, "the custom parameters")
	assert.Equal(t, "3", b.Eval(`document.querySelector('#f-users').value`))
	assert.Equal(t, "7", b.Eval(`document.querySelector('#f-rate').value`))
	assert.Equal(t, "5m", b.Eval(`document.querySelector('#f-runtime').value`))
	assert.Equal(t, tg.URL, b.Eval(`document.querySelector('#f-host').value`))
	assert.Equal(t, "cli", b.Eval(`document.querySelector('#p-my-argument').value`))
	assert.Equal(t, "SELECT dev,staging,prod", b.Eval(`(() => { const s = document.querySelector('#p-env'); return s.tagName + ' ' + Array.from(s.options).map(o => o.value).join(','); })()`))
	assert.Equal(t, "password", b.Eval(`document.querySelector('#p-my-ui-password-argument').type`))
	assert.Equal(t, "", b.Eval(`document.querySelector('#p-my-ui-password-argument').value`), "the secret never reaches the page")
	assert.Equal(t, "checkbox", b.Eval(`document.querySelector('#p-my-bool-flag').type`))
	assert.Equal(t, "null", b.Eval(`String(document.querySelector('#p-my-ui-invisible-argument'))`))
	// The users and ramp-up labels sit above their fields, as the others.
	assert.Equal(t, "true", b.Eval(`(() => {
		const l = document.querySelector('label[for=f-users]').getBoundingClientRect();
		const i = document.querySelector('#f-users').getBoundingClientRect();
		const h = document.querySelector('#f-host').getBoundingClientRect();
		return String(l.bottom <= i.top + 1 && Math.abs(i.left - h.left) < 1 && Math.abs(i.width - h.width) < 1);
	})()`))
	b.Screenshot("/tmp/custom-params-form.png")

	b.SetValue("p-my-argument", "from the browser")
	b.Eval(`(() => { const s = document.querySelector('#p-env'); s.value = 'prod'; return s.value; })()`)
	b.Click("#p-my-bool-flag")
	b.SetValue("p-my-int-argument", "2")
	b.Eval(`document.querySelector('#f-runtime').value = ''`)
	b.Click("#f-submit")
	b.WaitJS(`document.querySelector('#m-state').textContent === 'RUNNING'`, "state RUNNING")
	want := "arg=from the browser env=prod flag=true invisible=I am invisible secret=s3cret"
	require.Eventually(t, func() bool { return tg.counts()[want] >= 10 }, 20*time.Second, 20*time.Millisecond)
	b.WaitJS(`Array.from(document.querySelectorAll('#stats-table td.name')).some(td => td.textContent === '/echo')`, "the /echo row")
	// The whole stats table, last column included, fits at 1,400 px:
	// nothing to scroll to.
	assert.Equal(t, "true", b.Eval(`(() => {
		const wrap = document.querySelector('#tab-stats .table-wrap');
		const th = document.querySelector('#stats-table th:last-child').getBoundingClientRect();
		return String(wrap.scrollWidth <= wrap.clientWidth && th.right <= wrap.getBoundingClientRect().right);
	})()`))
	b.Screenshot("/tmp/custom-params-run.png")
	assert.Empty(t, b.Problems(nil))
	b.Close()
	out := end()
	seen := tg.counts()
	assert.Len(t, seen, 1, "%v", seen)
	assert.True(t, strings.Contains(out, `"name":"/echo"`) || strings.Contains(out, `"name": "/echo"`), out)
}
