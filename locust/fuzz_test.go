package locust

import (
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golocust/golocust/internal/bounds"
	"github.com/golocust/golocust/internal/selection"
	"github.com/golocust/golocust/runner"
)

// The fuzz targets of this file feed the command line and the LOCUST_*
// variables with anything, and check more than "no panic": whatever
// parses and validates holds every span, rate and count finite,
// non-negative and within its documented range, and the runner can start
// its load model. The seed corpora run as tests; testdata/fuzz holds the
// inputs that once failed.

// checkAccepted fails t when c, accepted from input, is out of range or
// describes a run the runner cannot start.
func checkAccepted(t *testing.T, input string, c *Config) {
	t.Helper()
	fail := func(what string, v any) { t.Fatalf("accepted %q with %s %v", input, what, v) }
	if c.Users < 0 || c.Users > maxUsers {
		fail("users", c.Users)
	}
	if math.IsNaN(c.SpawnRate) || math.IsInf(c.SpawnRate, 0) || c.SpawnRate < 0 {
		fail("spawn rate", c.SpawnRate)
	}
	for name, d := range map[string]time.Duration{"run time": c.RunTime, "stop timeout": c.StopTimeout,
		"threshold delay": c.ThresholdDelay, "expect-workers-max-wait": c.Cluster.ExpectWorkersMaxWait} {
		if d < 0 || d > MaxTimespan {
			fail(name, d)
		}
	}
	// The host reads as the users' clients will request it, and as the
	// web form reads it (internal/selection).
	if h, err := selection.Host(c.Host); err != nil {
		fail("host", c.Host)
	} else if u, err := url.Parse(h); h != "" && (err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https")) {
		fail("host", c.Host)
	}
	l := &c.Load
	if l.Iterations < 0 || l.MaxUsers < 0 || l.MaxUsers > maxUsers || l.PreAllocate < 0 || l.PreAllocate > maxUsers {
		fail("load counts", *l)
	}
	var total time.Duration
	for _, st := range l.Stages {
		total += st.Duration
		if st.Duration < 0 || st.Users < 0 || st.Users > maxUsers || math.IsNaN(st.SpawnRate) || math.IsInf(st.SpawnRate, 0) || st.SpawnRate < 0 {
			fail("stage", st)
		}
	}
	if total > MaxTimespan || l.Stages.Duration() != total {
		fail("stages lasting", total)
	}
	total = 0
	for _, st := range l.ArrivalStages {
		total += st.Duration
		if st.Duration < 0 || math.IsNaN(st.Rate) || math.IsInf(st.Rate, 0) || st.Rate < 0 {
			fail("arrival stage", st)
		}
	}
	if total > MaxTimespan {
		fail("arrival stages lasting", total)
	}
	if s := l.Steps; s != nil && (s.Step <= 0 || s.Step > maxUsers || s.Interval <= 0 || s.Interval > MaxTimespan || s.Max < 0 || s.Max > maxUsers) {
		fail("steps", *s)
	}
	// The load model starts: a shape ticks with a user count in range at
	// its start, its end and in between; an arrival rate builds its gate.
	if sh := l.shape(); sh != nil {
		for _, at := range []time.Duration{0, time.Second, total / 2, MaxTimespan / 2, MaxTimespan} {
			tick, ok := sh.Tick(at, 0)
			if ok && (tick.Users < 0 || tick.Users > bounds.MaxUsers || bounds.SpawnRate(tick.SpawnRate) != nil) {
				t.Fatalf("accepted %q: the shape ticks %+v at %v", input, tick, at)
			}
		}
	}
	if l.arrival() {
		if _, err := runner.NewArrivalGate(l.arrivalConfig()); err != nil {
			t.Fatalf("accepted %q: the arrival rate cannot start: %v", input, err)
		}
		if err := l.clusterLoad().Validate(); err != nil {
			t.Fatalf("accepted %q: the master cannot split the arrival rate: %v", input, err)
		}
	}
}

func FuzzParseCommandLine(f *testing.F) {
	for _, s := range []string{
		"-u 10 -r 2 -t 30s --headless", "--users=abc", "Shopper -T a,b --csv out/x", "-r NaN -t -1s",
		"-t 2700000h", "-t 9223372036s", "--stages 30s:10,1m:50@5,30s:0", "--steps 10/30s:100@5",
		"--arrival-rate 200 --arrival-stages 30s:100,1m:500 --max-users 50 --pre-allocate 10", "-i 1000 -u 5",
		"--arrival-rate 1e-300", "--stages 8760h:1,1s:2", "--steps 10000000/1ns", "--threshold p95<300ms --threshold-delay 10s",
		"--stop-timeout 8760h --expect-workers-max-wait 1.5s",
		"-H http://127.0.0.1:8080/", "-H HTTP://127.0.0.1:9", "-H 127.0.0.1:8080", "-H http://127.0.0.1:9?a=1", "-H http://127.0.0.1:0",
		"Shopper,Admin -T list,item -E slow", "Shoper --tags= --exclude-tags=,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c := DefaultConfig()
		if _, err := parseCommandLine(&c, strings.Fields(line), env(nil)); err != nil {
			return
		}
		if c.Validate() != nil {
			return
		}
		checkAccepted(t, line, &c)
	})
}

// FuzzEnvironment sets one LOCUST_* variable of a flag (picked by index)
// to any value.
func FuzzEnvironment(f *testing.F) {
	c := DefaultConfig()
	defs, _ := parseCommandLine(&c, nil, env(nil))
	names := make([]string, 0, len(defs))
	for _, d := range defs {
		names = append(names, "LOCUST_"+strings.ToUpper(strings.ReplaceAll(d.long, "-", "_")))
	}
	for i, n := range names {
		for _, v := range []string{"", "1", "-1", "2700000h", "NaN", "30s:10@5", "10/30s:100",
			" HTTP://127.0.0.1:8080/ ", "http://127.0.0.1:9#top", "list, item"} {
			_ = n
			f.Add(uint16(i), v)
		}
	}
	f.Fuzz(func(t *testing.T, i uint16, value string) {
		name := names[int(i)%len(names)]
		c := DefaultConfig()
		if _, err := parseCommandLine(&c, nil, env(map[string]string{name: value})); err != nil {
			return
		}
		if c.Validate() != nil {
			return
		}
		checkAccepted(t, name+"="+value, &c)
	})
}
