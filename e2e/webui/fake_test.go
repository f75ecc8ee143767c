package webui

import (
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/stats"
	. "github.com/golocust/golocust/webui"
	"github.com/golocust/golocust/webui/auth"
)

// fakeCtl is a Controller whose stats grow while "running": a generator
// goroutine records samples for names every few milliseconds. (A copy of
// the library's webui test fake, which this module cannot import.)
type fakeCtl struct {
	mu         sync.Mutex
	state      string
	users      int
	host       string
	classes    []string
	master     bool
	workers    []WorkerInfo
	startErr   error
	starts     []StartRequest
	stops      int
	resets     int
	names      []string // names the generator records
	entries    map[[2]string]*stats.Entry
	errs       map[[3]string]*stats.Error
	exceptions []*stats.Exception
	history    []stats.HistoryPoint
	fixed      *stats.Snapshot // when set, Snapshot returns it
	logs       Logs
	quit       chan struct{}
	wg         sync.WaitGroup
}

func newFake(names ...string) *fakeCtl {
	return &fakeCtl{
		state:   StateReady,
		host:    "http://127.0.0.1:1",
		classes: []string{"Shopper", "Browser"},
		names:   names,
		entries: map[[2]string]*stats.Entry{},
		errs:    map[[3]string]*stats.Error{},
		logs:    Logs{Master: []string{"[info] web UI ready", "<b>not bold</b>"}},
	}
}

// newHist is smaller than the stats package's (2 digits): the fake only
// needs plausible percentiles, and tests with 1,000 names stay fast.
func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, 3_600_000_000, 2) }

// record adds one sample (the fake's own tiny stats).
func (f *fakeCtl) record(method, name string, d time.Duration, size int64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recordLocked(method, name, d, size, err, time.Now())
}

func (f *fakeCtl) recordLocked(method, name string, d time.Duration, size int64, err error, now time.Time) {
	k := [2]string{method, name}
	e := f.entries[k]
	if e == nil {
		e = &stats.Entry{Method: method, Name: name, Hist: newHist(), Current: newHist(),
			ReqPerSec: map[int64]int64{}, FailPerSec: map[int64]int64{}, Start: now}
		f.entries[k] = e
	}
	addSample(e, d, size, err != nil, now)
	if err != nil {
		ek := [3]string{method, name, err.Error()}
		x := f.errs[ek]
		if x == nil {
			x = &stats.Error{Method: method, Name: name, Message: err.Error(), FirstSeen: now}
			f.errs[ek] = x
		}
		x.Occurrences++
		x.LastSeen = now
	}
}

func addSample(e *stats.Entry, d time.Duration, size int64, failed bool, now time.Time) {
	e.NumRequests++
	if failed {
		e.NumFailures++
		e.FailPerSec[now.Unix()]++
	}
	e.ReqPerSec[now.Unix()]++
	if e.NumRequests == 1 || d < e.Min {
		e.Min = d
	}
	if d > e.Max {
		e.Max = d
	}
	e.TotalTime += d
	e.TotalBytes += size
	us := max(d.Microseconds(), 1)
	_ = e.Hist.RecordValue(us)
	_ = e.Current.RecordValue(us)
	e.LastRequest = now
}

func copyEntry(e *stats.Entry) *stats.Entry {
	c := *e
	c.Hist = hdrhistogram.Import(e.Hist.Export())
	c.Current = hdrhistogram.Import(e.Current.Export())
	c.ReqPerSec, c.FailPerSec = map[int64]int64{}, map[int64]int64{}
	for k, v := range e.ReqPerSec {
		c.ReqPerSec[k] = v
	}
	for k, v := range e.FailPerSec {
		c.FailPerSec[k] = v
	}
	return &c
}

// buildSnapshot copies entries into a Snapshot with an Aggregated total.
func buildSnapshot(entries []*stats.Entry, errs []*stats.Error, exc []*stats.Exception) *stats.Snapshot {
	s := &stats.Snapshot{Errors: errs, Exceptions: exc}
	tot := &stats.Entry{Name: "Aggregated", Hist: newHist(), Current: newHist(), ReqPerSec: map[int64]int64{}, FailPerSec: map[int64]int64{}}
	for _, e := range entries {
		s.Entries = append(s.Entries, e)
		tot.NumRequests += e.NumRequests
		tot.NumFailures += e.NumFailures
		tot.TotalTime += e.TotalTime
		tot.TotalBytes += e.TotalBytes
		tot.Hist.Merge(e.Hist)
		tot.Current.Merge(e.Current)
		if tot.Min == 0 || e.Min < tot.Min {
			tot.Min = e.Min
		}
		tot.Max = max(tot.Max, e.Max)
		for k, v := range e.ReqPerSec {
			tot.ReqPerSec[k] += v
		}
		for k, v := range e.FailPerSec {
			tot.FailPerSec[k] += v
		}
		if tot.Start.IsZero() || e.Start.Before(tot.Start) {
			tot.Start = e.Start
		}
		if e.LastRequest.After(tot.LastRequest) {
			tot.LastRequest = e.LastRequest
		}
	}
	s.Start, s.LastRequest, s.Total = tot.Start, tot.LastRequest, tot
	sort.Slice(s.Entries, func(i, j int) bool {
		a, b := s.Entries[i], s.Entries[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Method < b.Method
	})
	return s
}

func (f *fakeCtl) Snapshot() *stats.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fixed != nil {
		return f.fixed
	}
	var es []*stats.Entry
	for _, e := range f.entries {
		es = append(es, copyEntry(e))
	}
	var errs []*stats.Error
	for _, e := range f.errs {
		c := *e
		errs = append(errs, &c)
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Occurrences > errs[j].Occurrences })
	return buildSnapshot(es, errs, slices.Clone(f.exceptions))
}

