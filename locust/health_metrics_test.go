package locust

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/internal/demotarget"
	"github.com/golocust/golocust/user"
)

var itemsRE = regexp.MustCompile(`(?m)^locust_requests_total\{method="GET",name="/items"\} (\d+)$`)

// A headless run has no web UI: Prometheus scrapes it on --health-port.
func TestHeadlessRunServesMetricsOnTheHealthPort(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	cfg := DefaultConfig()
	cfg.Headless, cfg.Users, cfg.SpawnRate, cfg.Host = true, 3, 100, srv.URL
	cfg.RunTime = 30 * time.Second // ended by the test once scraped
	cfg.Health.Port = freePort(t)
	out := &testLogWriter{t: t}
	defer out.flush()
	cfg.Stdout, cfg.Stderr = out, out
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	port := cfg.Health.Port // execute fills cfg's defaults
	done := make(chan *Result, 1)
	go func() {
		res, err := execute(ctx, &cfg, []user.Spawner{shopperClass("")})
		assert.NoError(t, err)
		done <- res
	}()
	defer http.DefaultClient.CloseIdleConnections()
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/metrics"
	var body string
	var scraped int64
	require.Eventually(t, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		m := itemsRE.FindStringSubmatch(body)
		if resp.StatusCode != http.StatusOK || m == nil {
			return false
		}
		scraped, _ = strconv.ParseInt(m[1], 10, 64)
		// The first user can request before the last one has started,
		// so wait for both: requests counted and every user running.
		return scraped > 0 && strings.Contains(body, `locust_users{class="Shopper"} 3`)
	}, 20*time.Second, 50*time.Millisecond)
	cancel()
	res := <-done
	require.NotNil(t, res)
	final := entryCount(res, "GET", "/items")
	assert.LessOrEqual(t, scraped, final, "a scrape during the run counts no more than the final stats")
	assert.Equal(t, srv.Count("/items"), final)
}
