package locust

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/user"
	"github.com/golocust/golocust/webui"
)

func TestParseLoadFlags(t *testing.T) {
	c := DefaultConfig()
	_, err := parseCommandLine(&c, []string{"--stages", "30s:10, 1m:50@5,30s:0", "-i", "1000"}, env(nil))
	require.NoError(t, err)
	assert.Equal(t, runner.Stages{{Duration: 30 * time.Second, Users: 10}, {Duration: time.Minute, Users: 50, SpawnRate: 5}, {Duration: 30 * time.Second}}, c.Load.Stages)
	assert.Equal(t, int64(1000), c.Load.Iterations)

	c = DefaultConfig()
	_, err = parseCommandLine(&c, []string{"--arrival-rate", "20", "--arrival-stages", "30s:100,1m:500", "--max-users", "50", "--pre-allocate", "10"}, env(nil))
	require.NoError(t, err)
	assert.Equal(t, 20.0, c.Load.ArrivalRate)
	assert.Equal(t, []runner.RateStage{{Duration: 30 * time.Second, Rate: 100}, {Duration: time.Minute, Rate: 500}}, c.Load.ArrivalStages)
	assert.Equal(t, 50, c.Load.MaxUsers)
	assert.Equal(t, 10, c.Load.PreAllocate)
	require.NoError(t, c.Validate())

	c = DefaultConfig()
	_, err = parseCommandLine(&c, nil, env(map[string]string{"LOCUST_STEPS": "10/30s:100@5"}))
	require.NoError(t, err)
	assert.Equal(t, &runner.Steps{Step: 10, Interval: 30 * time.Second, Max: 100, SpawnRate: 5}, c.Load.Steps)
}

func TestBadLoadFlagsNameTheFlagWithAnExample(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--stages", "30s"}, []string{`for --stages`, `"30s:10,1m:50@5,30s:0"`}},
		{[]string{"--stages", "30x:10"}, []string{`for --stages`, "bad duration"}},
		{[]string{"--stages", "30s:-1"}, []string{`for --stages`, "bad user count"}},
		{[]string{"--stages", "30s:10@0"}, []string{`for --stages`, "bad spawn rate"}},
		{[]string{"--arrival-stages", "30s:fast"}, []string{`for --arrival-stages`, `"30s:100,1m:500"`}},
		{[]string{"--arrival-rate", "-3"}, []string{`for --arrival-rate`, "--arrival-rate 200"}},
		{[]string{"--steps", "10:100"}, []string{`for --steps`, `"10/30s:100@5"`}},
		{[]string{"-i", "0"}, []string{`for -i/--iterations`, "-i 1000"}},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		_, err := parseCommandLine(&cfg, c.args, env(nil))
		var ue *UsageError
		require.ErrorAs(t, err, &ue, "%v", c.args)
		for _, w := range c.want {
			assert.Contains(t, err.Error(), w, "%v", c.args)
		}
	}
}

func TestLoadConfigValidate(t *testing.T) {
	cases := []struct {
		load LoadConfig
		want string
	}{
		{LoadConfig{Stages: runner.Stages{{Duration: time.Second, Users: 1}}, ArrivalRate: 5}, "choose one"},
		{LoadConfig{Shape: runner.Steps{Step: 1, Interval: time.Second}, Steps: &runner.Steps{Step: 1, Interval: time.Second}}, "choose one"},
		{LoadConfig{MaxUsers: 5}, "add --arrival-rate"},
		{LoadConfig{ArrivalRate: 5, PreAllocate: 10, MaxUsers: 5}, "exceed the maximum"},
		{LoadConfig{Iterations: -1}, "-i/--iterations"},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		cfg.Load = c.load
		err := cfg.Validate()
		require.Error(t, err, "%+v", c.load)
		assert.Contains(t, err.Error(), c.want)
	}
}

