package webui

import (
	"encoding/binary"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
)

// traceID returns a trace id that encodes i.
func traceID(i int) stats.TraceID {
	var t stats.TraceID
	binary.BigEndian.PutUint64(t[8:], uint64(i))
	return t
}

func TestStatsRowsCarryTheirExemplars(t *testing.T) {
	f := newFake()
	for i := 1; i <= 100; i++ {
		f.record("GET", "/checkout", time.Duration(i)*time.Millisecond, 10, nil)
	}
	f.record("GET", "/plain", time.Millisecond, 10, nil)
	f.mu.Lock()
	e := f.entries[[2]string{"GET", "/checkout"}]
	for i := 100; i > 90; i-- {
		e.Exemplars = append(e.Exemplars, stats.Exemplar{TraceID: traceID(i), Duration: time.Duration(i) * time.Millisecond})
	}
	f.mu.Unlock()
	base, _ := startServer(t, Options{Controller: f})
	resp, b := get(t, base+"/stats/requests")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	rows := decode(t, b)["stats"].([]any)
	var checkout, plain map[string]any
	for _, r := range rows {
		m := r.(map[string]any)
		switch m["name"] {
		case "/checkout":
			checkout = m
		case "/plain":
			plain = m
		}
	}
	require.NotNil(t, checkout)
	require.NotNil(t, plain)
	assert.NotContains(t, plain, "exemplars", "left out when none")
	xs := checkout["exemplars"].([]any)
	require.Len(t, xs, 10)
	first := xs[0].(map[string]any)
	assert.Equal(t, traceID(100).String(), first["trace_id"])
	assert.EqualValues(t, 100, first["response_time"])
	assert.Equal(t, true, first["at_p99"], "p99 of 1..100 ms is 100 ms")
	assert.Equal(t, false, xs[1].(map[string]any)["at_p99"])
}
