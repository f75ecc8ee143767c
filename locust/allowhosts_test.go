package locust

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/internal/demotarget"
	"github.com/golocust/golocust/user"
)

func TestAllowlistPatterns(t *testing.T) {
	a := newAllowlist([]string{"127.0.0.1", "*.example.com", "10.0.0.0/8", "localhost:8080", "https://api.test", "[::1]"}, "", nil)
	for target, ok := range map[string]bool{
		"http://127.0.0.1:9":          true,
		"http://127.0.0.2:9":          false,
		"https://shop.example.com":    true,
		"https://example.com":         false,
		"https://shop.example.com.io": false,
		"http://10.200.3.4:8000":      true,
		"http://11.0.0.1":             false,
		"http://localhost:8080/":      true,
		"http://localhost:8081":       false,
		"https://api.test/v1":         true,
		"http://[::1]:80":             true,
		"http://evil.example":         false,
	} {
		err := a.check(target)
		assert.Equal(t, ok, err == nil, "%s: %v", target, err)
	}
	assert.ErrorContains(t, a.check("http://evil.example"), "target evil.example is not allowed (allowed: 127.0.0.1, *.example.com")
	assert.NoError(t, newAllowlist([]string{"*"}, "", nil).check("https://anything.example:1"))

	// implicit: the -H host and the class hosts
	a = newAllowlist(nil, "http://127.0.0.1:8080", []user.Spawner{user.Class[shopper]{Name: "S", Host: "https://shop.test"}})
	assert.NoError(t, a.check("http://127.0.0.1:8080/x"))
	assert.NoError(t, a.check("https://shop.test"))
	assert.Error(t, a.check("http://127.0.0.1:8081"), "another port of the same host")
	assert.ErrorContains(t, a.check("http://10.0.0.1"), "start with -H http://10.0.0.1 or --allow-hosts 10.0.0.1")
	// nothing configured: loopback only
	a = newAllowlist(nil, "", nil)
	assert.NoError(t, a.check("http://127.0.0.9:1"))
	assert.NoError(t, a.check("http://localhost:1"))
	assert.Error(t, a.check("http://192.168.1.1"))
}

// TestWebFormCanOnlyAimAtAllowedHosts: whoever reaches the UI cannot turn
// the load on a host the run was not started for.
func TestWebFormCanOnlyAimAtAllowedHosts(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	other := startTarget(t, demotarget.Options{})
	cfg := DefaultConfig()
	cfg.Host = srv.URL
	base, end := startWebSession(t, cfg)
	defer http.DefaultClient.CloseIdleConnections()

	code, body := postForm(t, base+"/swarm", url.Values{"user_count": {"1"}, "spawn_rate": {"10"}, "host": {other.URL}})
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, `"field":"host"`)
	assert.Contains(t, body, "is not allowed")
	code, body = postForm(t, base+"/swarm", url.Values{"user_count": {"1"}, "spawn_rate": {"10"}, "host": {"http://203.0.113.7"}})
	assert.Equal(t, http.StatusBadRequest, code, body)
	code, body = postForm(t, base+"/swarm", url.Values{"user_count": {"1"}, "spawn_rate": {"10"}, "host": {srv.URL}})
	require.Equal(t, http.StatusOK, code, body)
	code, _ = postForm(t, base+"/stop", nil)
	require.Equal(t, http.StatusOK, code)
	end()
	assert.Zero(t, other.Total(), "no request reached the host that was not allowed")
}

func TestHostMustBeInAllowHosts(t *testing.T) {
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"--headless", "-H", "http://127.0.0.1:9", "--allow-hosts", "*.example.com"}, nil, &out, &errb, shopperClass(""))
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errb.String(), "-H/--host: target 127.0.0.1:9 is not allowed (allowed: *.example.com): add it to --allow-hosts")
	errb.Reset()
	code = Run(context.Background(), []string{"--headless", "--allow-hosts", "shop.test"}, nil, &out, &errb, shopperClass("http://127.0.0.1:9"))
	assert.Equal(t, ExitUsage, code)
	assert.Contains(t, errb.String(), "user class Shopper: host target 127.0.0.1:9 is not allowed")
}
