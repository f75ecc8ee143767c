package locust

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/runner"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestParseCommandLineForms(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want func(t *testing.T, c Config)
	}{
		{"short flags", []string{"-u", "50", "-r", "10", "-t", "1h20m", "-H", "http://127.0.0.1:1"}, nil, func(t *testing.T, c Config) {
			assert.Equal(t, 50, c.Users)
			assert.Equal(t, 10.0, c.SpawnRate)
			assert.Equal(t, 80*time.Minute, c.RunTime)
			assert.Equal(t, "http://127.0.0.1:1", c.Host)
		}},
		{"long flags with one or two dashes", []string{"--users=7", "-spawn-rate", "0.5", "--headless", "-run-time=20"}, nil, func(t *testing.T, c Config) {
			assert.Equal(t, 7, c.Users)
			assert.Equal(t, 0.5, c.SpawnRate)
			assert.True(t, c.Headless)
			assert.Equal(t, 20*time.Second, c.RunTime)
		}},
		{"classes between flags", []string{"Shopper", "-u", "3", "Visitor", "--headless"}, nil, func(t *testing.T, c Config) {
			assert.Equal(t, []string{"Shopper", "Visitor"}, c.Classes)
			assert.Equal(t, 3, c.Users)
			assert.True(t, c.Headless)
		}},
		{"environment fills what flags leave", []string{"-u", "5"}, map[string]string{
			"LOCUST_USERS": "99", "LOCUST_SPAWN_RATE": "4", "LOCUST_HEADLESS": "true",
			"LOCUST_TAGS": "a,b", "LOCUST_USER_CLASSES": "Visitor",
		}, func(t *testing.T, c Config) {
			assert.Equal(t, 5, c.Users, "the flag wins over LOCUST_USERS")
			assert.Equal(t, 4.0, c.SpawnRate)
			assert.True(t, c.Headless)
			assert.Equal(t, []string{"a", "b"}, c.Tags)
			assert.Equal(t, []string{"Visitor"}, c.Classes)
		}},
		{"repeatable tags", []string{"-T", "a", "--tags", "b,c", "-E", "slow"}, nil, func(t *testing.T, c Config) {
			assert.Equal(t, []string{"a", "b", "c"}, c.Tags)
			assert.Equal(t, []string{"slow"}, c.ExcludeTags)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			_, err := parseCommandLine(&c, tc.args, env(tc.env))
			require.NoError(t, err)
			tc.want(t, c)
		})
	}
}

func TestBadCommandLinesAreOneLineUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-u", "abc"}, nil, `invalid value "abc" for -u/--users`},
		{[]string{"-u", `a"b`}, nil, `invalid value "a\"b" for -u/--users`}, // quoted once, as typed
		{[]string{"--users", "-5"}, nil, `invalid value "-5" for -u/--users`},
		{[]string{"-r", "-1"}, nil, `invalid value "-1" for -r/--spawn-rate`},
		{[]string{"-r", "NaN"}, nil, `invalid value "NaN" for -r/--spawn-rate`},
		{[]string{"-r", "Inf"}, nil, `invalid value "Inf" for -r/--spawn-rate`},
		{[]string{"-r", "1e-10"}, nil, `invalid value "1e-10" for -r/--spawn-rate: want a number from 0.0001 to 1000000 users per second`},
		{[]string{"--stages", "10s:5@1e-10"}, nil, `from 0.0001 to 1000000 users per second`},
		{[]string{"--steps", "10/30s:100@1e-10"}, nil, `from 0.0001 to 1000000 users per second`},
		{[]string{"-t", "10x"}, nil, `invalid value "10x" for -t/--run-time`},
		{[]string{"--userz", "3"}, nil, "unknown flag --userz: did you mean -u/--users?"},
		{[]string{"-userz=3"}, nil, "unknown flag -userz: did you mean -u/--users?"},
		{[]string{"-f", "locustfile.py"}, nil, "-f: a golocust scenario is a Go program, so this program is the locustfile"},
		{[]string{"--locustfile=x.py"}, nil, "--locustfile: a golocust scenario is a Go program"},
		{[]string{"-u"}, nil, "-u/--users needs a value"},
		{nil, map[string]string{"LOCUST_USERS": "many"}, `invalid value "many" in LOCUST_USERS for -u/--users`},
		{[]string{"-L", "LOUD"}, nil, `invalid value "LOUD" for -L/--loglevel`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run(context.Background(), tc.args, env(tc.env), &stdout, &stderr)
			assert.Equal(t, ExitUsage, code)
			msg := stderr.String()
			assert.Contains(t, msg, tc.want)
			assert.Equal(t, 1, strings.Count(msg, "\n"), "one line: %q", msg)
		})
	}
}

