package locust

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/internal/demotarget"
	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/transport"
	"github.com/golocust/golocust/user"
)

// steppedShape is a shape whose stage the test moves on: stage i asks for
// users[i], and the shape ends the run past the last one. The test sets
// the next stage only once the runner runs the current one, so nothing
// depends on how fast the machine is.
type steppedShape struct {
	users []int
	stage atomic.Int32
}

func (s *steppedShape) Tick(time.Duration, int) (runner.ShapeTick, bool) {
	i := int(s.stage.Load())
	if i >= len(s.users) {
		return runner.ShapeTick{}, false
	}
	return runner.ShapeTick{Users: s.users[i], SpawnRate: 1000}, true
}

type swarmState struct {
	State       string `json:"state"`
	UserCount   int    `json:"user_count"`
	ShapeDriven bool   `json:"shape_driven"`
	ShapeClass  string `json:"shape_class"`
	Stats       []struct {
		Name        string `json:"name"`
		NumRequests int    `json:"num_requests"`
	} `json:"stats"`
}

// requests is the run's total request count (the Aggregated row).
func (s swarmState) requests() int {
	for _, e := range s.Stats {
		if e.Name == "Aggregated" {
			return e.NumRequests
		}
	}
	return 0
}

func waitSwarm(t *testing.T, base, what string, ok func(swarmState) bool) swarmState {
	t.Helper()
	var st swarmState
	require.Eventually(t, func() bool {
		st = swarmState{}
		getJSON(t, base+"/stats/requests", &st)
		return ok(st)
	}, 20*time.Second, 20*time.Millisecond, "waiting for %s; last %+v", what, &st)
	return st
}

