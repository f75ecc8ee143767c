package user_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// headerLog is an HTTP target on 127.0.0.1 that logs the traceparent of
// every request by path ("" when it had none).
type headerLog struct {
	mu   sync.Mutex
	seen map[string][]string
}

func newHeaderLog(t *testing.T) (*headerLog, string) {
	t.Helper()
	l := &headerLog{seen: map[string][]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.seen[r.URL.Path] = append(l.seen[r.URL.Path], r.Header.Get(user.TraceparentHeader))
		l.mu.Unlock()
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return l, srv.URL
}

func (l *headerLog) get(path string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seen[path]...)
}

const ownTraceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

// traceTask makes 30 GETs of /t and one of /own that sets its own
// traceparent header.
func traceTask(c httpClient, ctx context.Context) {
	for range 30 {
		_ = c.Get(ctx, "/t").Err()
	}
	_ = c.Get(ctx, "/own", user.Header("Traceparent", ownTraceparent)).Err()
}

func runTraced[U any](t *testing.T, host string, class bool, client func(*U) httpClient, setup func(*U)) *stats.Snapshot {
	t.Helper()
	c := user.Class[U]{Traceparent: class, Tasks: taskset.Weighted(taskset.Task[U]{Name: "t",
		Run: func(u *U, ctx context.Context) error {
			setup(u)
			traceTask(client(u), ctx)
			return user.ErrStopUser
		}})}
	r := start(t, c, host, 1)
	r.wait(t, 10*time.Second)
	return r.reg.Snapshot()
}

func TestHTTPCallsCarryATraceparentWhoseIdsTheStatsKeep(t *testing.T) {
	type how struct {
		name          string
		class, client bool
	}
	for _, h := range []how{{"class option", true, false}, {"client option", false, true}, {"off", false, false}} {
		for _, kind := range []string{"HTTP", "NetHTTP"} {
			t.Run(h.name+"/"+kind, func(t *testing.T) {
				l, host := newHeaderLog(t)
				var snap *stats.Snapshot
				if kind == "HTTP" {
					snap = runTraced(t, host, h.class, func(u *fastUser) httpClient { return &u.HTTP },
						func(u *fastUser) { u.HTTP.Traceparent = h.client })
				} else {
					snap = runTraced(t, host, h.class, func(u *netUser) httpClient { return &u.NetHTTP },
						func(u *netUser) { u.NetHTTP.Traceparent = h.client })
				}
				seen := l.get("/t")
				require.Len(t, seen, 30)
				assert.Equal(t, []string{ownTraceparent}, l.get("/own"), "the task's own header is sent as it is")
				e, own := entry(snap, "GET", "/t"), entry(snap, "GET", "/own")
				require.NotNil(t, e)
				require.NotNil(t, own)
				if !h.class && !h.client {
					for _, tp := range seen {
						assert.Empty(t, tp)
					}
					assert.Empty(t, e.Exemplars)
					assert.Empty(t, own.Exemplars, "not traced: the task's header is not recorded")
					return
				}
				distinct := map[string]bool{}
				for _, tp := range seen {
					assert.Regexp(t, `^00-[0-9a-f]{32}-[0-9a-f]{16}-01$`, tp)
					distinct[tp] = true
				}
				assert.Len(t, distinct, 30, "fresh ids per call")
				require.Len(t, e.Exemplars, stats.MaxExemplars)
				for _, x := range exemplarHeaders(e) {
					assert.True(t, distinct[x], "exemplar %s is a request the target saw", x)
				}
				assert.Equal(t, []string{ownTraceparent}, exemplarHeaders(own), "the task's own ids are recorded")
			})
		}
	}
}
