package stats

import (
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/HdrHistogram/hdrhistogram-go"
)

const (
	secRing           = 20               // per-second counts kept by a stripe between folds
	keepSeconds       = 20               // per-second counts kept by the registry
	winSlots          = 12               // per-second histogram slices for the current window
	currentWindow     = 10               // seconds of the "current" percentiles
	maxStripesLimit   = 8                // upper bound on stripes per name
	idleFree          = 30 * time.Second // a stripe idle this long gives back its dense counts
	maxErrorsPerEntry = 100              // distinct error texts per name; more fold into otherErrors
	maxExceptions     = 1000             // distinct stacks; more fold into otherExceptions
	otherErrors       = "other errors (distinct error cap reached)"
	otherExceptions   = "other exceptions (distinct stack cap reached)"
)

type key struct{ method, name string }

// Registry collects samples and turns them into Snapshots. It is safe for
// concurrent use.
//
// Record takes no registry-wide lock: names are looked up in a
// copy-on-write map behind an atomic pointer (a mutex guards only the
// insertion of new names), and each name records into one of a few
// independently locked stripes, added lazily when recorders collide.
// Snapshot folds the stripes into each name's cumulative state and computes
// the Aggregated row by merging the names.
type Registry struct {
	now        func() time.Time
	fake       bool // Options.Now was given: read it for every sample
	warn       func(string)
	maxNames   int
	maxStripes int32

	names    atomic.Pointer[map[key]*entry]
	cache    [cacheSize]atomic.Pointer[entry] // by string address, see lookup
	insertMu sync.Mutex                       // guards inserting into names and count
	count    int                              // distinct names below the cap (guarded by insertMu)
	others   int                              // "other" entries past the cap (guarded by insertMu)
	full     atomic.Bool
	warned   atomic.Bool

	errBudget errBudget // distinct error texts across all names
	excWarned bool      // the exception cap was hit (guarded by excMu)

	start  atomic.Int64 // unix nanos of creation or the last Reset / TakeDelta
	errors atomic.Int64 // failures + exceptions since start

	excMu      sync.Mutex
	exceptions map[string]*Exception

	// foldMu serialises Snapshot, TakeDelta, Merge and Reset (never taken
	// by Record), so that a snapshot's rows and its Aggregated row agree;
	// it also guards the Aggregated cache below.
	foldMu   sync.Mutex
	totSig   uint64
	totOmit  uint64 // version of the omitted samples in totCorr
	totHist  *hdrhistogram.Histogram
	totCorr  *hdrhistogram.Histogram
	totCount int

	omit  omitted // RecordOmitted's samples
	lag   lagHist // RecordLag's samples
	ended ended   // RecordUserEnd's counts
}

// NewRegistry returns an empty Registry.
func NewRegistry(o Options) *Registry {
	r := &Registry{now: o.Now, fake: o.Now != nil, warn: o.Warn, maxNames: o.MaxNames}
	if r.now == nil {
		r.now = time.Now
	}
	if r.warn == nil {
		r.warn = func(string) {}
	}
	if r.maxNames <= 0 {
		r.maxNames = DefaultMaxNames
	}
	r.errBudget.max = int64(o.MaxErrors)
	if r.errBudget.max <= 0 {
		r.errBudget.max = DefaultMaxErrors
	}
	r.maxStripes = int32(min(max(2*runtime.GOMAXPROCS(0), 2), maxStripesLimit))
	m := map[key]*entry{}
	r.names.Store(&m)
	r.exceptions = map[string]*Exception{}
	r.start.Store(r.now().UnixNano())
	return r
}

// Record adds one sample. A sample with a non-nil Err counts as a request
// and as a failure, and is grouped in the errors by (method, name,
// Err.Error()). Durations above 1 h are clamped to 1 h in the histograms
// (not in Min, Max and the average).
func (r *Registry) Record(s Sample) {
	var now int64
	if r.fake {
		now = r.now().UnixNano()
	} else {
		now = coarse.UnixNano()
	}
	e := r.lookup(s.Method, s.Name, now)
	e.record(&s, now, r.maxStripes)
	if s.Err != nil {
		r.errors.Add(1)
		if e.recordError(s.Err.Error(), now) {
			r.warnErrorCap()
		}
	}
}

func (r *Registry) warnErrorCap() {
	r.warn("stats: more than " + itoa(r.errBudget.max) + " distinct error texts; further ones are counted under \"" +
		otherErrors + "\" of their name (group dynamic error texts, or raise the cap)")
}

