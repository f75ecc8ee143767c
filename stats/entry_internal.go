package stats

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// entry is the registry's state of one (method, name).
type entry struct {
	method, name string

	nstripes atomic.Int32
	stripes  [maxStripesLimit]atomic.Pointer[stripe]
	growMu   sync.Mutex // serialises adding stripes

	mu sync.Mutex // guards everything below; taken by folds, never by Record
	// Cumulative state (since creation, Reset or TakeDelta).
	tally
	startNs, lastNs int64
	hist, corr      *hdrhistogram.PackedHistogram
	reqs, failSecs  map[int64]int64
	win             [winSlots]winSlot
	ex              *topK  // the slowest traced samples; nil until one
	version         uint64 // bumped whenever data is added or zeroed
	winVersion      uint64
	// Output cache: dense copies handed out by the last Snapshot.
	outVer, curVer   uint64
	curMask          uint32
	outHist, outCorr *hdrhistogram.Histogram
	outCur           *hdrhistogram.Histogram

	errMu  sync.Mutex
	errs   map[string]*errAgg
	budget *errBudget // the registry's cap on distinct error texts (nil: none)
}

type winSlot struct {
	sec int64
	h   *hdrhistogram.PackedHistogram
}

type errAgg struct{ occ, first, last int64 }

type secCount struct{ sec, req, fail int64 }

// stripe is one independently locked recorder of an entry.
type stripe struct {
	mu sync.Mutex
	tally
	last       int64 // unix nanos of the last sample
	hist, corr denseCounts
	secs       [secRing]secCount
	ex         *topK    // the slowest traced samples since the last fold; nil until one
	_          [64]byte // keep neighbouring stripes off this cache line
}

func newEntry(method, name string, nowNs int64) *entry {
	e := &entry{method: method, name: name, startNs: nowNs}
	e.stripes[0].Store(&stripe{})
	e.nstripes.Store(1)
	return e
}

// record adds a sample to the first stripe it can lock without waiting,
// adding a stripe (up to maxStripes) when all are busy.
func (e *entry) record(s *Sample, now int64, maxStripes int32) {
	n := e.nstripes.Load()
	i := stripeStart(n)
	for k := int32(0); k < n; k++ {
		st := e.stripes[i].Load()
		if st.mu.TryLock() {
			st.add(s, now)
			st.mu.Unlock()
			return
		}
		if i++; i == n {
			i = 0
		}
	}
	st := e.grow(maxStripes, i)
	st.mu.Lock()
	st.add(s, now)
	st.mu.Unlock()
}

func (e *entry) grow(maxStripes, i int32) *stripe {
	e.growMu.Lock()
	defer e.growMu.Unlock()
	n := e.nstripes.Load()
	if n >= maxStripes {
		return e.stripes[i%n].Load()
	}
	st := &stripe{}
	e.stripes[n].Store(st)
	e.nstripes.Store(n + 1)
	return st
}

func (st *stripe) add(s *Sample, now int64) {
	d := s.Duration
	if st.n == 0 {
		st.min, st.max = d, d
	} else if d < st.min {
		st.min = d
	} else if d > st.max {
		st.max = d
	}
	st.n++
	st.total += d
	st.bytes += s.Size
	if now > st.last {
		st.last = now
	}
	st.hist.add(micros(d))
	if s.Corrected > 0 {
		st.corr.add(micros(s.Corrected))
	}
	sec := now / int64(time.Second)
	sl := &st.secs[uint64(sec)%secRing]
	if sl.sec != sec {
		sl.sec, sl.req, sl.fail = sec, 0, 0
	}
	sl.req++
	if s.Err != nil {
		st.fails++
		sl.fail++
	}
	if !s.TraceID.IsZero() {
		st.addExemplar(s, now)
	}
}

// addExemplar is kept out of add so that untraced samples pay one
// comparison for it.
func (st *stripe) addExemplar(s *Sample, now int64) {
	if st.ex == nil {
		st.ex = &topK{}
	}
	st.ex.add(exemplar{trace: s.TraceID, span: s.SpanID, d: s.Duration, at: now})
}

