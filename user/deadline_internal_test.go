package user

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
)

// Requests on a kept-alive connection do not re-arm its deadline timer
// each time; a shorter per-call timeout or a ctx deadline still applies,
// and so does a hard stop.
func TestDeadlineIsNotReArmedPerRequest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(300 * time.Millisecond)
		}
	}))
	defer srv.Close()
	reg := stats.NewRegistry(stats.Options{})
	h := &HTTP{}
	_, err := h.bindHTTP(&Env{Host: srv.URL, Stats: reg})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.start(ctx)
	defer h.close()

	for range 200 {
		require.NoError(t, h.Get(ctx, "/").Err())
	}
	raw := h.c.main.raw
	require.NotNil(t, raw)
	assert.LessOrEqual(t, raw.deadlines, 2, "200 requests, the deadline set once or twice")

	// A short per-call timeout is kept, a sixteenth of it late at most:
	// the deadline set is the call's start plus 80 ms plus 5 ms, and the
	// call fails with the timeout, not with /slow's answer at 300 ms.
	before := time.Now()
	err = h.Get(ctx, "/slow", Timeout(80*time.Millisecond)).Err()
	after := time.Now()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "timeout after 80ms")
	assert.WithinRange(t, raw.lastDeadline, before.Add(85*time.Millisecond), after.Add(85*time.Millisecond))

	// A ctx deadline is kept exactly.
	dctx, dcancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer dcancel()
	require.Error(t, h.Get(dctx, "/slow").Err())
	require.NoError(t, h.Get(ctx, "/").Err(), "a fresh request after the timeouts")
}