// lookup finds the entry of (method, name). Callers mostly pass the same
// string constants again and again, so a small direct-mapped cache keyed by
// the strings' addresses answers first, without hashing their bytes. An
// entry is cached only under the addresses of its own method and name
// strings, which it keeps alive, so an address cannot be reused by another
// string while cached. Other strings take the copy-on-write map.
func (r *Registry) lookup(method, name string, now int64) *entry {
	np, mp := unsafe.StringData(name), unsafe.StringData(method)
	slot := &r.cache[cacheIndex(np, mp, len(name))]
	if e := slot.Load(); e != nil && unsafe.StringData(e.name) == np && len(e.name) == len(name) &&
		unsafe.StringData(e.method) == mp && len(e.method) == len(method) {
		return e
	}
	e := (*r.names.Load())[key{method, name}]
	if e == nil {
		e = r.lookupSlow(method, name, now)
	}
	if unsafe.StringData(e.name) == np && unsafe.StringData(e.method) == mp && slot.Load() != e {
		slot.Store(e)
	}
	return e
}

const (
	cacheBits = 8
	cacheSize = 1 << cacheBits
)

func cacheIndex(np, mp *byte, n int) uint64 {
	h := uint64(uintptr(unsafe.Pointer(np))) ^ uint64(uintptr(unsafe.Pointer(mp)))*31 ^ uint64(n)
	return (h * 0x9E3779B97F4A7C15) >> (64 - cacheBits)
}

func (r *Registry) lookupSlow(method, name string, now int64) *entry {
	if r.full.Load() {
		m := *r.names.Load()
		if e := m[key{method, OtherName}]; e != nil {
			return e
		}
		if e := m[key{OtherMethod, OtherName}]; e != nil {
			return e // past the cap of "other" entries too
		}
	}
	e, warn := r.insert(method, name, now)
	if warn {
		// Outside the lock: Warn may log, or even record.
		r.warn("stats: more than " + itoa(int64(r.maxNames)) + " distinct request names; further names are counted under \"" +
			OtherName + "\" (group dynamic URLs with a name, or raise the cap)")
	}
	return e
}

// insert adds (method, name), or its folded entry past the cap; warn is
// true the first time the cap is hit.
func (r *Registry) insert(method, name string, now int64) (e *entry, warn bool) {
	r.insertMu.Lock()
	defer r.insertMu.Unlock()
	m := *r.names.Load()
	if e := m[key{method, name}]; e != nil {
		return e, false
	}
	if r.count >= r.maxNames {
		warn = !r.warned.Swap(true)
		r.full.Store(true)
		name = OtherName
		if e := m[key{method, name}]; e != nil {
			return e, warn
		}
		// One "other" entry per method, for the first few methods only:
		// distinct methods must not grow the registry past the cap either.
		if r.others >= maxOtherMethods {
			method = OtherMethod
			if e := m[key{method, name}]; e != nil {
				return e, warn
			}
		}
		r.others++
	} else {
		r.count++
	}
	e = newEntry(method, name, now)
	e.budget = &r.errBudget
	n := make(map[key]*entry, len(m)+1)
	for k, v := range m {
		n[k] = v
	}
	n[key{method, name}] = e
	r.names.Store(&n)
	return e, warn
}

// RecordException adds one exception (a recovered panic, say), grouped by
// its stack.
func (r *Registry) RecordException(msg, stack string) {
	r.errors.Add(1)
	r.addException(&Exception{Message: msg, Traceback: stack, Count: 1})
}

func (r *Registry) addException(x *Exception) {
	// Warn outside excMu: it may log, or even record.
	if r.addExceptionLocked(x) {
		r.warn("stats: more than " + itoa(maxExceptions) + " distinct exceptions; further ones are counted under \"" +
			otherExceptions + "\"")
	}
}

// addExceptionLocked adds x under excMu; true the first time the cap on
// distinct exceptions is hit.
func (r *Registry) addExceptionLocked(x *Exception) (capped bool) {
	r.excMu.Lock()
	defer r.excMu.Unlock()
	tb := x.Traceback
	if _, ok := r.exceptions[tb]; !ok && len(r.exceptions) >= maxExceptions {
		tb = otherExceptions
		capped = !r.excWarned
		r.excWarned = true
	}
	have := r.exceptions[tb]
	if have == nil {
		have = &Exception{Message: x.Message, Traceback: tb}
		r.exceptions[tb] = have
	}
	have.Count += x.Count
	for _, n := range x.Nodes {
		if len(have.Nodes) >= maxExceptionNodes {
			break // the first nodes say where; the count says how often
		}
		i := sort.SearchStrings(have.Nodes, n)
		if i == len(have.Nodes) || have.Nodes[i] != n {
			have.Nodes = append(have.Nodes, "")
			copy(have.Nodes[i+1:], have.Nodes[i:])
			have.Nodes[i] = n
		}
	}
	return capped
}

// NumErrors returns the number of failed requests and exceptions since the
// registry was created or last Reset (merged ones included).
func (r *Registry) NumErrors() int64 { return r.errors.Load() }