// With --class-picker, the start form offers Config.Load.Shapes in its
// "Shape class" select (shape_class, Locust's field): the chosen shape
// drives that run stage by stage and ends it, a later run chooses another
// or Default (the configured shape here), and a bad name is refused with
// the valid ones.
func TestWebFormShapeClassDrivesTheRun(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	stepped := &steppedShape{users: []int{2, 5, 1}}
	cfg := DefaultConfig()
	cfg.Host = srv.URL
	cfg.StopTimeout = 5 * time.Second
	cfg.Web.ClassPicker = true
	cfg.Load.Shape = runner.Stages{{Duration: time.Hour, Users: 3, SpawnRate: 1000}}
	cfg.Load.Shapes = map[string]runner.Shape{
		"stepped": stepped,
		"four":    runner.Stages{{Duration: time.Hour, Users: 4, SpawnRate: 1000}},
	}
	base, end := startWebSession(t, cfg)
	defer http.DefaultClient.CloseIdleConnections()

	var conf struct {
		Shapes      []string `json:"available_shape_classes"`
		Shape       string   `json:"shape_class"`
		DefModel    string   `json:"default_load_model"`
		DefDriven   bool     `json:"default_shape_driven"`
		ShapeDriven bool     `json:"shape_driven"`
	}
	getJSON(t, base+"/ui/config", &conf)
	assert.Equal(t, []string{"Default", "four", "stepped"}, conf.Shapes)
	assert.Equal(t, "", conf.Shape)
	assert.Equal(t, "shape", conf.DefModel)
	assert.True(t, conf.DefDriven)

	code, body := postForm(t, base+"/swarm", url.Values{"shape_class": {"five"}})
	assert.Equal(t, http.StatusBadRequest, code)
	assert.JSONEq(t, `{"success":false,"field":"shape_class","message":"shape_class: unknown shape \"five\"; valid shapes: Default, four, stepped"}`, body)

	// The chosen shape, stage by stage; user_count and spawn_rate are not
	// needed (the form hides them).
	code, body = postForm(t, base+"/swarm", url.Values{"shape_class": {"stepped"}})
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"message":"Swarming started using shape class 'stepped'"`)
	st := waitSwarm(t, base, "stage 1: 2 users", func(s swarmState) bool { return s.UserCount == 2 })
	assert.True(t, st.ShapeDriven)
	assert.Equal(t, "stepped", st.ShapeClass)
	code, body = postForm(t, base+"/swarm", url.Values{"user_count": {"9"}, "spawn_rate": {"1"}})
	assert.Equal(t, http.StatusConflict, code, "a shape-driven run is not edited: %s", body)
	var logs struct {
		Master []string `json:"master"`
	}
	getJSON(t, base+"/logs", &logs)
	assert.Contains(t, strings.Join(logs.Master, "\n"), `the load shape chosen in the web form drives the run	{"shape": "stepped"}`)
	stepped.stage.Store(1)
	waitSwarm(t, base, "stage 2: 5 users", func(s swarmState) bool { return s.UserCount == 5 })
	stepped.stage.Store(2)
	waitSwarm(t, base, "stage 3: 1 user", func(s swarmState) bool { return s.UserCount == 1 })
	stepped.stage.Store(3)
	waitSwarm(t, base, "the shape ending the run", func(s swarmState) bool { return s.State == "stopped" && s.UserCount == 0 })

	// Another shape for the next run.
	code, body = postForm(t, base+"/swarm", url.Values{"shape_class": {"four"}, "user_count": {"1"}, "spawn_rate": {"1"}})
	require.Equal(t, http.StatusOK, code, body)
	st = waitSwarm(t, base, "4 users of shape four", func(s swarmState) bool { return s.UserCount == 4 })
	assert.Equal(t, "four", st.ShapeClass)
	code, _ = postForm(t, base+"/stop", nil)
	require.Equal(t, http.StatusOK, code)
	waitSwarm(t, base, "stopped", func(s swarmState) bool { return s.State == "stopped" && s.UserCount == 0 })

	// Default: the configured shape (3 users) drives it again.
	code, body = postForm(t, base+"/swarm", url.Values{"shape_class": {"Default"}, "user_count": {"1"}, "spawn_rate": {"1"}})
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"message":"Swarming started"`)
	st = waitSwarm(t, base, "3 users of the configured shape", func(s swarmState) bool { return s.UserCount == 3 })
	assert.True(t, st.ShapeDriven)
	assert.Empty(t, st.ShapeClass)
	waitSwarm(t, base, "a request of the last run", func(s swarmState) bool { return s.requests() > 0 })
	code, _ = postForm(t, base+"/stop", nil)
	require.Equal(t, http.StatusOK, code)
	waitSwarm(t, base, "stopped", func(s swarmState) bool { return s.State == "stopped" && s.UserCount == 0 })

	res := end()
	assert.Positive(t, res.Stats.Total.NumRequests, "the last run's users reached the target")
}

// Without a configured shape, Default runs the form's user count, which
// the running test may then edit.
func TestWebFormDefaultShapeRunsTheUserCount(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	cfg := DefaultConfig()
	cfg.Host = srv.URL
	cfg.StopTimeout = 5 * time.Second
	cfg.Web.ClassPicker = true
	cfg.Load.Shapes = map[string]runner.Shape{"four": runner.Stages{{Duration: time.Hour, Users: 4, SpawnRate: 1000}}}
	base, end := startWebSession(t, cfg)
	defer http.DefaultClient.CloseIdleConnections()

	code, body := postForm(t, base+"/swarm", url.Values{"shape_class": {"four"}})
	require.Equal(t, http.StatusOK, code, body)
	waitSwarm(t, base, "4 users", func(s swarmState) bool { return s.UserCount == 4 })
	code, _ = postForm(t, base+"/stop", nil)
	require.Equal(t, http.StatusOK, code)
	waitSwarm(t, base, "stopped", func(s swarmState) bool { return s.State == "stopped" && s.UserCount == 0 })

	code, body = postForm(t, base+"/swarm", url.Values{"shape_class": {"Default"}})
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, `"field":"user_count"`, "Default runs the user count, which is then required")

	code, body = postForm(t, base+"/swarm", url.Values{"shape_class": {"Default"}, "user_count": {"2"}, "spawn_rate": {"100"}})
	require.Equal(t, http.StatusOK, code, body)
	st := waitSwarm(t, base, "2 users", func(s swarmState) bool { return s.UserCount == 2 })
	assert.False(t, st.ShapeDriven)
	code, body = postForm(t, base+"/swarm", url.Values{"user_count": {"3"}, "spawn_rate": {"100"}})
	require.Equal(t, http.StatusOK, code, body)
	waitSwarm(t, base, "3 users after the edit", func(s swarmState) bool { return s.UserCount == 3 })
	res := end()
	assert.Positive(t, res.Stats.Total.NumRequests, "the last run's users reached the target")
}

