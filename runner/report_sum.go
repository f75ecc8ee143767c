package runner

import (
	"fmt"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/golocust/golocust/proto/locustpb"
	"github.com/golocust/golocust/stats"
)

// ReportSum adds up workers' stats reports: Add is the one decoder of a
// locustpb.StatsReport (the master's coalescer and ReportToSnapshot both
// go through it), and each decoded entry is added to the sum's entry of
// the same method and name with stats.Entry.Merge, the one entry merge.
// Histograms are decoded straight into the sum's, without an intermediate
// copy, so a sum of many reports costs one histogram per name.
//
// The zero value is an empty sum. A ReportSum is not safe for concurrent
// use.
type ReportSum struct {
	acc   map[accKey]*accEntry
	order []*accEntry // acc in the order names first arrived
	errs  []*stats.Error
	excs  []*stats.Exception
	omit  *hdrhistogram.Histogram // Snapshot.Omitted of the reports; nil or empty when none
	lag   *hdrhistogram.Histogram // Snapshot.Lag of the reports; nil or empty when none
	ended map[string]int64        // Snapshot.EndedUsers of the reports
	start time.Time
	n     int // reports added since the last Reset

	// full, when set, is called before a new name is added to a sum that
	// holds maxPending names (the coalescer folds then).
	full func()
}

type accKey struct{ method, name string }

type accEntry struct {
	e          stats.Entry // scalars and per-second counts of the reports
	hist, corr *hdrhistogram.Histogram
	used       bool
	idle       int
}

// Add decodes report r into the sum. node names the worker (it is added to
// every exception's Nodes). The report's Total is not read: the registry
// recomputes the Aggregated row. On an undecodable histogram Add returns
// the error; the entries of r before it (and the buckets of that histogram
// read before the error) stay in the sum.
func (s *ReportSum) Add(r *locustpb.StatsReport, node string) error {
	if s.acc == nil {
		s.acc = map[accKey]*accEntry{}
	}
	s.n++
	if st := fromUnixUs(r.GetStartUnixUs()); !st.IsZero() && (s.start.IsZero() || st.Before(s.start)) {
		s.start = st
	}
	for _, pe := range r.GetEntries() {
		k := accKey{pe.GetMethod(), pe.GetName()}
		a := s.acc[k]
		if a == nil {
			if s.full != nil && len(s.acc) >= maxPending {
				s.full()
			}
			a = &accEntry{e: stats.Entry{Method: k.method, Name: k.name}}
			s.acc[k] = a
			s.order = append(s.order, a)
		}
		if err := mergeWireHist(&a.hist, pe.GetHistogram()); err != nil {
			return fmt.Errorf("stats report %s %s: %w", k.method, k.name, err)
		}
		if err := mergeWireHist(&a.corr, pe.GetCorrectedHistogram()); err != nil {
			return fmt.Errorf("stats report %s %s: %w", k.method, k.name, err)
		}
		a.used = true
		x := stats.Entry{
			NumRequests: pe.GetNumRequests(),
			NumFailures: pe.GetNumFailures(),
			TotalTime:   time.Duration(pe.GetTotalTimeUs()) * time.Microsecond,
			Min:         time.Duration(pe.GetMinUs()) * time.Microsecond,
			Max:         time.Duration(pe.GetMaxUs()) * time.Microsecond,
			TotalBytes:  pe.GetTotalBytes(),
			Start:       fromUnixUs(pe.GetStartUnixUs()),
			LastRequest: fromUnixUs(pe.GetLastRequestUnixUs()),
			Exemplars:   exemplarsFromWire(pe.GetExemplars()),
		}
		a.e.Merge(&x)
		a.e.ReqPerSec = addWireSeconds(a.e.ReqPerSec, pe.GetFirstSecond(), pe.GetRequestsPerSecond())
		a.e.FailPerSec = addWireSeconds(a.e.FailPerSec, pe.GetFirstSecond(), pe.GetFailuresPerSecond())
	}
	if err := mergeWireHist(&s.omit, r.GetOmittedHistogram()); err != nil {
		return fmt.Errorf("stats report omitted samples: %w", err)
	}
	if err := mergeWireHist(&s.lag, r.GetLagHistogram()); err != nil {
		return fmt.Errorf("stats report generator lag: %w", err)
	}
	for reason, n := range r.GetEndedUsers() {
		if s.ended == nil {
			s.ended = map[string]int64{}
		}
		s.ended[reason] += n
	}
	for _, x := range r.GetErrors() {
		s.errs = append(s.errs, &stats.Error{
			Method: x.GetMethod(), Name: x.GetName(), Message: x.GetMessage(), Occurrences: x.GetOccurrences(),
			FirstSeen: fromUnixUs(x.GetFirstSeenUnixUs()), LastSeen: fromUnixUs(x.GetLastSeenUnixUs()),
		})
	}
	for _, x := range r.GetExceptions() {
		ex := &stats.Exception{Message: x.GetMessage(), Traceback: x.GetTraceback(), Count: x.GetCount()}
		if node != "" {
			ex.Nodes = []string{node}
		}
		s.excs = append(s.excs, ex)
	}
	return nil
}

