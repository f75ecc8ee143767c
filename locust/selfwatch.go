package locust

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/golocust/golocust/internal/cpumeter"
	"github.com/golocust/golocust/stats"
)

// msf formats a duration in milliseconds with microsecond precision: the
// corrected latencies and the generator's lag are often below 1 ms.
func msf(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

// generatorLag returns the p50 and p99 of the generator's lag (how late
// paced and arrival-rate iterations started after their intended start);
// ok is false when no iteration had an intended start.
func generatorLag(snap *stats.Snapshot) (p50, p99 time.Duration, n int64, ok bool) {
	if snap == nil || snap.Lag == nil || snap.Lag.TotalCount() == 0 {
		return 0, 0, 0, false
	}
	us := func(q float64) time.Duration { return time.Duration(snap.Lag.ValueAtQuantile(q)) * time.Microsecond }
	return us(50), us(99), snap.Lag.TotalCount(), true
}

// lagDominates reports whether the generator's lag p99 exceeds a tenth of
// the measured (service time) p50: the corrected latencies are then mostly
// the generator's own lateness, not the target's.
func lagDominates(snap *stats.Snapshot) (lagP99, p50 time.Duration, yes bool) {
	_, lagP99, _, ok := generatorLag(snap)
	if !ok || snap.Total == nil || snap.Total.NumRequests == 0 {
		return 0, 0, false
	}
	p50 = snap.Total.Percentile(0.5)
	return lagP99, p50, lagP99 > p50/10
}

const lagWarning = "the load generator's lag p99 (%s ms, intended to actual start) exceeds a tenth of the measured p50 (%s ms): " +
	"the corrected latencies may be the generator's, not the target's; give it more CPU or fewer users"

// writeLag writes the generator's lag beside the corrected latency, and
// the warning when it dominates.
func writeLag(w io.Writer, snap *stats.Snapshot) {
	p50, p99, n, ok := generatorLag(snap)
	if !ok {
		return
	}
	fmt.Fprintf(w, "generator lag ms (intended to actual start, %d iterations): p50 %s, p99 %s\n", n, msf(p50), msf(p99))
	if lagP99, measured, yes := lagDominates(snap); yes {
		fmt.Fprintf(w, "warning: "+lagWarning+"\n", msf(lagP99), msf(measured))
	}
}

// writeEndedUsers lists the users that ended before the run stopped them.
func writeEndedUsers(w io.Writer, snap *stats.Snapshot) {
	if len(snap.EndedUsers) == 0 {
		return
	}
	var n int64
	for _, c := range snap.EndedUsers {
		n += c
	}
	fmt.Fprintf(w, "users that ended early: %d\n", n)
	for _, reason := range slices.Sorted(maps.Keys(snap.EndedUsers)) {
		fmt.Fprintf(w, "  %6d  %s\n", snap.EndedUsers[reason], reason)
	}
}

// generatorWatch warns, once per run each, when this process's CPU use
// passes 90 % of a core (Locust's warning) or when the generator's lag
// dominates the measured latency: either way the numbers may be the
// generator's, not the target's. A master warns for its workers' CPU
// itself (runner.Master); their lag reaches it in their reports.
type generatorWatch struct {
	cpu cpumeter.Meter
	// run is the run the warnings below were given in (session.runGen): a
	// new run, such as one started again from the web UI, warns again.
	run                  uint64
	cpuWarned, lagWarned bool
}

// generatorWatchInterval is how often the session checks (Locust: 5 s).
const generatorWatchInterval = 5 * time.Second

// check warns about run's generator, at most once per run and warning.
func (g *generatorWatch) check(log *zap.Logger, snap *stats.Snapshot, run uint64) {
	if run != g.run {
		g.run, g.cpuWarned, g.lagWarned = run, false, false
	}
	if pct := g.cpu.Percent(); pct > 90 && !g.cpuWarned {
		g.cpuWarned = true
		log.Warn("CPU usage above 90%! This may constrain your throughput and may even give inconsistent response time measurements: run workers (--master/--worker) to spread the load",
			zap.Float64("cpu_percent", pct))
	}
	if lagP99, p50, yes := lagDominates(snap); yes && !g.lagWarned {
		g.lagWarned = true
		log.Warn(fmt.Sprintf(lagWarning, msf(lagP99), msf(p50)))
	}
}

// endedLog logs the users that ended early (Snapshot.EndedUsers) as they
// are counted: one line per class and reason for all the users that ended
// so since the last line, never one line per user, so that a scenario
// whose users all stop at once does not flood the log.
type endedLog struct {
	mu     sync.Mutex
	logged map[string]int64 // counts already logged, by reason
}

// reset forgets what was logged: a new test counts from zero.
func (e *endedLog) reset() {
	e.mu.Lock()
	e.logged = nil
	e.mu.Unlock()
}

// log writes a line for each reason whose count grew since the last call.
func (e *endedLog) log(log *zap.Logger, counts map[string]int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, reason := range slices.Sorted(maps.Keys(counts)) {
		n, done := counts[reason], e.logged[reason]
		if n < done {
			done = 0 // the statistics were reset: these are new
		}
		if n == done {
			continue
		}
		if e.logged == nil {
			e.logged = map[string]int64{}
		}
		e.logged[reason] = n
		// Reasons read "Class: why" (user.Class.endedEarly).
		class, why, ok := strings.Cut(reason, ": ")
		if !ok {
			class, why = "a class", reason
		}
		users := "users"
		if n-done == 1 {
			users = "user"
		}
		log.Warn(fmt.Sprintf("%d %s of %s ended early: %s", n-done, users, class, why),
			zap.String("class", class), zap.Int64("users", n-done), zap.String("reason", why))
	}
}
