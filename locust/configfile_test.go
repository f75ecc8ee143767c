package locust

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/internal/demotarget"
)

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
}

// Precedence, lowest first: ~/.locust.conf, ./locust.conf, --config,
// LOCUST_*, the command line; as in Locust.
func TestConfigFilesLayerUnderEnvAndCommandLine(t *testing.T) {
	home, dir := t.TempDir(), t.TempDir()
	t.Chdir(dir)
	writeFile(t, filepath.Join(home, ".locust.conf"), "# home defaults\nusers = 2\nspawn-rate = 3\nrun-time = 1m\nhost = http://127.0.0.1:1\nexclude-tags = slow\n")
	writeFile(t, filepath.Join(dir, "locust.conf"), "[locust]\nusers: 4\nlocustfile = locustfile.py\nheadless = true\n")
	writeFile(t, filepath.Join(dir, "ci", "run.conf"), "users = 5\ntags = [a, \"b\"]\nspawn_rate = 9 # per second\n--loglevel = DEBUG\n")
	c := DefaultConfig()
	_, err := parseCommandLine(&c, []string{"--config", "ci/run.conf", "-t", "2m"},
		env(map[string]string{"HOME": home, "LOCUST_SPAWN_RATE": "7"}))
	require.NoError(t, err)
	assert.Equal(t, 5, c.Users, "--config beats ./locust.conf beats ~/.locust.conf")
	assert.Equal(t, 7.0, c.SpawnRate, "LOCUST_SPAWN_RATE beats the files")
	assert.Equal(t, 2*time.Minute, c.RunTime, "the command line beats the files")
	assert.Equal(t, "http://127.0.0.1:1", c.Host, "from the home file")
	assert.Equal(t, []string{"a", "b"}, c.Tags)
	assert.Equal(t, []string{"slow"}, c.ExcludeTags)
	assert.Equal(t, "DEBUG", c.LogLevel)
	assert.True(t, c.Headless)

	c = DefaultConfig()
	_, err = parseCommandLine(&c, []string{"--headful"}, env(map[string]string{"HOME": home}))
	require.NoError(t, err)
	assert.False(t, c.Headless, "--headful overrides a headless from a file")
	assert.Equal(t, 4, c.Users)

	c = DefaultConfig()
	_, err = parseCommandLine(&c, nil, env(map[string]string{"HOME": home, "LOCUST_CONFIG": filepath.Join(dir, "ci", "run.conf")}))
	require.NoError(t, err)
	assert.Equal(t, 5, c.Users, "LOCUST_CONFIG names the file as --config does")
}

func TestBadConfigFilesAreUsageErrorsThatSayWhere(t *testing.T) {
	cases := []struct{ file, want string }{
		{"users = 3\nspawn_rat = 10\n", `locust.conf:2: unknown key "spawn-rat": did you mean spawn-rate?`},
		{"users = many\n", `invalid value "many" in locust.conf:1 for -u/--users`},
		{"config = other.conf\n", "locust.conf:1: a config file cannot name another one"},
		{"users\n", `locust.conf:1: want key = value, got "users"`},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			t.Chdir(t.TempDir())
			writeFile(t, "locust.conf", tc.file)
			var stderr bytes.Buffer
			code := Run(t.Context(), nil, nil, &bytes.Buffer{}, &stderr, shopperClass(""))
			assert.Equal(t, ExitUsage, code)
			assert.Contains(t, stderr.String(), tc.want)
		})
	}
	t.Run("missing --config", func(t *testing.T) {
		t.Chdir(t.TempDir())
		var stderr bytes.Buffer
		code := Run(t.Context(), []string{"--config", "nope.conf"}, nil, &bytes.Buffer{}, &stderr, shopperClass(""))
		assert.Equal(t, ExitUsage, code)
		assert.Contains(t, stderr.String(), "--config nope.conf: open nope.conf: no such file")
	})
}

// A headless run configured by ./locust.conf alone, against a counting
// target.
func TestRunFromALocustConfAlone(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	t.Chdir(t.TempDir())
	writeFile(t, "locust.conf", "headless = true\nusers = 3\nspawn-rate = 100\nrun-time = 1\nhost = "+srv.URL+"\njson = true\nonly-summary = true\n")
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), nil, nil, &stdout, &stderr, shopperClass(""))
	require.Equal(t, ExitOK, code, stderr.String())
	assert.Regexp(t, `"name":\s*"/items"`, stdout.String(), "the JSON output, indented or not")
	assert.Positive(t, srv.Total())
	assert.Equal(t, srv.Total(), jsonRequestTotal(t, stdout.Bytes()))
	assert.Contains(t, stderr.String(), "Aggregated")
}