// mergeWireHist adds an encoded histogram to *dst (a full-range histogram
// made when nil).
func mergeWireHist(dst **hdrhistogram.Histogram, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if *dst == nil {
		*dst = stats.NewHistogram()
	}
	return locustpb.MergeHistogram(*dst, b)
}

// addWireSeconds adds dense per-second counts starting at unix second
// first to m.
func addWireSeconds(m map[int64]int64, first int64, counts []int64) map[int64]int64 {
	for i, v := range counts {
		if v != 0 {
			if m == nil {
				m = map[int64]int64{}
			}
			m[first+int64(i)] += v
		}
	}
	return m
}

// Snapshot returns the sum as a snapshot ready for stats.Registry.Merge,
// entries in the order their names first arrived. Its histograms are the
// sum's: they are valid until the next Add or Reset.
func (s *ReportSum) Snapshot() *stats.Snapshot {
	snap := &stats.Snapshot{Start: s.start, Errors: s.errs, Exceptions: s.excs}
	if s.omit != nil && s.omit.TotalCount() > 0 {
		snap.Omitted = s.omit
	}
	if s.lag != nil && s.lag.TotalCount() > 0 {
		snap.Lag = s.lag
	}
	snap.EndedUsers = s.ended
	for _, a := range s.order {
		if !a.used {
			continue
		}
		e := a.e
		if a.hist != nil && a.hist.TotalCount() > 0 {
			e.Hist = a.hist
		}
		if a.corr != nil && a.corr.TotalCount() > 0 {
			e.CorrectedHist = a.corr
		}
		if e.LastRequest.After(snap.LastRequest) {
			snap.LastRequest = e.LastRequest
		}
		snap.Entries = append(snap.Entries, &e)
	}
	return snap
}

// Reports returns how many reports were added since the last Reset.
func (s *ReportSum) Reports() int { return s.n }

// Reset empties the sum. It keeps the names' histograms (zeroed) for the
// next reports; names unused for idleFlushes resets are forgotten.
func (s *ReportSum) Reset() {
	for _, a := range s.order {
		if a.used {
			a.reset()
		}
	}
	if s.omit != nil && s.omit.TotalCount() > 0 {
		s.omit.Reset()
	}
	if s.lag != nil && s.lag.TotalCount() > 0 {
		s.lag.Reset()
	}
	s.ended = nil
	s.errs, s.excs, s.start, s.n = nil, nil, time.Time{}, 0
}

func (a *accEntry) reset() {
	if a.hist != nil && a.hist.TotalCount() > 0 {
		a.hist.Reset()
	}
	if a.corr != nil && a.corr.TotalCount() > 0 {
		a.corr.Reset()
	}
	a.e = stats.Entry{Method: a.e.Method, Name: a.e.Name}
	a.used = false
	a.idle = 0
}

// dropIdle forgets names unused for idleFlushes resets (every unused one
// when all is set), so their memory goes back.
func (s *ReportSum) dropIdle(all bool) {
	kept := s.order[:0]
	for _, a := range s.order {
		if !a.used {
			a.idle++
			if all || a.idle >= idleFlushes {
				delete(s.acc, accKey{a.e.Method, a.e.Name})
				continue
			}
		}
		kept = append(kept, a)
	}
	clear(s.order[len(kept):])
	s.order = kept
}

// forget drops everything, names included.
func (s *ReportSum) forget() {
	s.Reset()
	clear(s.acc)
	clear(s.order)
	s.order = s.order[:0]
}

// ReportToSnapshot decodes one stats report into a snapshot ready for
// stats.Registry.Merge (a ReportSum of that one report). node names the
// worker (it is added to every exception's Nodes). A report that does not
// decode (a bad histogram) is an error and nothing of it should be merged.
func ReportToSnapshot(r *locustpb.StatsReport, node string) (*stats.Snapshot, error) {
	var s ReportSum
	if err := s.Add(r, node); err != nil {
		return nil, err
	}
	return s.Snapshot(), nil
}
