package locust

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// The done-when test of the exemplars: a target on 127.0.0.1 logs the
// trace id of every request's traceparent and its own handling time; it
// makes every 100th /checkout request slow. The trace ids the run shows for
// /checkout's p99 and max are the ids the target logged for its slowest
// requests, standalone and through a master and two workers.
//
// The sleep is long and the slow requests fewer than the exemplars kept
// because a loaded machine stalls the load generator now and then: a
// request the target answered in microseconds was measured at 250 ms by
// the client while the test ran beside other builds (the client's time is
// what the exemplars rank, rightly). Five slow requests of 1 s each leave
// room for stalls in the five other exemplar slots, and the p99 (the 5th
// slowest of 500) and the max stay the target's slow requests unless the
// generator stalls for a second.

// slowCheckout is how long the target's slow /checkout requests take.
const slowCheckout = time.Second

// slowEvery makes every slowEvery-th /checkout request slow: 5 of 500.
const slowEvery = 100

type targetRequest struct {
	path, traceID, worker string
	handling              time.Duration
}

type traceTarget struct {
	url      string
	mu       sync.Mutex
	checkout int
	log      []targetRequest
}

func newTraceTarget(t *testing.T) *traceTarget {
	t.Helper()
	tt := &traceTarget{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		tp := r.Header.Get(user.TraceparentHeader)
		id := ""
		if len(tp) == 55 {
			id = tp[3:35]
		}
		slow := false
		if r.URL.Path == "/checkout" {
			tt.mu.Lock()
			tt.checkout++
			slow = tt.checkout%slowEvery == 0 // the target chooses its slow requests
			tt.mu.Unlock()
		}
		if slow {
			time.Sleep(slowCheckout)
		}
		_, _ = w.Write([]byte("ok"))
		handling := time.Since(start)
		tt.mu.Lock()
		tt.log = append(tt.log, targetRequest{path: r.URL.Path, traceID: id, worker: r.Header.Get("X-Worker"), handling: handling})
		tt.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	tt.url = srv.URL
	return tt
}

// requests returns the target's log of path.
func (tt *traceTarget) requests(path string) []targetRequest {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	var out []targetRequest
	for _, r := range tt.log {
		if r.path == path {
			out = append(out, r)
		}
	}
	return out
}

// slowest returns the target's n slowest requests of path by its own
// handling time, slowest first.
func (tt *traceTarget) slowest(path string, n int) []targetRequest {
	rs := tt.requests(path)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].handling > rs[j].handling })
	return rs[:min(n, len(rs))]
}

type checkoutUser struct{ user.HTTP }

// checkoutClass browses an item and checks out once per iteration,
// naming its worker in a header so that the target can tell who sent
// what.
func checkoutClass(worker string) user.Class[checkoutUser] {
	return user.Class[checkoutUser]{Name: "Checkout", Tasks: taskset.Weighted(taskset.Task[checkoutUser]{Name: "buy",
		Run: func(u *checkoutUser, ctx context.Context) error {
			if err := u.Get(ctx, "/item", user.Header("X-Worker", worker)).Err(); err != nil {
				return err
			}
			return u.Get(ctx, "/checkout", user.Header("X-Worker", worker)).Err()
		}})}
}

func ids(xs []stats.Exemplar) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.TraceID.String()
	}
	return out
}

