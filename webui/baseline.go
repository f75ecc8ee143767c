package webui

import "net/http"

// BaselineTable is the comparison of the run with a baseline run
// (--baseline) as the Baseline tab shows it: the console table's cells, so
// both read the same. The locust package builds it from package compare.
type BaselineTable struct {
	// File names the baseline.
	File string `json:"file"`
	// Settings say what the verdicts mean ("99% confidence; changes under
	// 5% ignored"); Summary which endpoints regressed.
	Settings  string `json:"settings"`
	Summary   string `json:"summary"`
	Regressed bool   `json:"regressed"`
	// Header names the columns; each row has one cell per column.
	Header []string      `json:"header"`
	Rows   []BaselineRow `json:"rows"`
}

// BaselineRow is one endpoint of a BaselineTable, or the Aggregated row
// (Total).
type BaselineRow struct {
	Cells     []string `json:"cells"`
	Regressed bool     `json:"regressed"`
	Total     bool     `json:"total"`
}

// baseline answers GET /stats/baseline: the comparison with the current
// statistics, or 404 when the run has no baseline.
func (s *Server) baseline(w http.ResponseWriter, _ *http.Request) {
	var t *BaselineTable
	if s.o.Baseline != nil {
		t = s.o.Baseline()
	}
	if t == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "this run has no baseline: start it with --baseline FILE"})
		return
	}
	writeJSON(w, http.StatusOK, t)
}
