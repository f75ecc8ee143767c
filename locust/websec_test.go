package locust

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/internal/demotarget"
	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/transport"
	"github.com/golocust/golocust/user"
)

// hashWith runs --hash-password with in on stdin.
func hashWith(t *testing.T, in string) (int, string, string) {
	t.Helper()
	old := stdin
	stdin = strings.NewReader(in)
	defer func() { stdin = old }()
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"--hash-password"}, nil, &out, &errb, shopperClass(""))
	return code, out.String(), errb.String()
}

func TestHashPasswordPrintsAHashAndExits(t *testing.T) {
	code, out, _ := hashWith(t, "s3cret pass\n")
	require.Equal(t, ExitOK, code)
	assert.Regexp(t, `^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+\n$`, out)
	code, _, errOut := hashWith(t, "\n")
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errOut, "--hash-password: the password is empty")
}

// writeUsers writes a users file with an operator and a viewer, their
// hashes made by --hash-password.
func writeUsers(t *testing.T) string {
	t.Helper()
	var lines []string
	for _, a := range [][3]string{{"otto", "operator", "op-pass"}, {"vera", "viewer", "view-pass"}} {
		code, h, _ := hashWith(t, a[2]+"\n")
		require.Equal(t, ExitOK, code)
		lines = append(lines, a[0]+":"+a[1]+":"+strings.TrimSpace(h))
	}
	path := filepath.Join(t.TempDir(), "users")
	require.NoError(t, os.WriteFile(path, []byte("# accounts\n"+strings.Join(lines, "\n")+"\n"), 0o600))
	return path
}

func basicForm(t *testing.T, method, u, user, pass string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestWebUsersRolesAndAuditLogOnARealRun: accounts from --web-users, a
// viewer refused, an operator's run against a real target, and every
// action in the --audit-log file.
func TestWebUsersRolesAndAuditLogOnARealRun(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	cfg := DefaultConfig()
	cfg.Web.Users = writeUsers(t)
	cfg.Web.AuditLog = filepath.Join(t.TempDir(), "audit.jsonl")
	base, end := startWebSession(t, cfg)
	defer http.DefaultClient.CloseIdleConnections()

	code, _ := postForm(t, base+"/swarm", url.Values{"user_count": {"2"}, "spawn_rate": {"100"}, "host": {srv.URL}})
	assert.Equal(t, http.StatusUnauthorized, code, "no credentials")
	code, body := basicForm(t, "POST", base+"/swarm", "vera", "view-pass", url.Values{"user_count": {"2"}, "spawn_rate": {"100"}, "host": {srv.URL}})
	assert.Equal(t, http.StatusForbidden, code, body)
	code, _ = basicForm(t, "POST", base+"/swarm", "otto", "wrong", url.Values{"user_count": {"2"}, "spawn_rate": {"100"}, "host": {srv.URL}})
	assert.Equal(t, http.StatusUnauthorized, code)
	code, body = basicForm(t, "POST", base+"/swarm", "otto", "op-pass", url.Values{"user_count": {"2"}, "spawn_rate": {"100"}, "host": {srv.URL}})
	require.Equal(t, http.StatusOK, code, body)
	require.Eventually(t, func() bool {
		_, b := basicForm(t, "GET", base+"/stats/requests", "vera", "view-pass", nil)
		return strings.Contains(b, `"user_count":2`)
	}, 15*time.Second, 50*time.Millisecond)
	code, _ = basicForm(t, "GET", base+"/logs", "otto", "op-pass", nil)
	assert.Equal(t, http.StatusForbidden, code, "logs are for admins")
	code, _ = basicForm(t, "POST", base+"/stop", "otto", "op-pass", url.Values{})
	require.Equal(t, http.StatusOK, code)
	end()

	f, err := os.Open(cfg.Web.AuditLog)
	require.NoError(t, err)
	defer f.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		lines = append(lines, m)
	}
	var got []string
	for _, l := range lines {
		got = append(got, l["action"].(string)+"/"+l["account"].(string)+"/"+l["outcome"].(string))
		assert.NotEmpty(t, l["time"])
		assert.Contains(t, l["remote"], "127.0.0.1:")
	}
	assert.Equal(t, []string{"denied/vera/refused", "login_failed/otto/refused", "start/otto/ok", "denied/otto/refused", "stop/otto/ok"}, got)
	start := lines[2]
	assert.Equal(t, "operator", start["role"])
	assert.Equal(t, map[string]any{"user_count": float64(2), "spawn_rate": float64(100), "host": srv.URL}, start["detail"])
}

func TestWebUsersFileErrorsAreUsageErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	require.NoError(t, os.WriteFile(path, []byte("ann:boss:$2b$10$x\n"), 0o600))
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"--web-users", path, "-P", "0"}, nil, &out, &errb, shopperClass(""))
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errb.String(), `--web-users: `+path+`:1: unknown role "boss"`)

	errb.Reset()
	code = Run(context.Background(), []string{"--web-users", path, "--web-auth", "a:b"}, nil, &out, &errb, shopperClass(""))
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errb.String(), "--web-users and --web-auth")
}

// TestAuditLogRecordsWorkersJoiningLeavingAndRefused: the master's audit
// log names every worker that joined, left or was refused.
func TestAuditLogRecordsWorkersJoiningLeavingAndRefused(t *testing.T) {
	port := clusterPort(t)
	cfg := DefaultConfig()
	cfg.Cluster.Master = true
	cfg.Cluster.MasterBindPort, _ = strconv.Atoi(port)
	cfg.Cluster.WorkerToken = "right-token"
	cfg.Web.AuditLog = filepath.Join(t.TempDir(), "audit.jsonl")
	base, end := startWebSession(t, cfg)
	defer http.DefaultClient.CloseIdleConnections()

	runW := func(token string) (*runner.Worker, context.CancelFunc, chan error) {
		w, err := runner.NewWorker(runner.WorkerOptions{
			Classes: []user.Spawner{shopperClass("")},
			Client: transport.ClientOptions{Address: "127.0.0.1:" + port, Token: token, InsecureToken: true,
				BackoffBase: 20 * time.Millisecond, Retries: 1},
		})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		return w, cancel, done
	}
	_, cancelBad, badDone := runW("wrong-token")
	select {
	case err := <-badDone:
		require.Error(t, err, "the worker with the wrong token gives up")
	case <-time.After(30 * time.Second):
		t.Fatal("the refused worker did not give up")
	}
	cancelBad()

	w, cancel, done := runW("right-token")
	var ev struct {
		Events []struct {
			Action, Worker, Remote, Outcome, Reason string
		} `json:"events"`
	}
	has := func(action, worker string) bool {
		getJSON(t, base+"/audit", &ev)
		for _, e := range ev.Events {
			if e.Action == action && (worker == "" || e.Worker == worker) {
				return true
			}
		}
		return false
	}
	require.Eventually(t, func() bool { return has("worker_joined", w.ID()) }, 10*time.Second, 20*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	require.Eventually(t, func() bool { return has("worker_left", w.ID()) }, 10*time.Second, 20*time.Millisecond)
	end()

	b, err := os.ReadFile(cfg.Web.AuditLog)
	require.NoError(t, err)
	text := string(b)
	assert.Contains(t, text, `"action":"worker_refused"`)
	assert.Contains(t, text, `"reason":"missing or wrong worker token"`)
	assert.Contains(t, text, `"action":"worker_joined","remote":"127.0.0.1:`)
	assert.NotContains(t, text, "right-token", "the token is never written")
	assert.NotContains(t, text, "wrong-token")
}
