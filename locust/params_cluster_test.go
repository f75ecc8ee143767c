package locust

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/param"
	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/transport"
	"github.com/golocust/golocust/user"
)

var labelParam = param.String("label", "default-label", "sent as X-Label")

type labeller struct{ user.HTTP }

func (l *labeller) Send(ctx context.Context) error {
	return l.Get(ctx, "/", user.Header("X-Label", labelParam.Get(l.Env().Params))).Err()
}

func labellerClass() user.Class[labeller] {
	return user.Class[labeller]{Name: "Labeller", Wait: user.Constant(5 * time.Millisecond),
		Tasks: taskset.Weighted(taskset.Task[labeller]{Weight: 1, Run: (*labeller).Send})}
}

// The master sends its custom parameters with the spawn: the worker's
// users read the master's values, not the worker's defaults.
func TestCustomParametersGoToTheWorkersWithTheSpawn(t *testing.T) {
	tg := newLabelTarget(t)
	port := clusterPort(t)
	cfg := DefaultConfig()
	cfg.Headless, cfg.Users, cfg.SpawnRate, cfg.RunTime, cfg.Host = true, 2, 100, 1500*time.Millisecond, tg.URL
	cfg.Cluster.Master = true
	cfg.Cluster.MasterBindPort, _ = strconv.Atoi(port)
	cfg.Params = []param.Spec{labelParam}
	cfg.ParamValues = map[string]string{"label": "from-master"}
	// The master's hooks see the cluster: its workers, and at the stop
	// the numbers merged from their reports.
	var masterHooks []string
	var masterStopRequests int64
	cfg.Hooks.TestStart = func(_ context.Context, e *Environment) error {
		masterHooks = append(masterHooks, fmt.Sprintf("start master=%v worker=%v workers=%d index=%d label=%s",
			e.IsMaster(), e.IsWorker(), e.WorkerCount(), e.WorkerIndex(), labelParam.Get(e.Params())))
		return nil
	}
	cfg.Hooks.TestStop = func(_ context.Context, e *Environment) error {
		masterHooks = append(masterHooks, fmt.Sprintf("stop master=%v users=%d state=%s", e.IsMaster(), e.UserCount(), e.State()))
		masterStopRequests = e.Stats().Total.NumRequests
		return nil
	}
	out := &testLogWriter{t: t}
	defer out.flush()
	cfg.Stdout, cfg.Stderr = out, out
	done := make(chan *Result, 1)
	go func() {
		res, err := execute(t.Context(), &cfg, []user.Spawner{labellerClass()})
		assert.NoError(t, err)
		done <- res
	}()
	// The worker runs the hooks too, seeing its index and the master's
	// parameters.
	var hookMu sync.Mutex
	var hooks []string
	wcfg := DefaultConfig()
	wcfg.Cluster.Worker = true
	wcfg.Cluster.MasterPort, _ = strconv.Atoi(port)
	wcfg.Params = []param.Spec{labelParam}
	wcfg.Stdout, wcfg.Stderr = out, out
	note := func(when string, e *Environment) {
		hookMu.Lock()
		defer hookMu.Unlock()
		hooks = append(hooks, fmt.Sprintf("%s worker=%v index=%d label=%s host=%v", when, e.IsWorker(), e.WorkerIndex(), labelParam.Get(e.Params()), e.Host() == tg.URL))
	}
	wcfg.Hooks.Init = func(e *Environment) error { note("init", e); return nil }
	wcfg.Hooks.TestStart = func(_ context.Context, e *Environment) error { note("start", e); return nil }
	wcfg.Hooks.TestStop = func(_ context.Context, e *Environment) error { note("stop", e); return nil }
	ctx, cancel := context.WithCancel(context.Background())
	wdone := make(chan error, 1)
	go func() {
		_, err := execute(ctx, &wcfg, []user.Spawner{labellerClass()})
		wdone <- err
	}()
	var res *Result
	select {
	case res = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the master did not end its run")
	}
	cancel()
	assert.NoError(t, <-wdone)
	require.NotNil(t, res)
	assert.Equal(t, []string{
		"start master=true worker=false workers=1 index=-1 label=from-master",
		"stop master=true users=0 state=" + string(runner.StateStopped),
	}, masterHooks)
	assert.Equal(t, res.Stats.Total.NumRequests, masterStopRequests, "the master's TestStop sees the merged final numbers")
	hookMu.Lock()
	assert.Equal(t, []string{
		"init worker=true index=-1 label=default-label host=false", // before it connects: its own values
		"start worker=true index=0 label=from-master host=true",
		"stop worker=true index=0 label=from-master host=true",
	}, hooks)
	hookMu.Unlock()
	seen := tg.counts()
	assert.Len(t, seen, 1, "%v", seen)
	assert.Positive(t, seen["from-master"])
	assert.Equal(t, seen["from-master"], res.Stats.Total.NumRequests)
}

