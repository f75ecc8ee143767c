package main

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/golocust/golocust/locust"
	"github.com/golocust/golocust/user"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// weights are the chain's transitions, as the package comment lists them.
var weights = map[string]map[string]int{
	"method1": {"method2": 1},
	"method2": {"method3": 2, "method1": 1},
	"method3": {"method4": 3, "method2": 1, "method1": 1},
	"method4": {"method5": 1, "method3": 1},
	"method5": {"method6": 4, "method4": 1},
	"method6": {"method1": 2, "method5": 1},
}

// Four users walk the chain for exactly 6000 iterations: the site sees
// every user start at method1, only declared transitions, each taken as
// often as its weight says (within 5 binomial standard deviations), and
// the same requests the stats counted.
func TestUsersWalkTheChainByItsWeights(t *testing.T) {
	s := newSite()
	host, stop, err := s.start()
	require.NoError(t, err)
	defer stop()
	const iterations = 6000
	res := locust.RunHeadless(t, locust.Config{Users: 4, Load: locust.LoadConfig{Iterations: iterations}},
		class(host, user.Constant(0)))
	require.NotNil(t, res.Stats)
	assert.Zero(t, res.Stats.Total.NumFailures, "%v", res.Stats.Errors)
	assert.Equal(t, int64(iterations), res.Stats.Total.NumRequests)

	walks := s.walks()
	require.Len(t, walks, 4)
	seen := map[string]map[string]int{}
	visits := map[string]int64{}
	total := 0
	for u, path := range walks {
		require.NotEmpty(t, path)
		assert.Equal(t, "method1", path[0], "user %s starts at the first state", u)
		total += len(path)
		for i, p := range path {
			visits[p]++
			if i == 0 {
				continue
			}
			from := path[i-1]
			if seen[from] == nil {
				seen[from] = map[string]int{}
			}
			seen[from][p]++
		}
	}
	assert.Equal(t, iterations, total)
	for _, e := range res.Stats.Entries {
		assert.Equal(t, visits[e.Name[1:]], e.NumRequests, "stats and site agree on %s", e.Name)
	}

	for from, out := range seen {
		want := weights[from]
		require.NotNil(t, want, "unknown state %s", from)
		n, sum := 0, 0
		for _, c := range out {
			n += c
		}
		for _, w := range want {
			sum += w
		}
		for to, c := range out {
			w, ok := want[to]
			require.True(t, ok, "undeclared transition %s -> %s", from, to)
			p := float64(w) / float64(sum)
			sigma := math.Sqrt(float64(n) * p * (1 - p))
			assert.InDelta(t, p*float64(n), float64(c), 5*sigma+1, "%s -> %s: %d of %d, want p=%.2f", from, to, c, n, p)
		}
	}
}

func TestHostGiven(t *testing.T) {
	t.Setenv("LOCUST_HOST", "")
	assert.True(t, hostGiven([]string{"-H", "http://127.0.0.1:1"}))
	assert.False(t, hostGiven([]string{"-u", "3", "--headless"}))
}
