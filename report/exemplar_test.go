package report

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
)

func TestReportListsTheSlowestTracedRequestsBesideP99AndMax(t *testing.T) {
	reg := stats.NewRegistry(stats.Options{})
	for i := range 300 {
		s := stats.Sample{Method: "GET", Name: "/checkout", Duration: time.Duration(i+1) * time.Millisecond}
		binary.BigEndian.PutUint64(s.TraceID[8:], uint64(i)+1)
		binary.BigEndian.PutUint64(s.SpanID[:], uint64(i)+1)
		reg.Record(s)
		reg.Record(stats.Sample{Method: "GET", Name: "/untraced", Duration: time.Millisecond})
	}
	snap := reg.Snapshot()
	d := Data{Title: "traced", Snapshot: snap}
	page := render(t, d)
	doc, j := parse(t, page)
	rs := rows(t, doc, "exemplars")
	require.Len(t, rs, 2, "/checkout and Aggregated: /untraced has none")
	checkout := rs[0]
	assert.Equal(t, []string{"GET", "/checkout", "298.24", "300"}, checkout[:4], "p99 (rank 298 of 300, to 3 digits) and max")
	ids := checkout[4]
	e := snap.Entries[0]
	require.Len(t, e.Exemplars, stats.MaxExemplars)
	for _, x := range e.Exemplars {
		assert.Contains(t, ids, x.TraceID.String())
	}
	assert.True(t, strings.HasPrefix(ids, e.Exemplars[0].TraceID.String()+" 300"), "slowest first: %s", ids)
	table := page[strings.Index(page, `id="exemplars"`):]
	checkoutRow := table[:strings.Index(table, "Aggregated")]
	assert.Equal(t, 3, strings.Count(checkoutRow, `class="exemplar p99"`), "298, 299 and 300 ms are at the p99")
	// The JSON block carries them too.
	var got []ExemplarRow
	for _, r := range j.Stats {
		if r.Name == "/checkout" {
			got = r.Exemplars
		}
	}
	require.Len(t, got, stats.MaxExemplars)
	assert.Equal(t, e.Exemplars[0].TraceID.String(), got[0].TraceID)
	assert.Equal(t, 300.0, got[0].ResponseTime)
}
