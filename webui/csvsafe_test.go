package webui

import (
	"bytes"
	"encoding/csv"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
)

// TestDownloadedCSVsNeutraliseFormulaCells: names, error texts and
// exception texts that begin with a formula character (from the system
// under test, or from a worker) reach the CSV downloads quoted, and the
// JSON download keeps them exact.
func TestDownloadedCSVsNeutraliseFormulaCells(t *testing.T) {
	f := newFake()
	hostile := []string{"=HYPERLINK(\"http://127.0.0.1/\",\"x\")", "+1+1", "-1+1", "@SUM(1)", "\t=1"}
	for _, h := range hostile {
		f.record(h, h, time.Millisecond, 1, errors.New(h))
	}
	f.exceptions = append(f.exceptions, &stats.Exception{Message: "=1+1", Traceback: "@x", Count: 1, Nodes: []string{"-w"}})
	base, _ := startServer(t, Options{Controller: f})
	for _, p := range []string{"/stats/requests/csv", "/stats/failures/csv", "/exceptions/csv"} {
		resp, b := get(t, base+p)
		require.Equal(t, http.StatusOK, resp.StatusCode, p)
		rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		require.NoError(t, err, p)
		quoted := 0
		for _, row := range rows {
			for _, cell := range row {
				if cell != "" {
					assert.NotContains(t, "=+-@\t\r", cell[:1], "%s: cell %q would run as a formula", p, cell)
				}
				if strings.HasPrefix(cell, "'") {
					quoted++
				}
			}
		}
		assert.Positive(t, quoted, "%s: the hostile cells are there, quoted: %s", p, b)
	}
	_, b := get(t, base+"/stats/requests/json")
	assert.Contains(t, string(b), `"=HYPERLINK(\"http://127.0.0.1/\",\"x\")"`, "JSON stays exact")
}
