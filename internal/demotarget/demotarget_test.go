package demotarget

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCountsEveryRequest(t *testing.T) {
	s, err := Start(t.Context(), Options{})
	require.NoError(t, err)
	defer s.Close()
	require.True(t, strings.HasPrefix(s.URL, "http://127.0.0.1:"))
	client := &http.Client{}
	defer client.CloseIdleConnections()
	for _, path := range []string{"/", "/items", "/item?id=3", "/item?id=4", "/nope"} {
		resp, err := client.Get(s.URL + path)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	resp, err := client.Post(s.URL+"/login", "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, int64(6), s.Total())
	assert.Equal(t, int64(2), s.Count("/item"))
	assert.Equal(t, int64(1), s.Count("/nope"))
	assert.NotEmpty(t, resp.Cookies())
}

func TestErrorRateOneFailsAll(t *testing.T) {
	s, err := Start(t.Context(), Options{ErrorRate: 1})
	require.NoError(t, err)
	defer s.Close()
	client := &http.Client{}
	defer client.CloseIdleConnections()
	resp, err := client.Get(s.URL + "/items")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
}
