package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/golocust/golocust/compare"
	"github.com/golocust/golocust/stats"
)

// snapshotOf records 300 requests per name at the given latency (±10 %).
func snapshotOf(lat map[string]time.Duration) *stats.Snapshot {
	reg := stats.NewRegistry(stats.Options{Now: func() time.Time { return t0 }})
	for name, d := range lat {
		for i := range 300 {
			reg.Record(stats.Sample{Method: "GET", Name: name, Duration: d * time.Duration(90+i%21) / 100})
		}
	}
	return reg.Snapshot()
}

func TestTheReportShowsTheBaselineComparison(t *testing.T) {
	base := snapshotOf(map[string]time.Duration{"/cart": 20 * time.Millisecond, "/checkout": 20 * time.Millisecond, xssName: 5 * time.Millisecond})
	cur := snapshotOf(map[string]time.Duration{"/cart": 20 * time.Millisecond, "/checkout": 24 * time.Millisecond})
	rep := compare.Compare(base, cur, compare.Options{})
	rep.BaseName = "main.json"
	d := testData(t)
	d.Baseline = rep
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, d))
	page := buf.String()
	assert.NotContains(t, page, xssName, "names are escaped")

	doc, err := html.Parse(strings.NewReader(page))
	require.NoError(t, err)
	table := baselineFindID(doc, "baseline")
	require.NotNil(t, table, "the report has a baseline table")
	rows := map[string][]string{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "tr" {
			var cells []string
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && c.Data == "td" {
					cells = append(cells, baselineText(c))
				}
			}
			if len(cells) > 0 {
				rows[cells[0]] = cells
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(table)
	require.Contains(t, rows, "GET /checkout")
	assert.Equal(t, "slower", rows["GET /checkout"][len(rows["GET /checkout"])-1])
	assert.Contains(t, rows["GET /checkout"][2], "+20%*", "p50 moved by 20 %, flagged")
	assert.Equal(t, "no significant change", rows["GET /cart"][len(rows["GET /cart"])-1])
	assert.Equal(t, "only in baseline", rows["GET "+xssName][len(rows["GET "+xssName])-1])
	require.Contains(t, rows, "Aggregated")
	summary := baselineFindID(doc, "baseline-summary")
	require.NotNil(t, summary)
	assert.Contains(t, baselineText(summary), "main.json")
	assert.Contains(t, baselineText(summary), "1 endpoint(s) regressed: GET /checkout (slower)")

	// Without a baseline there is no section.
	d.Baseline = nil
	buf.Reset()
	require.NoError(t, Write(&buf, d))
	assert.NotContains(t, buf.String(), `id="baseline"`)
}

func baselineFindID(n *html.Node, id string) *html.Node {
	if n.Type == html.ElementNode {
		for _, a := range n.Attr {
			if a.Key == "id" && a.Val == id {
				return n
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := baselineFindID(c, id); f != nil {
			return f
		}
	}
	return nil
}

func baselineText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}
