package main

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/golocust/golocust/locust"
	"github.com/golocust/golocust/user"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Five users make 1400 requests: the listener's sum of successful response
// lengths equals the bytes the site sent in 2xx responses and the bytes
// the stats recorded for / and /stats/requests, and the users' own counts,
// kept by the listener through RequestEvent.User, add up to the same.
func TestListenerSumsContentLengthPerUser(t *testing.T) {
	contentLength.Store(0)
	perUser.Store(0)
	s := &site{}
	host, stop, err := s.start()
	require.NoError(t, err)
	defer stop()
	var out bytes.Buffer
	cfg := config(&out)
	cfg.Users = 5
	cfg.SpawnRate = 5
	cfg.Load.Iterations = 1400
	res := locust.RunHeadless(t, cfg, class(host, user.Constant(0)))
	require.NotNil(t, res.Stats)

	var okBytes, missing int64
	for _, e := range res.Stats.Entries {
		switch e.Name {
		case "/", "/stats/requests":
			assert.Zero(t, e.NumFailures)
			okBytes += e.TotalBytes
		case "/missing":
			missing = e.NumFailures
		}
	}
	assert.EqualValues(t, 1400, res.Stats.Total.NumRequests)
	assert.InDelta(t, 200, missing, 10, "one request in seven is a 404")
	assert.Positive(t, s.sent.Load())
	assert.Equal(t, s.sent.Load(), contentLength.Load(), "listener sum = bytes the site sent")
	assert.Equal(t, okBytes, contentLength.Load(), "listener sum = bytes in the stats")
	assert.Equal(t, contentLength.Load(), perUser.Load(), "per-user counts add up")
	assert.Equal(t, fmt.Sprintf("Total content-length received: %d\n", s.sent.Load()), out.String())
}

func TestHostGiven(t *testing.T) {
	t.Setenv("LOCUST_HOST", "")
	assert.True(t, hostGiven([]string{"--host=http://127.0.0.1:1"}))
	assert.False(t, hostGiven([]string{"-u", "3"}))
}
