package locust

import (
	"bytes"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/param"
)

// A custom parameter is a key of the config files like any flag, with
// the same precedence: ~/.locust.conf < ./locust.conf < --config <
// LOCUST_* < the command line; a misspelt key suggests the parameter.
func TestCustomParametersFromConfigFiles(t *testing.T) {
	home, dir := t.TempDir(), t.TempDir()
	t.Chdir(dir)
	writeFile(t, filepath.Join(home, ".locust.conf"), "label = from-home\n")
	writeFile(t, filepath.Join(dir, "locust.conf"), "label = from-file\n")
	writeFile(t, filepath.Join(dir, "ci.conf"), "label = \"from-config\"\n")
	parse := func(args []string, vars map[string]string) string {
		t.Helper()
		c := DefaultConfig()
		c.Params = []param.Spec{labelParam}
		vars["HOME"] = home
		_, err := parseCommandLine(&c, args, env(vars))
		require.NoError(t, err)
		return labelParam.Get(param.NewValues(c.ParamValues))
	}
	assert.Equal(t, "from-file", parse(nil, map[string]string{}), "./locust.conf beats ~/.locust.conf")
	assert.Equal(t, "from-config", parse([]string{"--config", "ci.conf"}, map[string]string{}), "--config beats ./locust.conf")
	assert.Equal(t, "from-env", parse([]string{"--config", "ci.conf"}, map[string]string{"LOCUST_LABEL": "from-env"}), "LOCUST_LABEL beats the files")
	assert.Equal(t, "from-cli", parse([]string{"--label", "from-cli"}, map[string]string{"LOCUST_LABEL": "from-env"}), "the command line beats all")

	writeFile(t, filepath.Join(dir, "locust.conf"), "labl = x\n")
	var stderr bytes.Buffer
	cfg := DefaultConfig()
	cfg.Params = []param.Spec{labelParam}
	code := RunWith(t.Context(), cfg, nil, env(map[string]string{"HOME": home}), &bytes.Buffer{}, &stderr, labellerClass())
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, stderr.String(), `locust.conf:1: unknown key "labl": did you mean label?`)
}

// A headless run configured by ./locust.conf alone, the custom parameter
// included: every request the target saw carries the file's value, and
// the JSON output counts them all.
func TestRunWithACustomParameterFromLocustConf(t *testing.T) {
	tg := newLabelTarget(t)
	t.Chdir(t.TempDir())
	writeFile(t, "locust.conf", "headless = true\nusers = 2\nspawn-rate = 100\nrun-time = 1\nhost = "+tg.URL+
		"\njson = true\nonly-summary = true\nlabel = from-the-file\n")
	cfg := DefaultConfig()
	cfg.Params = []param.Spec{labelParam}
	var stdout, stderr bytes.Buffer
	code := RunWith(t.Context(), cfg, nil, env(map[string]string{"HOME": t.TempDir()}), &stdout, &stderr, labellerClass())
	require.Equal(t, ExitOK, code, stderr.String())
	seen := tg.counts()
	assert.Len(t, seen, 1, "every request carried the file's value: %v", seen)
	assert.Positive(t, seen["from-the-file"])
	assert.Equal(t, seen["from-the-file"], jsonRequestTotal(t, stdout.Bytes()), "the JSON counts what the target saw")
}

// A secret parameter's bad value is never echoed: a mistyped secret is
// close to the real one. The error names the flag and what it wants.
func TestABadSecretParameterIsNotEchoed(t *testing.T) {
	pin := param.Int("pin", 0, "the PIN", param.Secret())
	const typed = "12a4"
	for _, tc := range []struct {
		name string
		args []string
		vars map[string]string
		file string
		want string
	}{
		{"command line", []string{"--pin", typed}, nil, "", "invalid value (secret) for --pin: want a whole number"},
		{"environment", nil, map[string]string{"LOCUST_PIN": typed}, "", "invalid value (secret) in LOCUST_PIN for --pin: want a whole number"},
		{"config file", nil, nil, "pin = " + typed + "\n", "invalid value (secret) in locust.conf:1 for --pin: want a whole number"},
		{"Config.ParamValues", nil, nil, "", `--pin is (secret): want a whole number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if tc.file != "" {
				writeFile(t, "locust.conf", tc.file)
			}
			vars := map[string]string{"HOME": t.TempDir()}
			for k, v := range tc.vars {
				vars[k] = v
			}
			cfg := DefaultConfig()
			cfg.Params = []param.Spec{pin}
			if tc.name == "Config.ParamValues" {
				cfg.ParamValues = map[string]string{"pin": typed}
			}
			var stdout, stderr bytes.Buffer
			code := RunWith(t.Context(), cfg, append([]string{"--headless"}, tc.args...), env(vars), &stdout, &stderr, labellerClass())
			assert.Equal(t, ExitUsage, code)
			assert.Contains(t, stderr.String(), tc.want)
			assert.NotContains(t, stderr.String()+stdout.String(), typed)
		})
	}
}

// labelTarget is a local target that counts its requests per value of
// their X-Label header (the custom parameter labellerClass sends).
type labelTarget struct {
	*httptest.Server
	mu   sync.Mutex
	seen map[string]int64
}

func newLabelTarget(t *testing.T) *labelTarget {
	lt := &labelTarget{seen: map[string]int64{}}
	lt.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lt.mu.Lock()
		lt.seen[r.Header.Get("X-Label")]++
		lt.mu.Unlock()
	}))
	t.Cleanup(lt.Close)
	return lt
}

// count returns how many requests carried label.
func (lt *labelTarget) count(label string) int64 {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return lt.seen[label]
}

// counts returns a copy of the counts per label.
func (lt *labelTarget) counts() map[string]int64 {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return maps.Clone(lt.seen)
}
