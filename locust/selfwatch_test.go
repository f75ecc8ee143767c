package locust

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
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
	w.check(zap.New(core), reg.Snapshot(), 1)
	assert.Zero(t, logs.FilterMessageSnippet("lag").Len())
	for range 10 {
		reg.RecordLag(300 * time.Microsecond) // p99 now 0.3 ms > 0.1 ms
	}
	w.check(zap.New(core), reg.Snapshot(), 1)
	w.check(zap.New(core), reg.Snapshot(), 1)
	warned := logs.FilterMessageSnippet("may be the generator's, not the target's").All()
	require.Len(t, warned, 1, "warned once in a run")
	w.check(zap.New(core), reg.Snapshot(), 2)
	w.check(zap.New(core), reg.Snapshot(), 2)
	require.Len(t, logs.FilterMessageSnippet("may be the generator's, not the target's").All(), 2, "warned again, once, in the next run")
	assert.Contains(t, warned[0].Message, "lag p99 (0.300 ms")
	assert.Contains(t, warned[0].Message, "measured p50 (1.000 ms)")
	var b strings.Builder
	writeLag(&b, reg.Snapshot())
	assert.Contains(t, b.String(), "generator lag ms (intended to actual start, 110 iterations): p50 0.050, p99 0.300\nwarning: ")
}

type leaver struct{}

func (*leaver) Leave(context.Context) error { return user.ErrStopUser }

type crasher struct{}

func (*crasher) OnStart(context.Context) error { panic("boom") }
func (*crasher) Work(context.Context) error    { return nil }

type idler struct{}

func (*idler) OnStart(context.Context) error { return user.ErrStopUser }
func (*idler) Work(context.Context) error    { return nil }

func earlyEnders() []user.Spawner {
	return []user.Spawner{
		user.Class[idler]{Name: "Quitter", FixedCount: 3, Tasks: taskset.Weighted(taskset.Task[idler]{Run: (*idler).Work})},
		user.Class[leaver]{Name: "Leaver", FixedCount: 2, Tasks: taskset.Weighted(taskset.Task[leaver]{Name: "Leave", Run: (*leaver).Leave})},
		user.Class[crasher]{Name: "Crasher", FixedCount: 1, Tasks: taskset.Weighted(taskset.Task[crasher]{Run: (*crasher).Work})},
	}
}

// endedLines are the logged lines about users that ended early.
func endedLines(logs *observer.ObservedLogs) []string {
	var out []string
	for _, e := range logs.FilterMessageSnippet("ended early").All() {
		out = append(out, e.Message)
	}
	slices.Sort(out)
	return out
}

// Users that end before the run stops them are logged with their reason,
// one line per class and reason, not one per user.
func TestUsersThatEndEarlyAreLoggedOnceForEachReason(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	res := RunHeadless(t, Config{Users: 6, RunTime: 500 * time.Millisecond, Logger: zap.New(core)}, earlyEnders()...)
	require.NotNil(t, res)
	assert.Equal(t, []string{
		"1 user of Crasher ended early: OnStart panicked",
		"2 users of Leaver ended early: task Leave returned user.ErrStopUser",
		"3 users of Quitter ended early: OnStart returned user.ErrStopUser",
	}, endedLines(logs))
	assert.Equal(t, map[string]int64{"Quitter: OnStart returned user.ErrStopUser": 3,
		"Leaver: task Leave returned user.ErrStopUser": 2, "Crasher: OnStart panicked": 1}, res.Stats.EndedUsers)
}

// Each test started from the web UI logs its own users that ended early.
func TestEachWebUIRunLogsItsUsersThatEndedEarly(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	base, end := startWebSessionWith(t, Config{Logger: zap.New(core)}, earlyEnders()...)
	defer end()
	for run := 1; run <= 2; run++ {
		code, body := postForm(t, base+"/swarm", url.Values{"user_count": {"3"}, "spawn_rate": {"100"}, "user_classes": {"Quitter"}})
		require.Equal(t, http.StatusOK, code, body)
		require.Eventually(t, func() bool {
			var st struct {
				UserCount int              `json:"user_count"`
				Ended     map[string]int64 `json:"users_ended_early"`
			}
			getJSON(t, base+"/stats/requests", &st)
			return st.Ended["Quitter: OnStart returned user.ErrStopUser"] == 3
		}, 30*time.Second, 20*time.Millisecond, "run %d: the users end", run)
		code, body = postForm(t, base+"/stop", nil)
		require.Equal(t, http.StatusOK, code, body)
		// One line per run, unless a periodic check fell between the
		// users' ends: then the run's lines add up to its users.
		ended := 0
		for _, l := range endedLines(logs) {
			m := regexp.MustCompile(`^(\d+) users? of Quitter ended early: OnStart returned user.ErrStopUser$`).FindStringSubmatch(l)
			require.NotNil(t, m, l)
			n, _ := strconv.Atoi(m[1])
			ended += n
		}
		assert.Equal(t, 3*run, ended, "after run %d: %q", run, endedLines(logs))
	}
}
