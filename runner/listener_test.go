package runner

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/user"
)

// recordingClass records a sample through user.Record every few
// milliseconds, as a real user's client does.
func recordingClass(name string) *fakeClass {
	f := &fakeClass{name: name, weight: 1}
	f.behave = func(ctx context.Context, env *user.Env) {
		for {
			user.Record(env, "GET", "/"+name, 2*time.Millisecond, 10, nil)
			select {
			case <-env.Stopping:
				return
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return f
}

// Each worker's request listener sees the requests of that worker's users,
// and only those: each saw some, and together exactly what the master merged.
func TestRequestListenerRunsOnTheWorkerThatMadeTheRequest(t *testing.T) {
	classes := []user.Spawner{recordingClass("A")}
	reg := stats.NewRegistry(stats.Options{})
	m := startMaster(t, MasterOptions{Classes: classes, Registry: reg, StopTimeout: time.Second})
	var seen [2]atomic.Int64
	var wrongClass atomic.Int64
	ws := make([]*testWorker, 2)
	for i := range ws {
		ws[i] = startWorker(t, m.Addr(), WorkerOptions{Classes: classes, OnRequest: func(e user.RequestEvent) {
			if e.Env == nil || e.Env.Class != "A" || e.Name != "/A" || e.Size != 10 {
				wrongClass.Add(1)
			}
			seen[i].Add(1)
		}})
	}
	waitWorkers(t, m, 2)
	require.NoError(t, m.Start(4, 100))
	waitFor(t, "requests on both workers", func() bool { return seen[0].Load() > 50 && seen[1].Load() > 50 })
	m.Stop()
	assert.Equal(t, seen[0].Load()+seen[1].Load(), reg.Snapshot().Total.NumRequests)
	assert.Zero(t, wrongClass.Load())
	assert.Equal(t, []int{0, 0}, clusterTotals(ws))
}
