package locust

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
	for _, in := range []string{"", "abc", "10x", "-5s", "s", "1s2h", "1h1h", "--1", "1e3", "NaN", "3170000000", "900000h"} {
		_, err := ParseTimespan(in)
		assert.Error(t, err, in)
	}
}

func FuzzParseTimespan(f *testing.F) {
	for _, s := range []string{"20", "20s", "3m", "1h20m", "3h30m10s", "1.5s", "", "x", "-1s", "99999999999h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseTimespan(s)
		if err != nil {
			if d != 0 {
				t.Fatalf("error with non-zero span %v", d)
			}
			return
		}
		if d < 0 {
			t.Fatalf("negative span %v from %q", d, s)
		}
	})
}