// HasFailures reports whether any request failed or any exception was
// recorded since the registry was created or last Reset.
func (r *Registry) HasFailures() bool { return r.errors.Load() > 0 }

func (r *Registry) entries() []*entry {
	m := *r.names.Load()
	es := make([]*entry, 0, len(m))
	for _, e := range m {
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool {
		if es[i].name != es[j].name {
			return es[i].name < es[j].name
		}
		return es[i].method < es[j].method
	})
	return es
}

// Snapshot returns a cumulative copy of the registry: every name (sorted by
// name, then method), the Aggregated total, the current window, errors and
// exceptions. Entries with no requests (after a Reset) are included.
//
// Snapshot also closes the registry's per-second slices of the current
// window, as Locust's per-second cache does: call it at least every few
// seconds (the console, CSV and web loops do) for a current window that is
// accurate to the second.
func (r *Registry) Snapshot() *Snapshot {
	r.foldMu.Lock()
	defer r.foldMu.Unlock()
	now := r.now()
	nowNs := now.UnixNano()
	s := &Snapshot{Start: time.Unix(0, r.start.Load())}
	tot := &Entry{Method: "", Name: AggregatedName, Start: s.Start}
	var cur []*hdrhistogram.PackedHistogram
	var sig uint64
	es := r.entries()
	s.Entries = make([]*Entry, 0, len(es))
	for _, e := range es {
		e.mu.Lock()
		e.fold(nowNs, true)
		e.prune(nowNs)
		out := e.output(nowNs, true)
		sig += e.version
		tot.addCounts(out)
		if out.Current != nil {
			for _, sl := range e.win {
				if sl.h != nil && inWindow(sl.sec, nowNs) {
					cur = append(cur, sl.h)
				}
			}
		}
		e.mu.Unlock()
		s.Entries = append(s.Entries, out)
		s.Errors = e.appendErrors(s.Errors)
	}
	if len(cur) > 0 {
		tot.Current = toDense(cur...) // stable: only folds change the slots, and foldMu is held
	}
	tot.Hist, tot.CorrectedHist = r.totalHists(es, sig)
	s.Omitted, _ = r.omittedSnapshot()
	s.Lag = r.lagSnapshot(false)
	s.EndedUsers = r.endedSnapshot(false)
	if tot.LastRequest.After(s.LastRequest) {
		s.LastRequest = tot.LastRequest
	}
	s.Total = tot
	sortErrors(s.Errors)
	s.Exceptions = r.copyExceptions()
	return s
}

// totalHists returns the Aggregated histograms (the corrected one with the
// omitted samples), reusing the previous ones when no name and no omitted
// sample changed since. r.foldMu is held, so the names' cumulative
// histograms cannot change meanwhile.
func (r *Registry) totalHists(es []*entry, sig uint64) (*hdrhistogram.Histogram, *hdrhistogram.Histogram) {
	if r.totHist != nil && r.totSig == sig && r.totCount == len(es) && r.totOmit == r.omitVersion() {
		return r.totHist, r.totCorr
	}
	hs := make([]*hdrhistogram.PackedHistogram, 0, len(es))
	var cs []*hdrhistogram.PackedHistogram
	for _, e := range es {
		e.mu.Lock()
		if e.hist != nil {
			hs = append(hs, e.hist)
		}
		if e.corr != nil && e.corr.TotalCount() > 0 {
			cs = append(cs, e.corr)
		}
		e.mu.Unlock()
	}
	h := toDense(hs...)
	c, omitVer := r.totalCorrected(cs)
	r.totSig, r.totCount, r.totHist, r.totCorr, r.totOmit = sig, len(es), h, c, omitVer
	return h, c
}

func (r *Registry) copyExceptions() []*Exception {
	r.excMu.Lock()
	xs := make([]*Exception, 0, len(r.exceptions))
	for _, x := range r.exceptions {
		c := *x
		c.Nodes = append([]string(nil), x.Nodes...)
		xs = append(xs, &c)
	}
	r.excMu.Unlock()
	sort.SliceStable(xs, func(i, j int) bool {
		if xs[i].Count != xs[j].Count {
			return xs[i].Count > xs[j].Count
		}
		return xs[i].Traceback < xs[j].Traceback
	})
	return xs
}

func sortErrors(es []*Error) {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.Occurrences != b.Occurrences {
			return a.Occurrences > b.Occurrences
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Method != b.Method {
			return a.Method < b.Method
		}
		return a.Message < b.Message
	})
}

