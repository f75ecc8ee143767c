package locust

import (
	"bytes"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/runner"
)

// TestUserLimitRefusesAbsurdRuns: 10 million users were accepted until the
// process ran out of memory; now -u past --user-limit is a usage error
// that names the flag to raise, and --user-limit raises it.
func TestUserLimitRefusesAbsurdRuns(t *testing.T) {
	var stderr bytes.Buffer
	code := Run(t.Context(), []string{"--headless", "-u", "10000000", "-H", "http://127.0.0.1:1"}, nil, &stderr, &stderr, shopperClass(""))
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, stderr.String(), "-u/--users is 10000000: more than --user-limit 100000; raise --user-limit")

	c := DefaultConfig()
	c.Users = 200_000
	c.UserLimit = 300_000
	require.NoError(t, c.Validate(), "--user-limit raises the limit")
	c.UserLimit = -1
	assert.ErrorContains(t, c.Validate(), "--user-limit is -1")

	cfg := DefaultConfig()
	_, err := parseCommandLine(&cfg, []string{"--user-limit", "50", "-u", "50"}, func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	assert.Equal(t, 50, cfg.UserLimit)
	def := DefaultConfig()
	assert.Equal(t, runner.DefaultUserLimit, def.userLimit())
}

// TestWebFormRefusesMoreUsersThanTheLimit: the web form gets a 400 naming
// user_count and the limit, and nothing starts.
func TestWebFormRefusesMoreUsersThanTheLimit(t *testing.T) {
	cfg := DefaultConfig()
	cfg.UserLimit = 10
	base, end := startWebSession(t, cfg)
	defer func() { _ = end() }()
	defer http.DefaultClient.CloseIdleConnections()
	code, body := postForm(t, base+"/swarm", url.Values{"user_count": {"11"}, "spawn_rate": {"1"}, "host": {"http://127.0.0.1:1"}})
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, "user_count")
	assert.Contains(t, body, "must be at most 10, the user limit (raise it with --user-limit)")
	var st struct {
		State string `json:"state"`
	}
	getJSON(t, base+"/stats/requests", &st)
	assert.Equal(t, "ready", st.State)
}
