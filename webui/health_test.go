package webui

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProbesNeedNoAuthAndFollowReady(t *testing.T) {
	notReady := errors.New("waiting for workers: 0 of 2 connected")
	var ready error = notReady
	srv, err := New(Options{Controller: newFake(), Auth: "admin:secret", Ready: func() error { return ready }})
	require.NoError(t, err)
	do := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8089"+path, nil))
		return rec
	}
	assert.Equal(t, http.StatusOK, do("/healthz").Code)
	rec := do("/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Contains(t, rec.Body.String(), "0 of 2 connected")
	ready = nil
	assert.Equal(t, http.StatusOK, do("/readyz").Code)
	assert.Equal(t, http.StatusUnauthorized, do("/stats/requests").Code, "everything else still needs auth")
}