// checkSlowestAreTheExemplars asserts that the /checkout exemplars of e
// and of the --json-file are the target's slowest requests, and that those
// shown for the p99 and the max are among them.
func checkSlowestAreTheExemplars(t *testing.T, tt *traceTarget, e *stats.Entry, jsonFile string) {
	t.Helper()
	reqs := tt.requests("/checkout")
	require.Len(t, reqs, 500)
	seen := map[string]bool{}
	for _, r := range reqs {
		require.Len(t, r.traceID, 32, "every request carried a traceparent")
		require.False(t, seen[r.traceID], "trace ids are fresh per request")
		seen[r.traceID] = true
	}
	nslow := len(reqs) / slowEvery
	slow := tt.slowest("/checkout", nslow)
	want := make([]string, len(slow))
	for i, r := range slow {
		require.GreaterOrEqual(t, r.handling, slowCheckout, "the target's slowest are its slept ones")
		want[i] = r.traceID
	}
	require.NotNil(t, e)
	assert.EqualValues(t, 500, e.NumRequests)
	byID := map[string]time.Duration{}
	for _, r := range reqs {
		byID[r.traceID] = r.handling
	}
	var detail []string
	for _, x := range e.Exemplars {
		id := x.TraceID.String()
		detail = append(detail, id[:6]+" client "+x.Duration.String()+" target "+byID[id].String())
		require.Contains(t, byID, id, "an exemplar is a request the target saw")
		assert.GreaterOrEqual(t, x.Duration+time.Millisecond, byID[id], "the client's time of a request covers the target's")
	}
	require.Len(t, e.Exemplars, stats.MaxExemplars)
	assert.Subset(t, ids(e.Exemplars), want, "the target's slowest requests are kept: %v", detail)
	assert.ElementsMatch(t, want, ids(e.ExemplarsAtPercentile(0.99)), "the p99's trace ids are the target's slowest requests: %v", detail)
	// The max is exact: the slowest exemplar. The slow requests all took
	// about 1 s, so which of them the client saw as the slowest is the
	// machine's noise: the max and the ones in its histogram bucket (what
	// the UI shows for the max) are among the target's slowest.
	assert.Equal(t, e.Max, e.Exemplars[0].Duration)
	assert.Contains(t, want, e.Exemplars[0].TraceID.String(), "the max is one of the target's slowest requests: %v", detail)
	assert.Subset(t, want, ids(e.ExemplarsAtPercentile(1)), "%v", detail)

	b, err := os.ReadFile(jsonFile)
	require.NoError(t, err)
	var rows []struct {
		Name      string `json:"name"`
		Exemplars []struct {
			TraceID      string  `json:"trace_id"`
			ResponseTime float64 `json:"response_time"`
		} `json:"exemplars"`
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		var doc struct {
			Stats json.RawMessage `json:"stats"`
		}
		require.NoError(t, json.Unmarshal(b, &doc))
		require.NoError(t, json.Unmarshal(doc.Stats, &rows))
	}
	var got []string
	for _, r := range rows {
		if r.Name == "/checkout" {
			for i, x := range r.Exemplars {
				got = append(got, x.TraceID)
				assert.InDelta(t, float64(e.Exemplars[i].Duration)/float64(time.Millisecond), x.ResponseTime, 1e-6)
			}
		}
	}
	assert.Equal(t, ids(e.Exemplars), got, "--json-file")
}

func TestExemplarsAreTheTargetsSlowestRequests(t *testing.T) {
	tt := newTraceTarget(t)
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Host, cfg.Users, cfg.SpawnRate = tt.url, 4, 100
	cfg.Load.Iterations = 500
	cfg.Traceparent = true
	cfg.JSONFile = filepath.Join(dir, "run.json")
	cfg.HTML = filepath.Join(dir, "report.html")
	res := RunHeadless(t, cfg, checkoutClass("local"))
	e := entryOf(res.Stats, "GET", "/checkout")
	checkSlowestAreTheExemplars(t, tt, e, cfg.JSONFile)
	page, err := os.ReadFile(cfg.HTML)
	require.NoError(t, err)
	for _, id := range ids(e.Exemplars) {
		assert.Contains(t, string(page), id, "the report lists the trace ids")
	}
}