// The fuzz targets check that what the parsers accept prints back to an
// equal value, and is in range with a load model the runner can start
// (checkAccepted). The seed corpus runs as a test.
func FuzzParseStages(f *testing.F) {
	for _, s := range []string{"30s:10,1m:50,30s:0", "30s:10@5", "0:0", "1h20m:3@0.5", "", ",", "30s:", ":5", "10:1@", "1s:1@NaN", "1s:99999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := parseStages(s)
		if err != nil {
			return
		}
		v := stagesValue(&st)
		again, err := parseStages(v.String())
		require.NoError(t, err, "%q printed as %q", s, v.String())
		require.Equal(t, st, again)
		c := DefaultConfig()
		c.Load.Stages = st
		checkAccepted(t, s, &c)
	})
}

func FuzzParseRateStages(f *testing.F) {
	for _, s := range []string{"30s:100,1m:500", "0s:5", "1s:0.25", "1s:-1", "1s:Inf", "x:1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := parseRateStages(s)
		if err != nil {
			return
		}
		v := rateStagesValue(&st)
		again, err := parseRateStages(v.String())
		require.NoError(t, err, "%q printed as %q", s, v.String())
		require.Equal(t, st, again)
		c := DefaultConfig()
		c.Load.ArrivalStages = st
		checkAccepted(t, s, &c)
	})
}

func FuzzParseSteps(f *testing.F) {
	for _, s := range []string{"10/30s:100@5", "1/1s", "5/2m:10", "0/1s", "1/0s", "1/1s:0", "1/1s@-2", "/", "@:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := parseSteps(s)
		if err != nil {
			return
		}
		v := stepsValue(&st)
		again, err := parseSteps(v.String())
		require.NoError(t, err, "%q printed as %q", s, v.String())
		require.Equal(t, st, again)
		c := DefaultConfig()
		c.Load.Steps = st
		checkAccepted(t, s, &c)
	})
}

// TestStagesFromTheCommandLine: --stages drives the run, which ends after
// the last stage; -u is ignored with a warning.
func TestStagesFromTheCommandLine(t *testing.T) {
	tg := newStallTarget(t, 0, 0)
	var stdout, stderr loadOut
	start := time.Now()
	code := Run(context.Background(), []string{"--headless", "-u", "50", "-H", tg.URL, "--stages", "1s:3@10,1s:3", "--only-summary"}, nil, &stdout, &stderr, shopperLikeClass())
	assert.Equal(t, 0, code, stderr.String())
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Contains(t, stderr.String(), "-u/--users and -r/--spawn-rate are ignored")
	assert.Contains(t, stderr.String(), "the load shape ended the run")
	assert.NotEmpty(t, tg.arrivals())
}

func shopperLikeClass() user.Class[hitter] {
	c := hitterClass()
	c.Wait = user.Constant(50 * time.Millisecond)
	return c
}

func TestShapeDrivenAndIterationsAccessors(t *testing.T) {
	cfg := DefaultConfig()
	s := &session{cfg: &cfg}
	assert.False(t, s.shapeDriven())
	_, _, ok := s.iterations()
	assert.False(t, ok)
	cfg.Load.Stages = runner.Stages{{Duration: time.Second, Users: 1}}
	assert.True(t, s.shapeDriven())
}

// TestShapeFromCode: a ShapeFunc in Config.Load.Shape runs 3 users for
// 1.5 s and then ends the run, long before its run time.
func TestShapeFromCode(t *testing.T) {
	tg := newStallTarget(t, 0, 0)
	start := time.Now()
	var peak int
	shape := runner.ShapeFunc(func(elapsed time.Duration, users int) (runner.ShapeTick, bool) {
		peak = max(peak, users)
		return runner.ShapeTick{Users: 3, SpawnRate: 3}, elapsed < 1500*time.Millisecond
	})
	res := RunHeadless(t, Config{Host: tg.URL, RunTime: time.Minute, Load: LoadConfig{Shape: shape}}, shopperLikeClass())
	require.NotNil(t, res)
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Equal(t, 3, peak, "the shape saw its 3 users")
	assert.Positive(t, res.Stats.Total.NumRequests)
}

