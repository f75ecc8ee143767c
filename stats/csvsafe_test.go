package stats

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// formulas are cells a spreadsheet would run (OWASP's CSV injection list).
var formulas = []string{"=HYPERLINK(\"http://127.0.0.1/\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0",
	"\t=1+1", "\r=1+1"}

func TestCSVCellNeutralisesFormulasOnly(t *testing.T) {
	for _, f := range formulas {
		assert.Equal(t, "'"+f, CSVCell(f))
	}
	for _, s := range []string{"", "/a", "GET", "Aggregated", "1.5", "a=b", "HTTP 500: -1", " =x"} {
		assert.Equal(t, s, CSVCell(s), "left as is")
	}
}

// TestEveryCSVNeutralisesFormulaCells writes names, methods, error texts and
// exception texts that begin with a formula character through every CSV
// writer, reads the files back as CSV, and finds every such cell quoted;
// the JSON output keeps them exact.
func TestEveryCSVNeutralisesFormulaCells(t *testing.T) {
	r := NewRegistry(Options{})
	for _, f := range formulas {
		r.Record(Sample{Method: f, Name: f, Duration: time.Millisecond, Err: errors.New(f)})
		r.RecordException(f, f)
	}
	r.Record(Sample{Method: "GET", Name: "/plain", Duration: time.Millisecond})
	s := r.Snapshot()

	writers := map[string]func(*bytes.Buffer) error{
		"stats":      func(b *bytes.Buffer) error { return WriteStatsCSV(b, s) },
		"history":    func(b *bytes.Buffer) error { return WriteHistoryCSVRows(b, s, 3, time.Now(), true) },
		"failures":   func(b *bytes.Buffer) error { return WriteFailuresCSV(b, s) },
		"exceptions": func(b *bytes.Buffer) error { return WriteExceptionsCSV(b, s) },
	}
	// encoding/csv drops a \r inside a cell when rows end with \r\n
	// (Python's csv module writes it); the quote comes first either way.
	var want []string
	for _, f := range formulas {
		want = append(want, strings.ReplaceAll(f, "\r", ""))
	}
	for kind, write := range writers {
		var b bytes.Buffer
		require.NoError(t, write(&b), kind)
		rows := readCSV(t, b.Bytes())
		quoted := 0
		for _, row := range rows {
			for _, cell := range row {
				if cell == "" {
					continue
				}
				assert.NotContains(t, "=+-@\t\r", cell[:1], "%s: cell %q would run as a formula", kind, cell)
				if strings.HasPrefix(cell, "'") {
					assert.Contains(t, want, cell[1:], kind)
					quoted++
				}
			}
		}
		assert.GreaterOrEqual(t, quoted, len(formulas), "%s: the hostile cells are there, quoted", kind)
		if kind == "stats" || kind == "history" {
			assert.Contains(t, b.String(), "GET,/plain,", kind)
		}
	}

	var b bytes.Buffer
	require.NoError(t, WriteJSON(&b, s))
	var list []map[string]any
	require.NoError(t, json.Unmarshal(b.Bytes(), &list))
	var names []string
	for _, e := range list {
		names = append(names, fmt.Sprint(e["name"]))
	}
	for _, f := range formulas {
		assert.Contains(t, names, f, "JSON stays exact")
	}
}