func TestMasterKeepsTheSlowestExemplarsOfItsWorkers(t *testing.T) {
	tt := newTraceTarget(t)
	port := clusterPort(t)
	cfg := DefaultConfig()
	cfg.Headless, cfg.Users, cfg.SpawnRate, cfg.Host = true, 4, 100, tt.url
	cfg.Load.Iterations = 500
	cfg.Cluster.Master = true
	cfg.Cluster.MasterBindPort, _ = strconv.Atoi(port)
	cfg.Cluster.ExpectWorkers = 2
	cfg.JSONFile = filepath.Join(t.TempDir(), "run.json")
	out := &testLogWriter{t: t}
	defer out.flush()
	cfg.Stdout, cfg.Stderr = out, out
	done := make(chan *Result, 1)
	go func() {
		res, err := execute(t.Context(), &cfg, []user.Spawner{checkoutClass("master")})
		assert.NoError(t, err)
		done <- res
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wdone := make(chan error, 2)
	for _, name := range []string{"w1", "w2"} {
		wcfg := DefaultConfig()
		wcfg.Cluster.Worker = true
		wcfg.Cluster.MasterPort, _ = strconv.Atoi(port)
		wcfg.Traceparent = true // the workers trace: their own flag
		wcfg.Stdout, wcfg.Stderr = out, out
		go func() {
			_, err := execute(ctx, &wcfg, []user.Spawner{checkoutClass(name)})
			wdone <- err
		}()
	}
	var res *Result
	select {
	case res = <-done:
	case <-time.After(90 * time.Second):
		t.Fatal("the master did not end its run")
	}
	cancel()
	for range 2 {
		assert.NoError(t, <-wdone)
	}
	require.NotNil(t, res)
	checkSlowestAreTheExemplars(t, tt, entryOf(res.Stats, "GET", "/checkout"), cfg.JSONFile)
	// Both workers sent requests; the slow ones fell to either as the
	// target chose (logged, for the record).
	var from []string
	for _, r := range tt.slowest("/checkout", 500/slowEvery) {
		from = append(from, r.worker)
	}
	t.Logf("the slowest requests came from %v", from)
	workers := map[string]bool{}
	for _, r := range tt.requests("/checkout") {
		workers[r.worker] = true
	}
	assert.True(t, workers["w1"] && workers["w2"], "both workers sent requests: %v", workers)
	assert.False(t, slices.Contains(from, "master"))
}

func entryOf(s *stats.Snapshot, method, name string) *stats.Entry {
	for _, e := range s.Entries {
		if e.Method == method && e.Name == name {
			return e
		}
	}
	return nil
}

// The web UI shows for /checkout's p99 (the rows' exemplars marked
// at_p99, what a click on the p99 lists) the trace ids the target logged
// for its slowest requests, in a run started from the UI; the session's
// /metrics shows them as OpenMetrics exemplars.
func TestWebUIExemplarsAtTheP99AreTheTargetsSlowestRequests(t *testing.T) {
	tt := newTraceTarget(t)
	cfg := DefaultConfig()
	cfg.Traceparent = true
	cfg.Load.Iterations = 500
	base, end := startWebSessionWith(t, cfg, checkoutClass("web"))
	defer http.DefaultClient.CloseIdleConnections()
	code, body := postForm(t, base+"/swarm", url.Values{"user_count": {"4"}, "spawn_rate": {"100"}, "host": {tt.url}})
	require.Equal(t, http.StatusOK, code, body)

	type exemplar struct {
		TraceID      string  `json:"trace_id"`
		ResponseTime float64 `json:"response_time"`
		AtP99        bool    `json:"at_p99"`
	}
	var st struct {
		State string `json:"state"`
		Stats []struct {
			Method      string     `json:"method"`
			Name        string     `json:"name"`
			NumRequests int64      `json:"num_requests"`
			Exemplars   []exemplar `json:"exemplars"`
		} `json:"stats"`
	}
	var shown []exemplar
	require.Eventually(t, func() bool {
		getJSON(t, base+"/stats/requests", &st)
		for _, r := range st.Stats {
			if r.Method == "GET" && r.Name == "/checkout" && r.NumRequests == 500 {
				shown = r.Exemplars
				return st.State == "stopped"
			}
		}
		return false
	}, 60*time.Second, 100*time.Millisecond, "the 500 iterations end the run")

	var want, atP99, all []string
	for _, r := range tt.slowest("/checkout", 500/slowEvery) {
		require.GreaterOrEqual(t, r.handling, slowCheckout, "the target's slowest are its slept ones")
		want = append(want, r.traceID)
	}
	require.Len(t, want, 500/slowEvery)
	for _, x := range shown {
		all = append(all, x.TraceID)
		if x.AtP99 {
			atP99 = append(atP99, x.TraceID)
		}
	}
	require.Len(t, shown, stats.MaxExemplars)
	assert.ElementsMatch(t, want, atP99, "the p99's trace ids are the target's slowest requests (shown: %v)", all)
	assert.Contains(t, want, shown[0].TraceID, "the max is one of them")

	// /metrics, scraped as OpenMetrics, shows the slow ones as exemplars
	// of the buckets they fell in.
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	page, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err)
	line := regexp.MustCompile(`(?m)^locust_response_time_seconds_bucket\{method="GET",name="/checkout",le="[^"]*"\} \d+ # \{[^}]*trace_id="([0-9a-f]{32})"[^}]*\} (\S+)`)
	slowShown := 0
	for _, m := range line.FindAllStringSubmatch(string(page), -1) {
		assert.Contains(t, all, m[1], "a /metrics exemplar is one of the kept")
		if v, err := strconv.ParseFloat(m[2], 64); err == nil && v >= slowCheckout.Seconds() {
			slowShown++
			assert.Contains(t, want, m[1], "a slow bucket's exemplar is one of the target's slowest")
		}
	}
	assert.Positive(t, slowShown, "the slow requests' bucket has an exemplar:\n%s", page)
	res := end()
	assert.EqualValues(t, 500, entryOf(res.Stats, "GET", "/checkout").NumRequests)
}