type nopDriver struct{ state runner.State }

func (nopDriver) Start(int, float64) error    { return nil }
func (nopDriver) Stop()                       {}
func (nopDriver) Quit()                       {}
func (d nopDriver) State() runner.State       { return d.state }
func (nopDriver) UserCount() int              { return 0 }
func (nopDriver) ClassCounts() map[string]int { return nil }
func (nopDriver) StopTest() <-chan error      { return nil }

func TestEditingAShapeDrivenRunIsAConflict(t *testing.T) {
	stages := runner.Stages{{Duration: time.Second, Users: 1}}
	// A run under a model, begun (its first Start), then edited.
	begun := func(l LoadConfig) driver {
		d := runner.NewLoadModel(l.model(), runner.LoadModelOptions{}).Drive(nopDriver{runner.StateRunning}, l.shape())
		require.NoError(t, editUsers(d, 1, 1))
		t.Cleanup(d.Stop)
		return d
	}
	d := begun(LoadConfig{Stages: stages})
	assert.ErrorIs(t, editUsers(d, 5, 1), webui.ErrConflict)
	d = begun(LoadConfig{Iterations: 5})
	assert.NoError(t, editUsers(d, 5, 1), "an iteration limit alone leaves the user count to the UI")
}

// TestIterationLimitWithArrivalRate: -i 50 over 100 it/s stops after
// exactly 50 iterations, about half a second in; the pool does not keep
// growing once the limit is reached.
func TestIterationLimitWithArrivalRate(t *testing.T) {
	tg := newStallTarget(t, 0, 0)
	start := time.Now()
	var stderr loadOut
	res := RunHeadless(t, Config{Host: tg.URL, RunTime: time.Minute, Stderr: &stderr, Load: LoadConfig{ArrivalRate: 100, Iterations: 50, PreAllocate: 2, MaxUsers: 20}}, hitterClass())
	require.NotNil(t, res)
	assert.Equal(t, int64(50), res.Stats.Total.NumRequests)
	assert.Len(t, tg.arrivals(), 50)
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Contains(t, stderr.String(), "iterations: 50 run, ", "dropped ones (a busy machine) do not count")
}

// TestIterationLimitWithAShape: a shape asking for ever more users stops
// at the limit too.
func TestIterationLimitWithAShape(t *testing.T) {
	tg := newStallTarget(t, 0, 0)
	res := RunHeadless(t, Config{Host: tg.URL, RunTime: time.Minute,
		Load: LoadConfig{Steps: &runner.Steps{Step: 2, Interval: 100 * time.Millisecond, SpawnRate: 10}, Iterations: 40}}, shopperLikeClass())
	require.NotNil(t, res)
	assert.Equal(t, int64(40), res.Stats.Total.NumRequests)
	assert.Len(t, tg.arrivals(), 40)
}

// TestArrivalAndIterationsOnAMaster: a master takes an arrival rate and an
// iteration limit (the workers carry them out), but not an iteration
// limit with a shape.
func TestArrivalAndIterationsOnAMaster(t *testing.T) {
	for _, l := range []LoadConfig{{ArrivalRate: 5}, {Iterations: 5}, {ArrivalRate: 5, Iterations: 5}} {
		cfg := DefaultConfig()
		cfg.Cluster.Master = true
		cfg.Load = l
		s := &session{cfg: &cfg}
		require.NoError(t, s.setupLoad(), "%+v", l)
		assert.NotNil(t, s.cfg.Load.clusterLoad())
	}
	{
		cfg := DefaultConfig()
		cfg.Cluster.Master = true
		cfg.Load = LoadConfig{Iterations: 5, Stages: runner.Stages{{Duration: time.Second, Users: 2}}}
		s := &session{cfg: &cfg}
		var ue *UsageError
		assert.ErrorAs(t, s.setupLoad(), &ue)
	}
	cfg := DefaultConfig()
	cfg.Cluster.Master = true
	cfg.Load.Stages = runner.Stages{{Duration: time.Second, Users: 2}}
	s := &session{cfg: &cfg}
	require.NoError(t, s.setupLoad(), "a shape drives a master")
	assert.True(t, s.shapeDriven())
}