// A worker's Init hook runs before it connects; its error ends the worker
// (exit 1) with the hook named, and no connection is tried.
func TestWorkerInitHookErrorEndsTheWorker(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Cluster.Worker = true
	cfg.Cluster.MasterPort, _ = strconv.Atoi(clusterPort(t)) // nobody listens
	out := &testLogWriter{t: t}
	defer out.flush()
	cfg.Stdout, cfg.Stderr = out, out
	cfg.Hooks.Init = func(e *Environment) error {
		if !e.IsWorker() || e.WorkerIndex() != -1 {
			return fmt.Errorf("want a worker before its handshake, got worker=%v index=%d", e.IsWorker(), e.WorkerIndex())
		}
		return errors.New("no fixtures")
	}
	_, err := execute(t.Context(), &cfg, []user.Spawner{labellerClass()})
	require.Error(t, err)
	assert.Equal(t, "Hooks.Init: no fixtures", err.Error())
	var ue *UsageError
	assert.NotErrorAs(t, err, &ue, "exit 1, not a usage error's 2")
}

// On a master, a value set in the web form travels with the next spawn:
// the worker's users send it, and the test after it, started with
// another value, sends that one.
func TestWebFormParametersReachTheWorkers(t *testing.T) {
	tg := newLabelTarget(t)
	port := clusterPort(t)
	cfg := DefaultConfig()
	cfg.Host = tg.URL
	cfg.Cluster.Master = true
	cfg.Cluster.MasterBindPort, _ = strconv.Atoi(port)
	cfg.StopTimeout = 5 * time.Second
	cfg.Params = []param.Spec{labelParam}
	base, end := startWebSessionWith(t, cfg, labellerClass())
	defer http.DefaultClient.CloseIdleConnections()

	_, stopWorker := startWorkerOf(t, base, runner.WorkerOptions{
		Classes: []user.Spawner{labellerClass()},
		Client:  transport.ClientOptions{Address: "127.0.0.1:" + port, BackoffBase: 20 * time.Millisecond},
	})

	for _, label := range []string{"first-form", "second-form"} {
		code, body := postForm(t, base+"/swarm", url.Values{"user_count": {"2"}, "spawn_rate": {"100"}, "label": {label}})
		require.Equal(t, http.StatusOK, code, body)
		require.Eventually(t, func() bool { return tg.count(label) > 10 }, 10*time.Second, 20*time.Millisecond)
		code, body = postForm(t, base+"/stop", nil)
		require.Equal(t, http.StatusOK, code, body)
		require.Eventually(t, func() bool {
			var st struct {
				State string `json:"state"`
			}
			getJSON(t, base+"/stats/requests", &st)
			return st.State == "stopped"
		}, 10*time.Second, 20*time.Millisecond)
	}
	stopWorker()
	res := end()
	seen := tg.counts()
	assert.Equal(t, []string{"first-form", "second-form"}, slices.Sorted(maps.Keys(seen)), "the worker's users sent only the forms' values")
	assert.Equal(t, seen["second-form"], res.Stats.Total.NumRequests, "the last test's numbers, merged from the worker")
}
