package locust

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/internal/demotarget"
	"github.com/golocust/golocust/param"
	"github.com/golocust/golocust/runner"
	"github.com/golocust/golocust/user"
)

// The hooks see the run: options, host, custom parameters, the runner's
// state and counts, and the statistics; the deprecated hooks still run.
func TestHooksSeeTheRunsEnvironment(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	label := param.String("label", "none", "a label")
	var order []string
	type seen struct {
		host, label string
		users, peak int
		state       runner.State
		requests    int64
		workers     int
		index       int
	}
	var atInit, atStart, atStop seen
	cfg := Config{Users: 3, RunTime: time.Second, Host: srv.URL,
		Params: []param.Spec{label}, ParamValues: map[string]string{"label": "checkout"}}
	cfg.OnTestStart = func(context.Context) error { order = append(order, "OnTestStart"); return nil }
	cfg.OnTestStop = func(context.Context) error { order = append(order, "OnTestStop"); return nil }
	look := func(e *Environment) seen {
		return seen{host: e.Host(), label: label.Get(e.Params()), users: e.UserCount(), peak: e.Options().Users,
			state: e.State(), requests: e.Stats().Total.NumRequests, workers: e.WorkerCount(), index: e.WorkerIndex()}
	}
	cfg.Hooks = Hooks{
		Init: func(e *Environment) error { order = append(order, "Init"); atInit = look(e); return nil },
		TestStart: func(_ context.Context, e *Environment) error {
			order = append(order, "TestStart")
			atStart = look(e)
			return nil
		},
		TestStop: func(_ context.Context, e *Environment) error {
			order = append(order, "TestStop")
			atStop = look(e)
			return nil
		},
	}
	res := RunHeadless(t, cfg, shopperClass(""))
	require.NotNil(t, res)
	assert.Equal(t, []string{"Init", "OnTestStart", "TestStart", "OnTestStop", "TestStop"}, order)
	assert.Equal(t, seen{host: srv.URL, label: "checkout", peak: 3, state: runner.StateReady, index: -1}, atInit)
	assert.Equal(t, seen{host: srv.URL, label: "checkout", peak: 3, state: runner.StateReady, index: -1}, atStart)
	assert.Equal(t, srv.URL, atStop.host)
	assert.Equal(t, runner.StateStopped, atStop.state)
	assert.Zero(t, atStop.users)
	assert.Positive(t, atStop.requests)
	assert.Equal(t, srv.Total(), atStop.requests, "TestStop sees the test's final numbers")
	assert.Equal(t, res.Stats.Total.NumRequests, atStop.requests)
}

func TestAFailingTestStartHookRefusesTheRun(t *testing.T) {
	cfg := Config{Users: 1, RunTime: time.Second, Host: "http://127.0.0.1:1"}
	cfg.Hooks.TestStart = func(context.Context, *Environment) error { return assert.AnError }
	cfg.Headless = true
	_, err := execute(t.Context(), &cfg, []user.Spawner{shopperClass("")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Hooks.TestStart")
}

func TestBadCustomParametersAreNamed(t *testing.T) {
	n := param.Int("n", 1, "a count")
	c := DefaultConfig()
	c.Params = []param.Spec{n, param.String("users", "", "clashes"), param.String("Bad Name", "", "")}
	c.ParamValues = map[string]string{"n": "many", "m": "1"}
	err := c.Validate()
	require.Error(t, err)
	for _, want := range []string{`--n is "many": want a whole number`, `Config.ParamValues["m"]: no such custom parameter`,
		`custom parameter "users" is the name of a built-in flag`, `custom parameter "Bad Name": want a flag name`} {
		assert.Contains(t, err.Error(), want)
	}
}
