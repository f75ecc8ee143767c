package runner

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// The master's Traceparent reaches the workers with the spawn: a worker
// whose classes do not trace sends a W3C traceparent with every call.
func TestMasterTraceparentReachesTheWorkersUsers(t *testing.T) {
	valid := regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-01$`)
	var traced, untraced atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if valid.MatchString(r.Header.Get("Traceparent")) {
			traced.Add(1)
		} else {
			untraced.Add(1)
		}
	}))
	defer srv.Close()
	browse := user.Class[shopper]{Name: "Shopper", Wait: user.Constant(10 * time.Millisecond),
		Tasks: taskset.Weighted(taskset.Task[shopper]{Run: (*shopper).Browse})}
	classes := []user.Spawner{browse}

	m := startMaster(t, MasterOptions{Classes: classes, Host: srv.URL, Traceparent: true})
	w := startWorker(t, m.Addr(), WorkerOptions{Classes: classes})
	waitWorkers(t, m, 1)
	require.NoError(t, m.Start(2, 100))
	waitFor(t, "traced requests", func() bool { return traced.Load() >= 20 })
	m.Stop()
	waitFor(t, "the worker's users gone", func() bool { return w.UserCount() == 0 })
	assert.Zero(t, untraced.Load(), "every call carries a traceparent")
}
