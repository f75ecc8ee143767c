package stats

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileDelta is what a hostile worker could send in a few reports: every
// sample under a distinct method and name, with a distinct error text, a
// distinct exception listing many nodes, and per-second counts far in the
// future.
func hostileDelta(now time.Time, n, from int) *Snapshot {
	d := &Snapshot{Start: now}
	future := now.Unix() + 1_000_000
	for i := from; i < from+n; i++ {
		method, name := fmt.Sprintf("M%d", i), fmt.Sprintf("/n/%d", i)
		d.Entries = append(d.Entries, &Entry{Method: method, Name: name, NumRequests: 1, NumFailures: 1,
			Min: time.Millisecond, Max: time.Millisecond, TotalTime: time.Millisecond, Start: now, LastRequest: now,
			ReqPerSec: map[int64]int64{future + int64(i): 1}})
		d.Errors = append(d.Errors, &Error{Method: method, Name: name, Message: fmt.Sprintf("boom %d", i), Occurrences: 1})
		nodes := []string{fmt.Sprint("w", i)}
		if i < 10 { // a few with many nodes
			for k := range 150 {
				nodes = append(nodes, fmt.Sprintf("w%d_%d", i, k))
			}
		}
		d.Exceptions = append(d.Exceptions, &Exception{Message: "x", Traceback: fmt.Sprintf("stack %d", i), Count: 1, Nodes: nodes})
	}
	return d
}

func TestMergedHostileDeltasLeaveTheRegistryBounded(t *testing.T) {
	var warnings []string
	r := NewRegistry(Options{MaxNames: 50, MaxErrors: 100, Warn: func(m string) { warnings = append(warnings, m) }})
	now := time.Now()
	const reports, per = 20, 500
	for i := range reports {
		r.Merge(hostileDelta(now, per, i*per))
	}
	s := r.Snapshot()

	assert.LessOrEqual(t, len(s.Entries), 50+maxOtherMethods+1, "entries: the name cap plus the bounded other rows")
	var methods []string
	var reqs int64
	for _, e := range s.Entries {
		reqs += e.NumRequests
		if e.Name == OtherName {
			methods = append(methods, e.Method)
		}
		assert.LessOrEqual(t, len(e.ReqPerSec), 1, "no far-future seconds are kept: %s %s", e.Method, e.Name)
	}
	assert.Contains(t, methods, OtherMethod, "methods past the other rows share one entry")
	assert.Equal(t, int64(reports*per), reqs, "every request is still counted")
	assert.Equal(t, int64(reports*per), s.Total.NumRequests)

	var occ int64
	distinct := 0
	for _, e := range s.Errors {
		occ += e.Occurrences
		if e.Message != otherErrors {
			distinct++
		}
	}
	assert.Equal(t, 100, distinct, "distinct error texts stop at MaxErrors")
	assert.LessOrEqual(t, len(s.Errors), 100+len(s.Entries))
	assert.Equal(t, int64(reports*per), occ, "every failure is still counted")

	assert.Len(t, s.Exceptions, maxExceptions+1, "distinct stacks plus one catch-all")
	var count int64
	for _, x := range s.Exceptions {
		count += x.Count
		assert.LessOrEqual(t, len(x.Nodes), maxExceptionNodes)
	}
	assert.Equal(t, int64(reports*per), count)

	require.Len(t, warnings, 3, "one warning per cap: %q", warnings)
	assert.Contains(t, warnings[0], OtherName)
	assert.Contains(t, strings.Join(warnings, "\n"), "distinct error texts")
	assert.Contains(t, strings.Join(warnings, "\n"), "distinct exceptions")
}

func TestErrorBudgetIsGivenBackByResetAndTakeDelta(t *testing.T) {
	r := NewRegistry(Options{MaxErrors: 3})
	rec := func(prefix string) {
		for i := range 5 {
			r.Record(Sample{Method: "GET", Name: "/", Duration: time.Millisecond, Err: fmt.Errorf("%s %d", prefix, i)})
		}
	}
	distinct := func(es []*Error) (n int) {
		for _, e := range es {
			if e.Message != otherErrors {
				n++
			}
		}
		return n
	}
	rec("a")
	assert.Equal(t, 3, distinct(r.Snapshot().Errors))
	r.Reset()
	rec("b")
	assert.Equal(t, 3, distinct(r.TakeDelta().Errors), "Reset gave the room back")
	rec("c")
	s := r.Snapshot()
	assert.Equal(t, 3, distinct(s.Errors), "TakeDelta gave the room back")
	var msgs []string
	for _, e := range s.Errors {
		msgs = append(msgs, e.Message)
	}
	assert.Contains(t, msgs, "c 0")
	assert.NotContains(t, msgs, "b 0")
}

// TestMergingEndlessNewNamesKeepsTheHeapFlat: once the caps are reached,
// more hostile reports add nothing the registry keeps.
func TestMergingEndlessNewNamesKeepsTheHeapFlat(t *testing.T) {
	r := NewRegistry(Options{})
	now := time.Now()
	merge := func(from, n int) {
		for i := from; i < from+n; i += 500 {
			r.Merge(hostileDelta(now, 500, i))
		}
		r.Snapshot()
	}
	heap := func() int64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	merge(0, 5_000) // past every cap
	before := heap()
	merge(5_000, 20_000)
	after := heap()
	t.Logf("heap before %d KiB, after 20,000 more names %d KiB", before>>10, after>>10)
	// Without the caps, 20,000 more entries, error texts and stacks would
	// keep tens of MiB.
	assert.Less(t, after-before, int64(4<<20), "the heap grew with the hostile names")
	assert.LessOrEqual(t, len(r.Snapshot().Entries), DefaultMaxNames+maxOtherMethods+1)
}
