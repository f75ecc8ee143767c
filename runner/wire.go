package runner

import (
	"fmt"
	stdmaps "maps"
	"slices"
	"time"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/stats"
)

// This file converts stats snapshots to and from the wire: a worker turns
// its delta (stats.Registry.TakeDelta) into a locustpb.StatsReport, the
// master turns the report back into a snapshot and merges it
// (stats.Registry.Merge).
//
// Durations travel in whole microseconds: the exact sums, minima and maxima
// of a delta lose less than 1 µs each (the histograms are in microseconds
// anyway).

// maxWireSeconds bounds the per-second counters of one entry (the protocol
// refuses more than locustpb.DefaultLimits.MaxSeconds); older seconds of an
// oversized delta are dropped.
const maxWireSeconds = 3600

func unixUs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromUnixUs(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us)
}

// SnapshotToReport encodes a delta (or a snapshot) as a stats report.
// users and classes are the worker's live user counts.
func SnapshotToReport(s *stats.Snapshot, users int, classes map[string]int) (*locustpb.StatsReport, error) {
	r := &locustpb.StatsReport{
		StartUnixUs: unixUs(s.Start),
		UserCount:   int64(users),
	}
	if len(classes) > 0 {
		r.UserClassCounts = make(map[string]int64, len(classes))
		for k, v := range classes {
			r.UserClassCounts[k] = int64(v)
		}
	}
	for _, e := range s.Entries {
		if e == nil {
			continue
		}
		pe, err := entryToWire(e, true)
		if err != nil {
			return nil, err
		}
		r.Entries = append(r.Entries, pe)
	}
	if s.Total != nil {
		// The master recomputes the Aggregated row from the names; the
		// scalars are sent for logging and sanity checks only.
		t, err := entryToWire(s.Total, false)
		if err != nil {
			return nil, err
		}
		t.Name = ""
		r.Total = t
	}
	for _, x := range s.Errors {
		r.Errors = append(r.Errors, &locustpb.ErrorEntry{
			Method: x.Method, Name: x.Name, Message: x.Message, Occurrences: x.Occurrences,
			FirstSeenUnixUs: unixUs(x.FirstSeen), LastSeenUnixUs: unixUs(x.LastSeen),
		})
	}
	for _, x := range s.Exceptions {
		r.Exceptions = append(r.Exceptions, &locustpb.ExceptionEntry{Message: x.Message, Traceback: x.Traceback, Count: x.Count})
	}
	if s.Omitted != nil && s.Omitted.TotalCount() > 0 {
		b, err := locustpb.EncodeHistogram(s.Omitted)
		if err != nil {
			return nil, fmt.Errorf("stats report omitted samples: %w", err)
		}
		r.OmittedHistogram = b
	}
	if s.Lag != nil && s.Lag.TotalCount() > 0 {
		b, err := locustpb.EncodeHistogram(s.Lag)
		if err != nil {
			return nil, fmt.Errorf("stats report generator lag: %w", err)
		}
		r.LagHistogram = b
	}
	r.EndedUsers = s.EndedUsers
	return r, nil
}

func entryToWire(e *stats.Entry, hists bool) (*locustpb.StatsEntry, error) {
	pe := &locustpb.StatsEntry{
		Method:            e.Method,
		Name:              e.Name,
		NumRequests:       e.NumRequests,
		NumFailures:       e.NumFailures,
		TotalTimeUs:       e.TotalTime.Microseconds(),
		MinUs:             e.Min.Microseconds(),
		MaxUs:             e.Max.Microseconds(),
		TotalBytes:        e.TotalBytes,
		StartUnixUs:       unixUs(e.Start),
		LastRequestUnixUs: unixUs(e.LastRequest),
	}
	if pe.NumRequests > 0 && pe.MinUs > pe.MaxUs {
		pe.MinUs = pe.MaxUs
	}
	if hists {
		var err error
		if e.Hist != nil && e.Hist.TotalCount() > 0 {
			if pe.Histogram, err = locustpb.EncodeHistogram(e.Hist); err != nil {
				return nil, fmt.Errorf("stats report %s %s: %w", e.Method, e.Name, err)
			}
		}
		if e.CorrectedHist != nil && e.CorrectedHist.TotalCount() > 0 {
			if pe.CorrectedHistogram, err = locustpb.EncodeHistogram(e.CorrectedHist); err != nil {
				return nil, fmt.Errorf("stats report %s %s: %w", e.Method, e.Name, err)
			}
		}
	}
	pe.FirstSecond, pe.RequestsPerSecond, pe.FailuresPerSecond = secondsToWire(e.ReqPerSec, e.FailPerSec)
	for _, x := range e.Exemplars {
		pe.Exemplars = append(pe.Exemplars, &locustpb.Exemplar{TraceId: x.TraceID[:], SpanId: x.SpanID[:],
			ResponseTimeUs: x.Duration.Microseconds(), UnixUs: unixUs(x.Time)})
	}
	return pe, nil
}

// exemplarsFromWire decodes an entry's exemplars (the validator checked
// the ids' lengths; others are skipped).
func exemplarsFromWire(xs []*locustpb.Exemplar) []stats.Exemplar {
	var out []stats.Exemplar
	for _, x := range xs {
		var ex stats.Exemplar
		if len(x.GetTraceId()) != len(ex.TraceID) || len(x.GetSpanId()) != len(ex.SpanID) {
			continue
		}
		copy(ex.TraceID[:], x.GetTraceId())
		copy(ex.SpanID[:], x.GetSpanId())
		ex.Duration = time.Duration(x.GetResponseTimeUs()) * time.Microsecond
		ex.Time = fromUnixUs(x.GetUnixUs())
		out = append(out, ex)
	}
	return out
}

// secondsToWire turns per-second maps into dense slices from the first
// second that has a count (at most maxWireSeconds, the newest kept).
func secondsToWire(req, fail map[int64]int64) (first int64, reqs, fails []int64) {
	if len(req) == 0 && len(fail) == 0 {
		return 0, nil, nil
	}
	lo, hi := int64(-1), int64(-1)
	for _, m := range []map[int64]int64{req, fail} {
		for s, v := range m {
			if v == 0 || s < 0 {
				continue
			}
			if lo < 0 || s < lo {
				lo = s
			}
			if s > hi {
				hi = s
			}
		}
	}
	if lo < 0 {
		return 0, nil, nil
	}
	lo = max(lo, hi-maxWireSeconds+1)
	reqs = make([]int64, hi-lo+1)
	for s, v := range req {
		if s >= lo && s <= hi {
			reqs[s-lo] += v
		}
	}
	last := int64(-1)
	for s, v := range fail {
		if s >= lo && s <= hi && v != 0 {
			last = max(last, s)
		}
	}
	if last >= 0 {
		fails = make([]int64, last-lo+1)
		for s, v := range fail {
			if s >= lo && s <= last {
				fails[s-lo] += v
			}
		}
	}
	return lo, reqs, fails
}

// countsFromWire converts a per-class count map.
func countsFromWire(m map[string]int64) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = int(v)
	}
	return out
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(stdmaps.Keys(m))
}