// fold moves the stripes' samples into the cumulative state, and into the
// current window's per-second slices when win is set (not for a delta or
// a reset, which drop the window anyway). e.mu is held.
func (e *entry) fold(nowNs int64, win bool) {
	n := e.nstripes.Load()
	for k := int32(0); k < n; k++ {
		st := e.stripes[k].Load()
		st.mu.Lock()
		if st.n > 0 {
			e.addTally(st.tally, st.last)
			if e.hist == nil {
				e.hist = newPacked()
			}
			var sl *hdrhistogram.PackedHistogram
			if win {
				sl = e.slot(st.last/int64(time.Second), nowNs)
			}
			st.hist.drain(e.hist, sl)
			if st.corr.hi >= 0 && st.corr.c != nil {
				if e.corr == nil {
					e.corr = newPacked()
				}
				st.corr.drain(e.corr)
			}
			for i := range st.secs {
				sl := &st.secs[i]
				if sl.req > 0 || sl.fail > 0 {
					e.reqs = addSecond(e.reqs, sl.sec, sl.req)
					if sl.fail > 0 {
						e.failSecs = addSecond(e.failSecs, sl.sec, sl.fail)
					}
				}
				*sl = secCount{}
			}
			if st.ex != nil && st.ex.n > 0 {
				if e.ex == nil {
					e.ex = &topK{}
				}
				e.ex.addAll(st.ex)
				st.ex.n = 0
			}
			st.tally = tally{}
		} else if st.hist.c != nil && nowNs-st.last > int64(idleFree) {
			st.hist = denseCounts{}
			st.corr = denseCounts{}
		}
		st.mu.Unlock()
	}
}

func addSecond(m map[int64]int64, sec, v int64) map[int64]int64 {
	if m == nil {
		m = make(map[int64]int64, keepSeconds+2)
	}
	m[sec] += v
	return m
}

func (e *entry) addTally(t tally, last int64) {
	e.tally.add(t)
	if last > e.lastNs {
		e.lastNs = last
	}
	e.version++
}

// slot returns the current-window slice for unix second sec, or nil when
// sec is too old to matter.
func (e *entry) slot(sec, nowNs int64) *hdrhistogram.PackedHistogram {
	if sec <= nowNs/int64(time.Second)-winSlots || sec < 0 {
		return nil
	}
	w := &e.win[uint64(sec)%winSlots]
	if w.h == nil {
		w.h = newPacked()
	}
	if w.sec != sec {
		if w.sec > sec {
			return nil
		}
		w.h.Reset()
		w.sec = sec
	}
	e.winVersion++
	return w.h
}

func inWindow(sec, nowNs int64) bool {
	nowSec := nowNs / int64(time.Second)
	return sec > nowSec-currentWindow && sec <= nowSec+1
}

// prune drops per-second counts older than keepSeconds.
func (e *entry) prune(nowNs int64) {
	oldest := nowNs/int64(time.Second) - keepSeconds
	for s := range e.reqs {
		if s <= oldest {
			delete(e.reqs, s)
		}
	}
	for s := range e.failSecs {
		if s <= oldest {
			delete(e.failSecs, s)
		}
	}
}

// output returns the public copy of the entry, reusing the dense
// histograms of the previous output when nothing changed. e.mu is held.
func (e *entry) output(nowNs int64, withCurrent bool) *Entry {
	out := &Entry{
		Method: e.method, Name: e.name,
		NumRequests: e.n, NumFailures: e.fails,
		TotalTime: e.total, Min: e.min, Max: e.max, TotalBytes: e.bytes,
		Start:      time.Unix(0, e.startNs),
		ReqPerSec:  copySeconds(e.reqs),
		FailPerSec: copySeconds(e.failSecs),
		Exemplars:  e.ex.list(),
	}
	if e.lastNs != 0 {
		out.LastRequest = time.Unix(0, e.lastNs)
	}
	if e.outHist == nil || e.outVer != e.version {
		e.outHist = toDense(e.hist)
		e.outCorr = nil
		if e.corr != nil && e.corr.TotalCount() > 0 {
			e.outCorr = toDense(e.corr)
		}
		e.outVer = e.version
	}
	out.Hist, out.CorrectedHist = e.outHist, e.outCorr
	if withCurrent {
		var mask uint32
		for i, sl := range e.win {
			if sl.h != nil && sl.h.TotalCount() > 0 && inWindow(sl.sec, nowNs) {
				mask |= 1 << i
			}
		}
		switch {
		case mask == 0:
			e.outCur = nil
		case e.outCur == nil || mask != e.curMask || e.curVer != e.winVersion:
			var slots [winSlots]*hdrhistogram.PackedHistogram
			for i, sl := range e.win {
				if mask&(1<<i) != 0 {
					slots[i] = sl.h
				}
			}
			e.outCur = toDense(slots[:]...)
		}
		e.curMask, e.curVer = mask, e.winVersion
		out.Current = e.outCur
	}
	return out
}

