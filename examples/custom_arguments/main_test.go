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
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

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
