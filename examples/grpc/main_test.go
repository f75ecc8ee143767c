package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/golocust/golocust/locust"
	"github.com/golocust/golocust/user"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestExampleRun(t *testing.T) {
	addr, stop, err := startService()
	require.NoError(t, err)
	defer stop()
	// A stop timeout lets calls in flight finish: a hard stop would record
	// them as "Canceled", which this test does not expect.
	res := locust.RunHeadless(t, locust.Config{Users: 5, RunTime: 2 * time.Second, StopTimeout: 5 * time.Second}, class("grpc://"+addr))
	check, watch := res.Stats.Total, res.Stats.Total
	for _, e := range res.Stats.Entries {
		switch e.Name {
		case "/grpc.health.v1.Health/Check":
			check = e
		case "/grpc.health.v1.Health/Watch":
			watch = e
		}
		assert.Equal(t, user.GRPCMethod, e.Method)
	}
	assert.Positive(t, check.NumRequests)
	assert.Positive(t, watch.NumRequests)
	assert.Zero(t, watch.NumFailures)
	require.Len(t, res.Stats.Errors, 1)
	assert.Equal(t, "NotFound: unknown service", res.Stats.Errors[0].Message)
	assert.Equal(t, check.NumFailures, res.Stats.Errors[0].Occurrences)
}
