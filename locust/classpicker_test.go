package locust

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/internal/demotarget"
	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/transport"
	"github.com/golocust/golocust/user"
)

func postJSON(t *testing.T, u string, v any) (int, map[string]any) {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	resp, err := http.Post(u, "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	defer resp.Body.Close()
	var ans map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&ans) // nil for a non-JSON answer (404)
	return resp.StatusCode, ans
}

// POST /user (Locust's) edits a class and refuses bad values naming the
// field; without --class-picker it is not there.
func TestPostUserEditsAClass(t *testing.T) {
	cfg := DefaultConfig()
	base, end := startWebSession(t, cfg)
	code, _ := postJSON(t, base+"/user", map[string]any{"user_class_name": "Shopper", "weight": 2})
	assert.Equal(t, http.StatusNotFound, code, "off without --class-picker")
	end()

	cfg.Web.ClassPicker = true
	base, end = startWebSession(t, cfg)
	defer end()
	defer http.DefaultClient.CloseIdleConnections()
	var cls struct {
		UserClasses []map[string]any `json:"user_classes"`
	}
	getJSON(t, base+"/user-classes", &cls)
	require.Len(t, cls.UserClasses, 1)
	assert.Equal(t, []any{"Items", "Item"}, cls.UserClasses[0]["all_tasks"])

	code, ans := postJSON(t, base+"/user", map[string]any{"user_class_name": "Shopper", "weight": 2, "tasks": []string{"Item"}, "host": "http://127.0.0.1:9"})
	require.Equal(t, http.StatusOK, code, ans)
	assert.Equal(t, map[string]any{"name": "Shopper", "weight": 2.0, "fixed_count": 0.0, "host": "http://127.0.0.1:9",
		"tasks": []any{"Item"}, "all_tasks": []any{"Items", "Item"}}, ans["user_class"])

	for _, c := range []struct {
		body  map[string]any
		field string
		msg   string
	}{
		{map[string]any{"user_class_name": "Nobody"}, "user_class_name", `unknown user class "Nobody": choose from Shopper`},
		{map[string]any{"user_class_name": "Shopper", "host": "ftp://x"}, "host", "want a base URL starting with http:// or https://"},
		{map[string]any{"user_class_name": "Shopper", "tasks": []string{"Checkout"}}, "", `no task named "Checkout": choose from Items, Item`},
		{map[string]any{"user_class_name": "Shopper", "weight": 0, "fixed_count": 0}, "", "the class would get no users"},
		{map[string]any{"user_class_name": "Shopper", "tasks": []string{}}, "tasks", "pick at least one task"},
	} {
		code, ans := postJSON(t, base+"/user", c.body)
		assert.Equal(t, http.StatusBadRequest, code, "%v", c.body)
		assert.Equal(t, c.field, ans["field"], "%v", c.body)
		assert.Contains(t, ans["message"], c.msg, "%v", c.body)
	}
}

// On a master, a class edited with POST /user reaches the worker with the
// next start: the worker's users, built from the class as compiled, run
// only the picked task against the picked host.
func TestClassPickerEditReachesTheWorkers(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	port := clusterPort(t)
	cfg := DefaultConfig()
	cfg.Cluster.Master = true
	cfg.Cluster.MasterBindPort, _ = strconv.Atoi(port)
	cfg.Web.ClassPicker = true
	cfg.StopTimeout = 5 * time.Second
	base, end := startWebSession(t, cfg)
	defer http.DefaultClient.CloseIdleConnections()

	_, stopWorker := startWorkerOf(t, base, runner.WorkerOptions{
		Classes: []user.Spawner{shopperClass("")},
		Client:  transport.ClientOptions{Address: "127.0.0.1:" + port, BackoffBase: 20 * time.Millisecond},
	})

	code, ans := postJSON(t, base+"/user", map[string]any{"user_class_name": "Shopper", "tasks": []string{"Items"}, "host": srv.URL})
	require.Equal(t, http.StatusOK, code, ans)
	code, body := postForm(t, base+"/swarm", url.Values{"user_count": {"3"}, "spawn_rate": {"100"}})
	require.Equal(t, http.StatusOK, code, body)
	require.Eventually(t, func() bool { return srv.Count("/items") > 20 }, 10*time.Second, 20*time.Millisecond)
	code, body = postForm(t, base+"/stop", nil)
	require.Equal(t, http.StatusOK, code, body)
	stopWorker()
	res := end()
	assert.Zero(t, srv.Count("/item"), "the unpicked task never ran on the worker")
	assert.Equal(t, srv.Total(), res.Stats.Total.NumRequests, "the master merged what the worker sent to the edited host")
	for _, e := range res.Stats.Entries {
		assert.Equal(t, "/items", e.Name)
	}
}

