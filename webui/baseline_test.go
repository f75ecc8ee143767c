package webui

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatsBaselineAnswersTheTableOr404(t *testing.T) {
	f := newFake("/a")
	t.Cleanup(f.close)
	base, _ := startServer(t, Options{Controller: f})
	resp, body := get(t, base+"/stats/baseline")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Contains(t, string(body), "this run has no baseline: start it with --baseline FILE")
	_, body = get(t, base+"/ui/config")
	var cfg map[string]any
	require.NoError(t, json.Unmarshal(body, &cfg))
	assert.Equal(t, false, cfg["baseline"])

	want := &BaselineTable{File: "main.json", Settings: "99% confidence; changes under 5% ignored", Summary: "No endpoint got significantly slower or failed more often.",
		Header: []string{"Name", "verdict"}, Rows: []BaselineRow{{Cells: []string{"GET /a", "no significant change"}}, {Cells: []string{"Aggregated", "no significant change"}, Total: true}}}
	base, _ = startServer(t, Options{Controller: f, Baseline: func() *BaselineTable { return want }})
	resp, body = get(t, base+"/stats/baseline")
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var got BaselineTable
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, *want, got)
	_, body = get(t, base+"/ui/config")
	require.NoError(t, json.Unmarshal(body, &cfg))
	assert.Equal(t, true, cfg["baseline"])
}
