package locust

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/golocust/golocust/locust"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
	"github.com/golocust/golocust/webui/auth"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// target counts the requests it answers, by path, after a short delay
// (so that a few users do not flood the machine).
type target struct {
	*httptest.Server
	mu   sync.Mutex
	seen map[string]int64
}

func startTarget(t *testing.T, delay time.Duration) *target {
	t.Helper()
	tg := &target{seen: map[string]int64{}}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		tg.mu.Lock()
		tg.seen[r.URL.Path]++
		tg.mu.Unlock()
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(tg.Close)
	return tg
}

// Count is the number of requests for one path.
func (tg *target) Count(path string) int64 {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.seen[path]
}

// Total is the number of requests answered.
func (tg *target) Total() int64 {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	var n int64
	for _, v := range tg.seen {
		n += v
	}
	return n
}

// shopper reads /items and /item?id=N (grouped) in a closed loop.
type shopper struct {
	user.HTTP
	n int
}

func (s *shopper) Items(ctx context.Context) error { return s.Get(ctx, "/items").Err() }

func (s *shopper) Item(ctx context.Context) error {
	s.n++
	return s.Get(ctx, "/item?id="+string(rune('0'+s.n%10)), user.Name("/item?id=[id]")).Err()
}

func shopperClass() user.Class[shopper] {
	return user.Class[shopper]{
		Name: "Shopper",
		Wait: user.Constant(2 * time.Millisecond),
		Tasks: taskset.Weighted(
			taskset.Task[shopper]{Weight: 1, Run: (*shopper).Items, Tags: []string{"list"}},
			taskset.Task[shopper]{Weight: 3, Run: (*shopper).Item, Tags: []string{"item"}},
		),
	}
}

// entry is one row of the --json output.
type entry struct {
	Method      string `json:"method"`
	Name        string `json:"name"`
	NumRequests int64  `json:"num_requests"`
}

// result is what a web session printed with --json when it ended.
type result []entry

func (r result) total() int64 {
	var n int64
	for _, e := range r {
		n += e.NumRequests
	}
	return n
}

// startWebSession runs locust.RunWith with the web UI on a free loopback
// port until the test ends; it returns the UI's base URL and a func that
// ends the session and returns its --json rows.
func startWebSession(t *testing.T, cfg locust.Config) (string, func() result) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- locust.RunWith(ctx, cfg, []string{"-P", strconv.Itoa(port), "--json"},
			func(string) (string, bool) { return "", false }, &stdout, &stderr, shopperClass())
	}()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("session ended (exit %d) before its web UI was ready: %s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("web UI not ready at %s after 20 s: %s", base, stderr.String())
		}
	}
	var res result
	ended := false
	end := func() result {
		if ended {
			return res
		}
		ended = true
		cancel()
		code := <-done
		require.Equal(t, locust.ExitOK, code, stderr.String())
		out := stdout.Bytes()
		require.NoError(t, json.Unmarshal(out, &res), string(out))
		return res
	}
	t.Cleanup(func() { end(); http.DefaultClient.CloseIdleConnections() })
	return base, end
}

// writeUsers writes a --web-users file: otto (operator, op-pass) and
// vera (viewer, view-pass).
func writeUsers(t *testing.T) string {
	t.Helper()
	var lines []string
	for _, a := range [][3]string{{"otto", "operator", "op-pass"}, {"vera", "viewer", "view-pass"}} {
		h, err := auth.HashPassword(a[2])
		require.NoError(t, err)
		lines = append(lines, a[0]+":"+a[1]+":"+h)
	}
	path := filepath.Join(t.TempDir(), "users")
	require.NoError(t, os.WriteFile(path, []byte("# accounts\n"+strings.Join(lines, "\n")+"\n"), 0o600))
	return path
}
