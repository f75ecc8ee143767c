package report

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	. "github.com/golocust/golocust/report"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/threshold"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const xssName = `<img src=x onerror=alert(1)>`

var t0 = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

// testData builds a run with three names (one malicious), failures, an
// exception, history, classes and thresholds. (A copy of the library's
// report test data, which this module cannot import.)
func testData(t *testing.T) Data {
	t.Helper()
	now := t0
	reg := stats.NewRegistry(stats.Options{Now: func() time.Time { return now }})
	for i := 1; i <= 200; i++ {
		var err error
		if i%40 == 0 {
			err = errors.New("HTTP 500 <b>server error</b>")
		}
		reg.Record(stats.Sample{Method: "GET", Name: "/item", Duration: time.Duration(i)*time.Millisecond + 250*time.Microsecond, Size: 1234, Err: err})
		if i%4 == 0 {
			reg.Record(stats.Sample{Method: "POST", Name: "/cart", Duration: time.Duration(300+i) * time.Millisecond, Size: 17})
		}
		if i%10 == 0 {
			reg.Record(stats.Sample{Method: "GET", Name: xssName, Duration: 3 * time.Millisecond, Err: errors.New(xssName)})
		}
		now = now.Add(50 * time.Millisecond)
	}
	reg.RecordException("panic: "+xssName, "goroutine 1 [running]:\nmain.("+xssName+")\n\t/x.go:1")
	snap := reg.Snapshot()
	var hist []stats.HistoryPoint
	for i := range 3 {
		hist = append(hist, stats.HistoryPoint{
			Time: t0.Add(time.Duration(i*5) * time.Second), UserCount: 5 * (i + 1),
			RPS: 20 + float64(i), FailPerSec: float64(i) / 2,
			P50: time.Duration(10+i) * time.Millisecond, P95: time.Duration(100+i) * time.Millisecond,
			AvgResponse: 40 * time.Millisecond,
		})
	}
	ths, err := threshold.ParseAll([]string{"p95<1s", "GET /item:p99<150ms", xssName + ":max<1s", "GET /none:p50<1s"})
	require.NoError(t, err)
	return Data{
		Start: t0, End: t0.Add(10 * time.Second), Host: "http://127.0.0.1:8080/?q=" + xssName, Script: "shop " + xssName,
		Users: 15, Snapshot: snap, History: hist, Thresholds: threshold.Evaluate(ths, snap), Version: "v0.0.0-test",
		Generated: t0.Add(11 * time.Second),
		Classes: []Class{
			{Name: "Browser", Users: 10, Tasks: []TaskShare{{Name: "Browse", Share: 0.75}, {Name: "Nested", Share: 0.25,
				Nested: []TaskShare{{Name: "Inner", Share: 1}}}}},
			{Name: xssName, Users: 5, Tasks: []TaskShare{{Name: xssName, Share: 1}}},
		},
	}
}
