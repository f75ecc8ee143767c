package health

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestProbesFollowReadiness(t *testing.T) {
	var ready atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	addr, done, err := Serve(ctx, "127.0.0.1", 0, func() error {
		if !ready.Load() {
			return errors.New("not connected to the master")
		}
		return nil
	})
	require.NoError(t, err)
	base := "http://" + addr.String()
	defer http.DefaultClient.CloseIdleConnections()

	code, _ := get(t, base+LivePath)
	assert.Equal(t, http.StatusOK, code)
	code, body := get(t, base+ReadyPath)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "not ready: not connected to the master\n", body)
	ready.Store(true)
	code, _ = get(t, base+ReadyPath)
	assert.Equal(t, http.StatusOK, code)
	code, _ = get(t, base+"/other")
	assert.Equal(t, http.StatusNotFound, code)

	cancel()
	require.NoError(t, <-done)
}