func (f *fakeCtl) Start(req StartRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, req)
	if f.startErr != nil {
		return f.startErr
	}
	if req.Host != "" {
		f.host = req.Host
	}
	f.users = req.Users
	if f.state == StateRunning {
		return nil
	}
	f.state = StateRunning
	if len(f.names) > 0 {
		f.quit = make(chan struct{})
		f.wg.Add(1)
		go f.generate(f.quit)
	}
	return nil
}

// generate records a sample for every name every 20 ms and a history point
// every 200 ms until quit closes.
func (f *fakeCtl) generate(quit chan struct{}) {
	defer f.wg.Done()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-quit:
			return
		case <-t.C:
		}
		now := time.Now()
		f.mu.Lock()
		for j, n := range f.names {
			var err error
			if j == 0 && i%5 == 0 {
				err = errors.New("HTTP 500: <script>alert('x')</script>")
			}
			d := time.Duration(5+(i*7+j*13)%90) * time.Millisecond
			f.recordLocked("GET", n, d, int64(100+j), err, now)
		}
		if i%10 == 0 {
			f.history = append(f.history, stats.HistoryPoint{Time: now, UserCount: f.users, RPS: float64(50 * len(f.names)),
				FailPerSec: 10, P50: 40 * time.Millisecond, P95: 90 * time.Millisecond, AvgResponse: 45 * time.Millisecond})
		}
		if i == 3 {
			f.exceptions = append(f.exceptions, &stats.Exception{Message: "panic: <img src=x onerror=alert(2)>",
				Traceback: "goroutine 7 [running]:\nmain.(*Shopper).Buy()\n\t/src/shop.go:42", Count: 1, Nodes: []string{"local"}})
		}
		f.mu.Unlock()
	}
}

func (f *fakeCtl) Stop() error {
	f.mu.Lock()
	q := f.quit
	f.quit = nil
	f.stops++
	f.state = StateStopped
	f.users = 0
	f.mu.Unlock()
	if q != nil {
		close(q)
		f.wg.Wait()
	}
	return nil
}

// close stops the generator at the end of a test.
func (f *fakeCtl) close() { _ = f.Stop() }

func (f *fakeCtl) ResetStats() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resets++
	f.entries = map[[2]string]*stats.Entry{}
	f.errs = map[[3]string]*stats.Error{}
	f.exceptions = nil
}

func (f *fakeCtl) State() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

func (f *fakeCtl) UserCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.users
}

func (f *fakeCtl) History() []stats.HistoryPoint {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.history)
}

func (f *fakeCtl) ClassNames() []string { return slices.Clone(f.classes) }

func (f *fakeCtl) TaskRatio() TaskRatios {
	return TaskRatios{
		PerClass: map[string]Ratio{
			"Shopper": {Ratio: 0.75, Tasks: map[string]Ratio{"Browse": {Ratio: 5.0 / 6}, "Buy": {Ratio: 1.0 / 6}}},
			"Browser": {Ratio: 0.25, Tasks: map[string]Ratio{"Index": {Ratio: 1}}},
		},
		Total: map[string]Ratio{
			"Shopper": {Ratio: 0.75, Tasks: map[string]Ratio{"Browse": {Ratio: 0.625}, "Buy": {Ratio: 0.125}}},
			"Browser": {Ratio: 0.25, Tasks: map[string]Ratio{"Index": {Ratio: 0.25}}},
		},
	}
}

func (f *fakeCtl) Workers() []WorkerInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.workers)
}

func (f *fakeCtl) IsMaster() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.master
}

func (f *fakeCtl) Logs() Logs {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logs
}

func (f *fakeCtl) Host() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.host
}

func (f *fakeCtl) lastStart() (StartRequest, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.starts) == 0 {
		return StartRequest{}, 0
	}
	return f.starts[len(f.starts)-1], len(f.starts)
}

// testAccounts has one account per role; each password is the name
// reversed.
func testAccounts(t testing.TB) *auth.Accounts {
	t.Helper()
	var lines []string
	for _, a := range [][2]string{{"vera", "viewer"}, {"otto", "operator"}, {"ada", "admin"}} {
		h, err := auth.HashPassword(reverse(a[0]))
		require.NoError(t, err)
		lines = append(lines, a[0]+":"+a[1]+":"+h)
	}
	acc, err := auth.ParseAccounts(strings.NewReader(strings.Join(lines, "\n")), "users")
	require.NoError(t, err)
	return acc
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func (f *fakeCtl) setState(s string) {
	f.mu.Lock()
	f.state = s
	f.mu.Unlock()
}
