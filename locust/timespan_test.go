package locust

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/runner"
)

func TestParseTimespan(t *testing.T) {
	good := map[string]time.Duration{
		"20":       20 * time.Second,
		"20s":      20 * time.Second,
		"3m":       3 * time.Minute,
		"2h":       2 * time.Hour,
		"1h20m":    80 * time.Minute,
		"3h30m10s": 3*time.Hour + 30*time.Minute + 10*time.Second,
		"1m30s":    90 * time.Second,
		" 45s ":    45 * time.Second,
		"1.5s":     1500 * time.Millisecond,
		"250ms":    250 * time.Millisecond,
		"0":        0,
	}
	for in, want := range good {
		got, err := ParseTimespan(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "abc", "10x", "-5s", "s", "1s2h", "1h1h", "--1", "1e3", "NaN", "3170000000", "900000h", "2700000h", "9223372036s"} {
		_, err := ParseTimespan(in)
		assert.Error(t, err, in)
	}
}

// TestTooLongSpansNameTheLargestOne: -t, LOCUST_RUN_TIME and the other
// span flags refuse a span that would overflow (it once printed back as a
// negative duration) with the largest accepted span named.
func TestTooLongSpansNameTheLargestOne(t *testing.T) {
	for _, in := range []string{"2700000h", "9223372036s", "9223372036", "8761h"} {
		for _, args := range [][]string{{"-t", in}, {"--stop-timeout", in}, {"--stages", in + ":1"}, {"--steps", "1/" + in}} {
			c := DefaultConfig()
			_, err := parseCommandLine(&c, args, env(nil))
			require.Error(t, err, "%v", args)
			assert.Contains(t, err.Error(), "longer than the largest accepted span, 8760h (365 days)", "%v", args)
		}
		c := DefaultConfig()
		_, err := parseCommandLine(&c, nil, env(map[string]string{"LOCUST_RUN_TIME": in}))
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), "8760h (365 days)", in)
	}
	c := DefaultConfig()
	_, err := parseCommandLine(&c, []string{"-t", "8760h"}, env(nil))
	require.NoError(t, err)
	assert.Equal(t, MaxTimespan, c.RunTime)
	c.RunTime = MaxTimespan + 1
	require.ErrorContains(t, c.Validate(), "at most 8760h (365 days)", "a Config built in code is held to the same maximum")
	c = DefaultConfig()
	c.Load.Stages = runner.Stages{{Duration: MaxTimespan, Users: 1}, {Duration: MaxTimespan, Users: 2}}
	require.ErrorContains(t, c.Validate(), "the stages last longer than the largest accepted span, 8760h (365 days)")
	c = DefaultConfig()
	c.Load.ArrivalStages = []runner.RateStage{{Duration: MaxTimespan, Rate: 1}, {Duration: time.Second, Rate: 1}}
	require.ErrorContains(t, c.Validate(), "the stages last longer than the largest accepted span, 8760h (365 days)")
}