// TakeDelta returns everything recorded (or merged) since the previous
// TakeDelta — the names that saw requests, their histograms and per-second
// counts, errors, exceptions and omitted samples — and zeroes the registry, as a Locust
// worker does after each report. The names stay known (and keep counting
// against the cap). Current is nil in a delta; Start is when the delta
// began.
func (r *Registry) TakeDelta() *Snapshot {
	r.foldMu.Lock()
	defer r.foldMu.Unlock()
	now := r.now()
	nowNs := now.UnixNano()
	s := &Snapshot{Start: time.Unix(0, r.start.Swap(nowNs))}
	tot := &Entry{Name: AggregatedName, Start: s.Start}
	var hs, cs []*hdrhistogram.PackedHistogram
	for _, e := range r.entries() {
		e.mu.Lock()
		e.fold(nowNs, false)
		if e.n > 0 || e.fails > 0 {
			out := e.output(nowNs, false)
			tot.addCounts(out)
			hs = append(hs, e.hist) // zero drops the registry's references
			if out.CorrectedHist != nil {
				cs = append(cs, e.corr)
			}
			s.Entries = append(s.Entries, out)
		}
		e.zero(nowNs)
		e.mu.Unlock()
		s.Errors = e.takeErrors(s.Errors)
	}
	tot.Hist = toDense(hs...)
	if omit := r.takeOmitted(); omit != nil {
		s.Omitted = toDense(omit)
		cs = append(cs, omit)
	}
	if len(cs) > 0 {
		tot.CorrectedHist = toDense(cs...)
	}
	s.Lag = r.lagSnapshot(true)
	s.EndedUsers = r.endedSnapshot(true)
	if tot.LastRequest.After(s.LastRequest) {
		s.LastRequest = tot.LastRequest
	}
	s.Total = tot
	sortErrors(s.Errors)
	r.excMu.Lock()
	exc := r.exceptions
	r.exceptions = map[string]*Exception{}
	r.excMu.Unlock()
	for _, x := range exc {
		s.Exceptions = append(s.Exceptions, x)
	}
	sort.SliceStable(s.Exceptions, func(i, j int) bool {
		if s.Exceptions[i].Count != s.Exceptions[j].Count {
			return s.Exceptions[i].Count > s.Exceptions[j].Count
		}
		return s.Exceptions[i].Traceback < s.Exceptions[j].Traceback
	})
	r.totHist = nil
	return s
}

// Merge adds a delta (or a snapshot) from another registry exactly:
// counts, sums, min and max, histograms (service time and corrected),
// per-second counts, errors (with first and last seen), exceptions (with
// their nodes) and the omitted samples (Snapshot.Omitted). The name cap
// applies. The merged samples enter the current
// window at the time of the merge. The Aggregated row of d is not read: it
// is recomputed from the names.
func (r *Registry) Merge(d *Snapshot) {
	if d == nil {
		return
	}
	r.foldMu.Lock()
	defer r.foldMu.Unlock()
	nowNs := r.now().UnixNano()
	for _, de := range d.Entries {
		if de == nil {
			continue
		}
		e := r.lookup(de.Method, de.Name, nowNs)
		e.mu.Lock()
		e.fold(nowNs, true)
		e.merge(de, nowNs)
		e.mu.Unlock()
		r.errors.Add(de.NumFailures)
	}
	for _, x := range d.Errors {
		if x != nil && r.lookup(x.Method, x.Name, nowNs).mergeError(x) {
			r.warnErrorCap()
		}
	}
	for _, x := range d.Exceptions {
		if x != nil {
			r.errors.Add(x.Count)
			r.addException(x)
		}
	}
	r.mergeOmitted(d.Omitted)
	r.mergeLag(d.Lag)
	r.mergeEnded(d.EndedUsers)
}

// Reset zeroes every name (they stay listed, with no requests, as in
// Locust), and clears errors, exceptions, the omitted samples, the current
// window and the per-second counts; the start time becomes now.
func (r *Registry) Reset() {
	r.foldMu.Lock()
	defer r.foldMu.Unlock()
	nowNs := r.now().UnixNano()
	for _, e := range r.entries() {
		e.mu.Lock()
		e.fold(nowNs, false)
		e.zero(nowNs)
		e.mu.Unlock()
		e.errMu.Lock()
		e.clearErrors()
		e.errMu.Unlock()
	}
	r.excMu.Lock()
	r.exceptions = map[string]*Exception{}
	r.excMu.Unlock()
	r.errors.Store(0)
	r.start.Store(nowNs)
	r.takeOmitted()
	r.lagSnapshot(true)
	r.endedSnapshot(true)
	r.totHist = nil
}

// stripeStart picks where a recorder starts probing the stripes: the
// stripe of the current P (processor), so that recorders on different
// cores mostly write to different cache lines.
func stripeStart(n int32) int32 {
	if n == 1 {
		return 0
	}
	p := procPin()
	procUnpin()
	return int32(p) % n
}

//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

func itoa(v int64) string {
	var b [20]byte
	i := len(b)
	neg := v < 0
	if neg {
		v = -v
	}
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
