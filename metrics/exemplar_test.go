package metrics

import (
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
)

// omExemplar is one exemplar of an OpenMetrics bucket line.
type omExemplar struct {
	name, le, traceID, spanID string
	value                     float64
}

// The exemplar's labels come in any order (OpenMetrics does not fix one,
// and client_golang writes them from a map).
var (
	omBucket  = regexp.MustCompile(`^locust_response_time_seconds_bucket\{method="([^"]*)",name="([^"]*)",le="([^"]*)"\} \d+ # \{([^}]*)\} (\S+) \S+$`)
	omTraceID = regexp.MustCompile(`(?:^|,)trace_id="([0-9a-f]{32})"(?:,|$)`)
	omSpanID  = regexp.MustCompile(`(?:^|,)span_id="([0-9a-f]{16})"(?:,|$)`)
)

func scrapeOpenMetrics(t *testing.T, h http.Handler) (string, []omExemplar) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "application/openmetrics-text")
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out []omExemplar
	for _, line := range strings.Split(string(body), "\n") {
		m := omBucket.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[5], 64)
		require.NoError(t, err)
		tid, sid := omTraceID.FindStringSubmatch(m[4]), omSpanID.FindStringSubmatch(m[4])
		require.NotNil(t, tid, "no trace_id in %s", line)
		require.NotNil(t, sid, "no span_id in %s", line)
		out = append(out, omExemplar{name: m[2], le: m[3], traceID: tid[1], spanID: sid[1], value: v})
	}
	return string(body), out
}

func TestOpenMetricsScrapeShowsTheSlowestTracedRequestsAsExemplars(t *testing.T) {
	reg := stats.NewRegistry(stats.Options{})
	durs := map[string]time.Duration{}
	for i := range 202 {
		d := time.Duration(i+1) * time.Millisecond
		switch i {
		case 200:
			d = 600 * time.Millisecond
		case 201:
			d = 1200 * time.Millisecond
		}
		s := stats.Sample{Method: "GET", Name: "/slow", Duration: d}
		binary.BigEndian.PutUint64(s.TraceID[8:], uint64(i)+1)
		binary.BigEndian.PutUint64(s.SpanID[:], uint64(i)+1)
		reg.Record(s)
		durs[s.TraceID.String()] = s.Duration
	}
	reg.Record(stats.Sample{Method: "GET", Name: "/untraced", Duration: time.Second})
	body, exs := scrapeOpenMetrics(t, Handler(Funcs{SnapshotFunc: reg.Snapshot}))
	require.NotEmpty(t, exs, body)
	top := reg.Snapshot().Entries[0].Exemplars
	require.Len(t, top, stats.MaxExemplars)
	kept := map[string]bool{}
	for _, x := range top {
		kept[x.TraceID.String()] = true
	}
	byLE := map[string]omExemplar{}
	for _, x := range exs {
		assert.Equal(t, "/slow", x.name, "the untraced series has none")
		assert.True(t, kept[x.traceID], "only kept exemplars are shown: %s", x.traceID)
		assert.InDelta(t, durs[x.traceID].Seconds(), x.value, 1e-9)
		byLE[x.le] = x
	}
	// The slowest requests are 1.2 s, 0.6 s and 193..200 ms: three
	// buckets, each showing its slowest.
	require.Len(t, byLE, 3, body)
	assert.Equal(t, top[0].TraceID.String(), byLE["1.5"].traceID)
	assert.Equal(t, top[0].SpanID.String(), byLE["1.5"].spanID)
	assert.Equal(t, 1.2, byLE["1.5"].value)
	assert.Equal(t, top[1].TraceID.String(), byLE["0.75"].traceID)
	assert.Equal(t, top[2].TraceID.String(), byLE["0.2"].traceID)
	assert.Equal(t, 0.2, byLE["0.2"].value)

	// The classic text format has no exemplars.
	fams := scrape(t, Handler(Funcs{SnapshotFunc: reg.Snapshot}))
	require.Contains(t, fams, "locust_response_time_seconds")
}
