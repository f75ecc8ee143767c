package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/golocust/golocust/internal/demotarget"
	"github.com/golocust/golocust/locust"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestQuickstartScenario(t *testing.T) {
	srv, err := demotarget.Start(context.Background(), demotarget.Options{})
	require.NoError(t, err)
	defer srv.Close()
	res := locust.RunHeadless(t, locust.Config{Users: 8, RunTime: 3 * time.Second, Host: srv.URL, StopTimeout: 5 * time.Second}, classes("")...)

	counts := map[string]int64{}
	for _, e := range res.Stats.Entries {
		counts[e.Method+" "+e.Name] = e.NumRequests
	}
	// Weights 3:1 over 8 users: 6 shoppers, each logging in once in OnStart.
	assert.Equal(t, int64(6), counts["POST /login"])
	assert.Equal(t, srv.Count("/login"), counts["POST /login"])
	assert.Equal(t, srv.Count("/item"), counts["GET /item?id=[id]"], "item pages are grouped under one name")
	assert.Equal(t, srv.Count("/search"), counts["GET /search?q=[term]"])
	assert.Equal(t, srv.Total(), res.Stats.Total.NumRequests)
	assert.Zero(t, res.Stats.Total.NumFailures)
}

func TestHostGiven(t *testing.T) {
	t.Setenv("LOCUST_HOST", "")
	assert.True(t, hostGiven([]string{"-H", "http://127.0.0.1:1"}))
	assert.True(t, hostGiven([]string{"--host=http://127.0.0.1:1"}))
	assert.True(t, hostGiven([]string{"-u", "3", "-host", "x"}))
	assert.False(t, hostGiven([]string{"-u", "3", "--headless"}))
	t.Setenv("LOCUST_HOST", "http://127.0.0.1:2")
	assert.True(t, hostGiven(nil))
}