func copySeconds(m map[int64]int64) map[int64]int64 {
	if len(m) == 0 {
		return nil
	}
	c := make(map[int64]int64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// zero clears the cumulative state. e.mu is held and the stripes are folded.
func (e *entry) zero(nowNs int64) {
	e.tally = tally{}
	e.startNs, e.lastNs = nowNs, 0
	e.hist, e.corr = nil, nil
	e.reqs, e.failSecs = nil, nil
	e.ex = nil
	for i := range e.win {
		e.win[i] = winSlot{}
	}
	e.version++
	e.winVersion++
	e.outHist, e.outCorr, e.outCur = nil, nil, nil
}

// merge adds an entry of another registry. e.mu is held.
func (e *entry) merge(d *Entry, nowNs int64) {
	last := int64(0)
	if !d.LastRequest.IsZero() {
		last = d.LastRequest.UnixNano()
	}
	e.addTally(d.tally(), last)
	if !d.Start.IsZero() && d.Start.UnixNano() < e.startNs {
		e.startNs = d.Start.UnixNano()
	}
	if d.Hist != nil && d.Hist.TotalCount() > 0 {
		if e.hist == nil {
			e.hist = newPacked()
		}
		e.hist.MergeFrom(d.Hist)
		if sl := e.slot(nowNs/int64(time.Second), nowNs); sl != nil {
			sl.MergeFrom(d.Hist)
		}
	}
	if d.CorrectedHist != nil && d.CorrectedHist.TotalCount() > 0 {
		if e.corr == nil {
			e.corr = newPacked()
		}
		e.corr.MergeFrom(d.CorrectedHist)
	}
	if len(d.Exemplars) > 0 {
		if e.ex == nil {
			e.ex = &topK{}
		}
		e.ex.addExemplars(d.Exemplars)
	}
	// Seconds far ahead of the clock are dropped: pruning only removes old
	// ones, so a peer's report must not add seconds that would never go.
	hi := nowNs/int64(time.Second) + maxFutureSeconds
	for s, v := range d.ReqPerSec {
		if s <= hi {
			e.reqs = addSecond(e.reqs, s, v)
		}
	}
	for s, v := range d.FailPerSec {
		if s <= hi {
			e.failSecs = addSecond(e.failSecs, s, v)
		}
	}
}

// recordError adds one failure; capped is true the first time the
// registry's cap on distinct error texts was hit.
func (e *entry) recordError(msg string, now int64) (capped bool) {
	e.errMu.Lock()
	capped = e.addError(msg, 1, now, now)
	e.errMu.Unlock()
	return capped
}

// addError groups failures by message; past the per-name cap or the
// registry's budget a new text folds into otherErrors. capped is true the
// first time the budget was exhausted. e.errMu is held.
func (e *entry) addError(msg string, occ, first, last int64) (capped bool) {
	if e.errs == nil {
		e.errs = make(map[string]*errAgg)
	}
	a := e.errs[msg]
	if a == nil {
		fold := msg == otherErrors || countedErrors(e.errs) >= maxErrorsPerEntry
		if !fold {
			var ok bool
			ok, capped = e.budget.take()
			fold = !ok
		}
		if fold {
			msg = otherErrors
			a = e.errs[msg]
		}
		if a == nil {
			a = &errAgg{first: first, last: last}
			e.errs[msg] = a
		}
	}
	a.occ += occ
	if first != 0 && (a.first == 0 || first < a.first) {
		a.first = first
	}
	if last > a.last {
		a.last = last
	}
	return capped
}

func (e *entry) mergeError(x *Error) (capped bool) {
	var first, last int64
	if !x.FirstSeen.IsZero() {
		first = x.FirstSeen.UnixNano()
	}
	if !x.LastSeen.IsZero() {
		last = x.LastSeen.UnixNano()
	}
	e.errMu.Lock()
	capped = e.addError(x.Message, x.Occurrences, first, last)
	e.errMu.Unlock()
	return capped
}

func (e *entry) appendErrors(dst []*Error) []*Error {
	e.errMu.Lock()
	defer e.errMu.Unlock()
	return e.errorsTo(dst)
}

func (e *entry) takeErrors(dst []*Error) []*Error {
	e.errMu.Lock()
	defer e.errMu.Unlock()
	dst = e.errorsTo(dst)
	e.clearErrors()
	return dst
}

func (e *entry) errorsTo(dst []*Error) []*Error {
	for msg, a := range e.errs {
		x := &Error{Method: e.method, Name: e.name, Message: msg, Occurrences: a.occ}
		if a.first != 0 {
			x.FirstSeen = time.Unix(0, a.first).UTC()
		}
		if a.last != 0 {
			x.LastSeen = time.Unix(0, a.last).UTC()
		}
		dst = append(dst, x)
	}
	return dst
}

// clearErrors forgets the error texts and gives their room back to the
// budget. e.errMu is held.
func (e *entry) clearErrors() {
	e.budget.give(countedErrors(e.errs))
	e.errs = nil
}