// The weight and fixed count edited with POST /user decide how the next
// test's users split over the classes, as the class's own would: a fixed
// count first, then the rest by weight. Each class requests its own path,
// so the target tells which classes ran.
func TestClassPickerWeightAndFixedCountSplitTheUsers(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	cfg := DefaultConfig()
	cfg.Host = srv.URL
	cfg.Web.ClassPicker = true
	cfg.StopTimeout = 5 * time.Second
	browser := user.Class[shopper]{Name: "Browser", Wait: user.Constant(2 * time.Millisecond),
		Tasks: taskset.Weighted(taskset.Task[shopper]{Weight: 1, Run: (*shopper).Items})}
	shop := shopperClass("")
	shop.Tasks = taskset.Weighted(taskset.Task[shopper]{Weight: 1, Run: (*shopper).Item})
	base, end := startWebSessionWith(t, cfg, shop, browser)
	defer http.DefaultClient.CloseIdleConnections()

	users := regexp.MustCompile(`(?m)^locust_users\{class="(\w+)"\} (\d+)$`)
	split := func() map[string]int {
		resp, err := http.Get(base + "/metrics")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		out := map[string]int{}
		for _, m := range users.FindAllStringSubmatch(string(b), -1) {
			out[m[1]], _ = strconv.Atoi(m[2])
		}
		return out
	}
	run := func(want map[string]int) {
		t.Helper()
		code, body := postForm(t, base+"/swarm", url.Values{"user_count": {"6"}, "spawn_rate": {"1000"}})
		require.Equal(t, http.StatusOK, code, body)
		require.Eventually(t, func() bool { return reflect.DeepEqual(split(), want) }, 20*time.Second, 20*time.Millisecond,
			"want %v, last %v", want, split())
		code, body = postForm(t, base+"/stop", nil)
		require.Equal(t, http.StatusOK, code, body)
		require.Eventually(t, func() bool { return split()["Browser"]+split()["Shopper"] == 0 }, 20*time.Second, 20*time.Millisecond)
	}
	run(map[string]int{"Browser": 3, "Shopper": 3}) // as compiled: weight 1 each

	code, ans := postJSON(t, base+"/user", map[string]any{"user_class_name": "Browser", "fixed_count": 1})
	require.Equal(t, http.StatusOK, code, ans)
	run(map[string]int{"Browser": 1, "Shopper": 5})

	code, ans = postJSON(t, base+"/user", map[string]any{"user_class_name": "Browser", "fixed_count": 0, "weight": 2})
	require.Equal(t, http.StatusOK, code, ans)
	items, item := srv.Count("/items"), srv.Count("/item")
	run(map[string]int{"Browser": 4, "Shopper": 2})

	// The statistics are the last test's, as each new test resets them.
	res := end()
	assert.Positive(t, srv.Count("/items")-items, "Browser ran")
	assert.Positive(t, srv.Count("/item")-item, "Shopper ran")
	assert.Equal(t, srv.Count("/items")-items, entryCount(res, "GET", "/items"))
	assert.Equal(t, srv.Count("/item")-item, entryCount(res, "GET", "/item?id=[id]"))
}
