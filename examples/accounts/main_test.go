package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/golocust/golocust/locust"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// 100 local users of one class get the sequence numbers 0..99, each once:
// the service sees exactly the accounts user-0..user-99, one login each,
// and no account or order ID is used twice.
func TestHundredUsersGetSeq0To99(t *testing.T) {
	s := newShop()
	host, stop, err := s.start()
	require.NoError(t, err)
	defer stop()
	res := locust.RunHeadless(t, locust.Config{Users: 100, SpawnRate: 100, RunTime: 2 * time.Second}, class(host))

	want := map[string]int{}
	for i := range 100 {
		want[fmt.Sprintf("user-%d", i)] = 1
	}
	assert.Equal(t, want, s.accounts())
	require.NotNil(t, res.Stats)
	assert.Zero(t, res.Stats.Total.NumFailures, "no collision: %v", res.Stats.Errors)
	assert.Positive(t, res.Stats.Total.NumRequests)
}
