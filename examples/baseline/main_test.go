package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/golocust/golocust/locust"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// shop is a target on 127.0.0.1 whose latency the test sets per endpoint:
// each answer sleeps that long.
type shop struct {
	*httptest.Server
	mu    sync.Mutex
	delay map[string]time.Duration
}

func startShop(t *testing.T, delay time.Duration) *shop {
	s := &shop{delay: map[string]time.Duration{"/cart": delay, "/product": delay, "/checkout": delay}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		d, ok := s.delay[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		time.Sleep(d)
		fmt.Fprintln(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *shop) setDelay(path string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay[path] = d
}

// Sample counts, derived so that the verdicts have a wide margin on a busy
// 2-core machine. Each of the users loops without waiting, so an endpoint
// gets about runTime × users / (3 × delay) = 3 s × 8 / 300 ms = 80
// requests a run (fewer when the machine is busy).
//
// /checkout: 120 ms instead of 100 ms, 20 ms more, far beyond the target's
// own jitter, puts nearly all of its requests above the pooled median: the
// p50 test's z is then about √(2·80) ≈ 12.6, against a critical value of
// 2.94 (99 % confidence shared by three percentiles); it stays above 2.94
// down to about 5 requests a run.
//
// The others move only by the machine's noise. At the median it is
// absolute, a few ms at worst here (scheduling delays), under the 5 %
// (5 ms) a change must reach to count. In the tails it is not: another
// process can stall this one for 100 ms and more, which moves p95 and p99
// of every endpoint alike, and a comparison of tails measured minutes
// apart on a shared machine cannot tell that from a slower target. With
// 80 requests a run, 4 are above p95 and 1 above p99: fewer than the 5 per
// cell the test needs, so they are shown but not tested, and the verdict
// rests on the median. (With thousands of requests on a quiet machine the
// tails are tested too; see package compare.)
const (
	delay   = 100 * time.Millisecond
	slower  = delay * 12 / 10
	users   = 8
	runTime = 3 * time.Second
)

// The recorded baseline is on main; the branch made /checkout 20 % slower;
// the comparison flags /checkout, and only /checkout, three times out of
// three.
func TestABranchThatMadeCheckoutSlowerFailsAgainstTheBaseline(t *testing.T) {
	for i := 1; i <= 3; i++ {
		t.Run(fmt.Sprintf("run %d", i), func(t *testing.T) {
			target := startShop(t, delay)
			mainJSON := filepath.Join(t.TempDir(), "main.json")

			// On main: record the baseline.
			base := locust.RunHeadless(t, locust.Config{Users: users, RunTime: runTime, StopTimeout: 10 * time.Second,
				Host: target.URL, JSONFile: mainJSON}, shopper)
			require.NotNil(t, base)
			require.Zero(t, base.Stats.Total.NumFailures)

			// On the branch: /checkout takes 20 % longer. The test is
			// expected to fail; ft collects what RunHeadless reports.
			target.setDelay("/checkout", slower)
			ft := &failures{TB: t}
			res := locust.RunHeadless(ft, locust.Config{Users: users, RunTime: runTime, StopTimeout: 10 * time.Second,
				Host: target.URL, Baseline: locust.BaselineConfig{File: mainJSON}}, shopper)
			require.NotNil(t, res)
			require.NotNil(t, res.Baseline)

			checkout := res.Baseline.Row("POST /checkout")
			require.NotNil(t, checkout)
			assert.True(t, checkout.Slower, "the comparison flags /checkout")
			assert.Greater(t, checkout.Percentiles[0].Change, 0.05, "its median is slower")
			for _, name := range []string{"GET /cart", "GET /product"} {
				row := res.Baseline.Row(name)
				require.NotNil(t, row, name)
				assert.False(t, row.Regressed(), "%s is not flagged: %s", name, row.Verdict())
			}
			require.Len(t, ft.errors, 1, "RunHeadless fails the test once, with the table")
			assert.Contains(t, ft.errors[0], "slower than the baseline")
			assert.Contains(t, ft.errors[0], "1 endpoint(s) regressed: POST /checkout (slower)")
			t.Logf("what the failing test prints:\n%s", ft.errors[0])
			for _, row := range res.Baseline.Rows {
				t.Logf("%-15s p50 %+.1f%% p95 %+.1f%% p99 %+.1f%%  %s", row.Label(), 100*row.Percentiles[0].Change,
					100*row.Percentiles[1].Change, 100*row.Percentiles[2].Change, row.Verdict())
			}
		})
	}
}

// failures is a testing.TB that keeps Errorf's messages instead of
// failing, so the test can check that RunHeadless fails the branch.
type failures struct {
	testing.TB
	errors []string
}

func (f *failures) Errorf(format string, args ...any) {
	f.errors = append(f.errors, strings.TrimSpace(fmt.Sprintf(format, args...)))
}
