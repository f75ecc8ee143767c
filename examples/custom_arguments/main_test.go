package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/golocust/golocust/internal/browsertest"
	"github.com/golocust/golocust/locust"
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

func (tg *target) total() int64 {
	var n int64
	for _, v := range tg.counts() {
		n += v
	}
	return n
}

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// The command line and the environment set the parameters; every request
// carries them; the test-start hook sees them.
func TestCommandLineAndEnvironmentSetTheParameters(t *testing.T) {
	tg := newTarget(t)
	var stdout, stderr bytes.Buffer
	code := locust.RunWith(t.Context(), config(), []string{"--headless", "-t", "1s", "-u", "2", "-r", "100", "-H", tg.URL, "--json",
		"--my-argument", "hello world", "--env", "staging", "--my-bool-flag", "--my-int-argument", "3"},
		lookup(map[string]string{"LOCUST_MY_UI_PASSWORD_ARGUMENT": "s3cret"}), &stdout, &stderr, website)
	require.Equal(t, locust.ExitOK, code, stderr.String())
	want := "arg=hello world env=staging flag=true invisible=I am invisible secret=s3cret"
	seen := tg.counts()
	assert.Len(t, seen, 1, "every request carried the same values: %v", seen)
	assert.Positive(t, seen[want], "%v", seen)
	var rows []struct {
		Name        string `json:"name"`
		NumRequests int64  `json:"num_requests"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &rows), stdout.String())
	require.Len(t, rows, 1)
	assert.Equal(t, seen[want], rows[0].NumRequests, "the stats count what the target saw")
	assert.NotContains(t, stderr.String()+stdout.String(), "s3cret", "a secret is never printed")
}

func TestAValueOutsideTheChoicesIsAUsageError(t *testing.T) {
	var stderr bytes.Buffer
	code := locust.RunWith(t.Context(), config(), []string{"--headless", "-t", "1s", "--env", "qa"}, nil, &bytes.Buffer{}, &stderr, website)
	assert.Equal(t, locust.ExitUsage, code)
	assert.Contains(t, stderr.String(), `invalid value "qa" for --env: want one of dev, staging, prod`)
}

// startUI runs the program with its web UI on a free port until the test
// ends; it returns the UI's base URL and a func that ends the run and
// returns its JSON output.
func startUI(t *testing.T, args ...string) (string, func() string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- locust.RunWith(ctx, config(), append([]string{"-P", strconv.Itoa(port), "--json"}, args...),
			lookup(map[string]string{"LOCUST_MY_UI_PASSWORD_ARGUMENT": "s3cret"}), &stdout, &stderr, website)
	}()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 20*time.Millisecond)
	ended := false
	end := func() string {
		if !ended {
			ended = true
			cancel()
			assert.Equal(t, locust.ExitOK, <-done, stderr.String())
		}
		return stdout.String()
	}
	t.Cleanup(func() { end(); http.DefaultClient.CloseIdleConnections() })
	return base, end
}

// The form lists the parameters (never the secret's value nor the hidden
// one) and a POST /swarm sets them for the test it starts.
func TestTheWebFormSetsTheParameters(t *testing.T) {
	tg := newTarget(t)
	base, end := startUI(t, "-H", tg.URL, "--my-argument", "from the command line")

	resp, err := http.Get(base + "/ui/config")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var cfg struct {
		Params []struct {
			Name     string   `json:"name"`
			Value    string   `json:"default_value"`
			Choices  []string `json:"choices"`
			Secret   bool     `json:"is_secret"`
			HasValue bool     `json:"has_value"`
		} `json:"custom_params"`
	}
	require.NoError(t, json.Unmarshal(b, &cfg))
	assert.NotContains(t, string(b), "s3cret")
	assert.NotContains(t, string(b), "invisible")
	names := []string{}
	for _, p := range cfg.Params {
		names = append(names, p.Name)
	}
	assert.Equal(t, []string{"my-argument", "env", "my-ui-password-argument", "my-bool-flag", "my-int-argument"}, names)
	assert.Equal(t, "from the command line", cfg.Params[0].Value)
	assert.Equal(t, []string{"dev", "staging", "prod"}, cfg.Params[1].Choices)
	assert.True(t, cfg.Params[2].Secret && cfg.Params[2].HasValue)

	form := url.Values{"user_count": {"2"}, "spawn_rate": {"100"}, "my-argument": {"from the form"}, "env": {"qa"}}
	resp, err = http.PostForm(base+"/swarm", form)
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(b), `"field":"env"`)

	// Locust's form uses argparse's dest (underscores); an empty secret
	// keeps the current one.
	form.Set("env", "prod")
	form.Set("my_int_argument", "2")
	form.Set("my-ui-password-argument", "")
	resp, err = http.PostForm(base+"/swarm", form)
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	want := "arg=from the form env=prod flag=false invisible=I am invisible secret=s3cret"
	require.Eventually(t, func() bool { return tg.counts()[want] >= 10 }, 20*time.Second, 20*time.Millisecond)
	out := end()
	seen := tg.counts()
	assert.Len(t, seen, 1, "%v", seen)
	var rows []struct {
		NumRequests int64 `json:"num_requests"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rows), out)
	require.Len(t, rows, 1)
	assert.Equal(t, tg.total(), rows[0].NumRequests)
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
