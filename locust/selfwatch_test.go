package locust

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

type pacedHitter struct{ user.HTTP }

func (p *pacedHitter) Hit(ctx context.Context) error { return p.Get(ctx, "/").Err() }

type quitter struct{ user.HTTP }

func (q *quitter) OnStart(context.Context) error { return user.ErrStopUser }
func (q *quitter) Hit(ctx context.Context) error { return q.Get(ctx, "/").Err() }

// A paced run reports the generator's own lag beside the corrected
// latency, with sub-millisecond precision, on the console and in the
// JSON; users that end early are counted with their reason in both.
func TestSummaryShowsGeneratorLagAndEndedUsers(t *testing.T) {
	tg := newStallTarget(t, 0, 0)
	var stderr, stdout loadOut
	res := RunHeadless(t, Config{
		Host: tg.URL, Users: 4, RunTime: time.Second, JSON: true, Stdout: &stdout, Stderr: &stderr,
	}, user.Class[pacedHitter]{Name: "Paced", Wait: user.ConstantThroughput(50),
		Tasks: taskset.Weighted(taskset.Task[pacedHitter]{Run: (*pacedHitter).Hit})},
		user.Class[quitter]{Name: "Quitter", FixedCount: 1, Tasks: taskset.Weighted(taskset.Task[quitter]{Run: (*quitter).Hit})})
	require.NotNil(t, res)
	out := stderr.String()
	assert.Regexp(t, regexp.MustCompile(`corrected latency ms: p50 \d+\.\d{3}, p95 \d+\.\d{3}, p99 \d+\.\d{3}; service time ms: p50 \d+\.\d{3}`), out)
	assert.Regexp(t, regexp.MustCompile(`generator lag ms \(intended to actual start, \d+ iterations\): p50 \d+\.\d{3}, p99 \d+\.\d{3}`), out)
	assert.Contains(t, out, "users that ended early: 1\n")
	assert.Contains(t, out, "Quitter: OnStart returned user.ErrStopUser")

	var doc struct {
		Metrics    map[string]float64 `json:"metrics"`
		EndedUsers map[string]int64   `json:"users_ended_early"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout.String()), &doc), stdout.String())
	assert.Contains(t, doc.Metrics, "generator_lag_p50_ms")
	assert.Contains(t, doc.Metrics, "generator_lag_p99_ms")
	assert.Contains(t, doc.Metrics, "corrected_p50_ms")
	assert.LessOrEqual(t, doc.Metrics["generator_lag_p50_ms"], doc.Metrics["generator_lag_p99_ms"])
	assert.Equal(t, map[string]int64{"Quitter: OnStart returned user.ErrStopUser": 1}, doc.EndedUsers)
}

func TestLagWarningWhenTheGeneratorDominates(t *testing.T) {
	reg := stats.NewRegistry(stats.Options{})
	for range 100 {
		reg.Record(stats.Sample{Method: "GET", Name: "/", Duration: time.Millisecond})
		reg.RecordLag(50 * time.Microsecond) // a twentieth of the p50: fine
	}
	core, logs := observer.New(zapcore.WarnLevel)
	var w generatorWatch
	w.check(zap.New(core), reg.Snapshot())
	assert.Zero(t, logs.FilterMessageSnippet("lag").Len())
	for range 10 {
		reg.RecordLag(300 * time.Microsecond) // p99 now 0.3 ms > 0.1 ms
	}
	w.check(zap.New(core), reg.Snapshot())
	w.check(zap.New(core), reg.Snapshot())
	warned := logs.FilterMessageSnippet("may be the generator's, not the target's").All()
	require.Len(t, warned, 1, "warned once")
	assert.Contains(t, warned[0].Message, "lag p99 (0.300 ms")
	assert.Contains(t, warned[0].Message, "measured p50 (1.000 ms)")
	var b strings.Builder
	writeLag(&b, reg.Snapshot())
	assert.Contains(t, b.String(), "generator lag ms (intended to actual start, 110 iterations): p50 0.050, p99 0.300\nwarning: ")
}