func TestValidateNamesEveryProblem(t *testing.T) {
	c := DefaultConfig()
	c.Users = -1
	c.Host = "example"
	c.CSVFullHistory = true
	err := c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-u/--users")
	assert.Contains(t, err.Error(), "-H/--host")
	assert.Contains(t, err.Error(), "--csv-full-history needs --csv")
}

// Config (what RunHeadless and MainWith take) is bounded like the flags.
func TestValidateBoundsRatesAndStages(t *testing.T) {
	c := DefaultConfig()
	c.SpawnRate = 1e-10
	c.Load.Stages = runner.Stages{{Duration: time.Second, Users: 5, SpawnRate: 2e6}}
	c.Load.ArrivalRate = 1e300
	err := c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-r/--spawn-rate is 1e-10: want a number from 0.0001 to 1000000 users per second")
	assert.Contains(t, err.Error(), "--stages: stage 1 wants")
	assert.Contains(t, err.Error(), "--arrival-rate is 1e+300")
	c = DefaultConfig()
	c.SpawnRate = 0 // RunHeadless: every user at once
	require.NoError(t, c.Validate())
}

func TestHelpListsFlagsAndEnv(t *testing.T) {
	var stdout bytes.Buffer
	code := Run(context.Background(), []string{"-h"}, nil, &stdout, &stdout)
	assert.Equal(t, ExitOK, code)
	out := stdout.String()
	for _, s := range []string{"-u, --users", "-r, --spawn-rate", "LOCUST_RUN_TIME", "--csv-full-history", "Exit codes"} {
		assert.Contains(t, out, s)
	}
}

// Config{} means the defaults; --exit-code-on-error 0 (flag or
// environment) still asks for exit code 0.
func TestZeroConfigMeansTheDefaults(t *testing.T) {
	d := Config{}.withDefaults()
	def := DefaultConfig()
	assert.Equal(t, def.ExitCodeOnError, d.ExitCodeOnError)
	assert.Equal(t, 1, d.errorExitCode())
	assert.Equal(t, def.LogLevel, d.LogLevel)
	assert.Equal(t, def.Web.Host, d.Web.Host)
	assert.Equal(t, def.Health.Host, d.Health.Host)
	assert.Equal(t, def.withDefaults(), def, "DefaultConfig needs no defaults")

	for _, tc := range []struct {
		args []string
		env  map[string]string
		want int
	}{
		{[]string{"--exit-code-on-error", "0"}, nil, 0},
		{nil, map[string]string{"LOCUST_EXIT_CODE_ON_ERROR": "0"}, 0},
		{[]string{"--exit-code-on-error", "4"}, nil, 4},
		{nil, nil, 1},
	} {
		c := DefaultConfig()
		_, err := parseCommandLine(&c, tc.args, env(tc.env))
		require.NoError(t, err)
		c = c.withDefaults()
		require.NoError(t, c.Validate())
		assert.Equal(t, tc.want, c.errorExitCode(), "%v %v", tc.args, tc.env)
	}
	c := Config{ExitCodeOnError: ExitZeroOnError}.withDefaults()
	assert.Equal(t, 0, c.errorExitCode())
}