func TestConfigShapesAreChecked(t *testing.T) {
	for _, c := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"default name", func(c *Config) { c.Load.Shapes = map[string]runner.Shape{"default": runner.Stages{}} }, `"default" is the form's name for no choice`},
		{"empty name", func(c *Config) { c.Load.Shapes = map[string]runner.Shape{" ": runner.Stages{}} }, `the name " " must be non-empty`},
		{"nil shape", func(c *Config) { c.Load.Shapes = map[string]runner.Shape{"x": nil} }, `shape "x" is nil`},
		{"arrival", func(c *Config) {
			c.Load.Shapes = map[string]runner.Shape{"x": runner.Stages{}}
			c.Load.ArrivalRate = 10
		}, "Config.Load.Shapes and --arrival-rate/--arrival-stages each drive the run"},
		{"iterations on a master", func(c *Config) {
			c.Load.Shapes = map[string]runner.Shape{"x": runner.Stages{}}
			c.Load.Iterations = 10
			c.Cluster.Master = true
		}, "-i/--iterations with Config.Load.Shapes runs standalone"},
	} {
		cfg := DefaultConfig()
		c.mod(&cfg)
		err := cfg.Validate()
		if assert.Error(t, err, c.name) {
			assert.Contains(t, err.Error(), c.want, c.name)
		}
	}
	cfg := DefaultConfig()
	cfg.Load.Shapes = map[string]runner.Shape{"ramp": runner.Stages{{Duration: time.Second, Users: 1}}}
	assert.NoError(t, cfg.Validate())
}

// On a master the chosen shape runs there and drives the workers: the
// worker runs the shape's users, and the next run's shape its own count.
func TestWebFormShapeClassOnAMaster(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	port := clusterPort(t)
	cfg := DefaultConfig()
	cfg.Host = srv.URL
	cfg.Cluster.Master = true
	cfg.Cluster.MasterBindPort, _ = strconv.Atoi(port)
	cfg.Web.ClassPicker = true
	cfg.StopTimeout = 5 * time.Second
	cfg.Load.Shapes = map[string]runner.Shape{
		"three": runner.Stages{{Duration: time.Hour, Users: 3, SpawnRate: 1000}},
		"five":  runner.Stages{{Duration: time.Hour, Users: 5, SpawnRate: 1000}},
	}
	base, end := startWebSession(t, cfg)
	defer http.DefaultClient.CloseIdleConnections()

	w, stopWorker := startWorkerOf(t, base, runner.WorkerOptions{
		Classes: []user.Spawner{shopperClass("")},
		Client:  transport.ClientOptions{Address: "127.0.0.1:" + port, BackoffBase: 20 * time.Millisecond},
	})

	for _, c := range []struct {
		shape string
		users int
	}{{"three", 3}, {"five", 5}} {
		code, body := postForm(t, base+"/swarm", url.Values{"shape_class": {c.shape}})
		require.Equal(t, http.StatusOK, code, body)
		st := waitSwarm(t, base, c.shape, func(s swarmState) bool { return s.UserCount == c.users })
		assert.Equal(t, c.shape, st.ShapeClass)
		require.Eventually(t, func() bool { return w.UserCount() == c.users }, 20*time.Second, 20*time.Millisecond, "the worker runs the shape's users")
		code, body = postForm(t, base+"/stop", nil)
		require.Equal(t, http.StatusOK, code, body)
		waitSwarm(t, base, "stopped", func(s swarmState) bool { return s.State == "stopped" && s.UserCount == 0 })
	}
	stopWorker()
	res := end()
	assert.Positive(t, res.Stats.Total.NumRequests)
}