// TestArrivalRateGrowsThroughAStall: the same stall with room for 400
// users: the pool grows while the users hang, so requests keep arriving
// through the stall, more than the 10 pre-allocated users could send
// (the exact growth is asserted in ./runner under synctest).
func TestArrivalRateGrowsThroughAStall(t *testing.T) {
	tg := newStallTarget(t, time.Second, time.Second)
	var stderr loadOut
	res := RunHeadless(t, Config{
		Host: tg.URL, RunTime: 30 * time.Second, Stderr: &stderr,
		Load: LoadConfig{ArrivalRate: 200, ArrivalStages: []runner.RateStage{{Duration: 5 * time.Second, Rate: 200}}, PreAllocate: 10, MaxUsers: 400},
	}, hitterClass())
	require.NotNil(t, res)
	run := res.Stats.Total.NumRequests
	out := stderr.String()
	assert.Contains(t, out, sprintf("iterations: %d run, ", run))
	i := strings.Index(out, "iterations: ")
	require.GreaterOrEqual(t, i, 0, out)
	var gotRun, dropped int64
	_, err := fmt.Sscanf(out[i:], "iterations: %d run, %d dropped", &gotRun, &dropped)
	require.NoError(t, err)
	assert.InDelta(t, 1000, run+dropped, 2, "every scheduled iteration is run or dropped")
	arr := tg.arrivals()
	require.Len(t, arr, int(run), "the target saw every iteration that ran")
	first := arr[0]
	during := 0
	for _, a := range arr {
		if s := a.Sub(first); s >= time.Second && s < 2*time.Second {
			during++
		}
	}
	// Each user is held by the first request it sends in the stall, so 10
	// users without growth put at most 10 there.
	assert.Greater(t, during, 2*10, "requests kept arriving during the stall: the pool grew")
	assert.LessOrEqual(t, maxPerWindow(arr, 500*time.Millisecond), burstBound(200, 500*time.Millisecond), "no burst above the rate")
	t.Logf("run %d, dropped %d, during the stall %d", run, dropped, during)
}

// loadOut is a buffer safe for the session's concurrent writers (the log
// and the tables) and a test reading it.
type loadOut struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *loadOut) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *loadOut) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// TestIterationsCSV: with --csv, a load model that counts iterations adds
// PREFIX_iterations.csv, whose last row has the final counts.
func TestIterationsCSV(t *testing.T) {
	tg := newStallTarget(t, 0, 0)
	prefix := filepath.Join(t.TempDir(), "run")
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), []string{"--headless", "-H", tg.URL, "--arrival-rate", "100", "--arrival-stages", "1s:100", "--max-users", "5",
		"--csv", prefix, "--only-summary"}, nil, &stdout, &stderr, hitterClass())
	require.Equal(t, 0, code, stderr.String())
	rows := readCSV(t, prefix+"_iterations.csv")
	assert.Equal(t, []string{"Timestamp", "Iterations", "Dropped Iterations"}, rows[0])
	last := rows[len(rows)-1]
	run, err := strconv.Atoi(last[1])
	require.NoError(t, err)
	dropped, err := strconv.Atoi(last[2])
	require.NoError(t, err)
	assert.InDelta(t, 100, run+dropped, 2, "every scheduled iteration is run or dropped")
	stats := readCSV(t, prefix+"_stats.csv")
	assert.Equal(t, last[1], stats[len(stats)-1][2], "one request per iteration")
}
