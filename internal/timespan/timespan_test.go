package timespan

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAcceptsLocustAndGoForms(t *testing.T) {
	good := map[string]time.Duration{
		"20":                               20 * time.Second,
		"0":                                0,
		"0s":                               0,
		"20s":                              20 * time.Second,
		"3m":                               3 * time.Minute,
		"2h":                               2 * time.Hour,
		"1h20m":                            80 * time.Minute,
		"3h30m10s":                         3*time.Hour + 30*time.Minute + 10*time.Second,
		"1m30s":                            90 * time.Second,
		" 45s ":                            45 * time.Second,
		"1.5s":                             1500 * time.Millisecond,
		".5s":                              500 * time.Millisecond,
		"1.5h":                             90 * time.Minute,
		"250ms":                            250 * time.Millisecond,
		"1s500ms":                          1500 * time.Millisecond,
		"3us":                              3 * time.Microsecond,
		"3µs":                              3 * time.Microsecond,
		"3μs":                              3 * time.Microsecond,
		"7ns":                              7,
		"1h0m0.000000001s":                 time.Hour + 1,
		"8760h":                            Max,
		"31536000":                         Max,
		"525600m":                          Max,
		"8759h60m":                         Max,
		"0000000000000000000000000000020s": 20 * time.Second,
	}
	for in, want := range good {
		got, err := Parse(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
}

func TestParseRefusesWithAReasonThatNamesTheMaximum(t *testing.T) {
	cases := map[string]Reason{
		"":                            Empty,
		"  ":                          Empty,
		"abc":                         Invalid,
		"10x":                         Invalid,
		"1d":                          Invalid,
		"s":                           Invalid,
		".s":                          Invalid,
		"1.5":                         Invalid,
		"1s2h":                        Invalid,
		"1h1h":                        Invalid,
		"1m30":                        Invalid,
		"20 s":                        Invalid,
		"1h 20m":                      Invalid,
		"+5s":                         Invalid,
		"--1":                         Invalid,
		"1e3":                         Invalid,
		"NaN":                         Invalid,
		"Inf":                         Invalid,
		"1us1µs":                      Invalid,
		"99999999999999999999x":       Invalid,
		"-5s":                         Negative,
		"-5":                          Negative,
		"-2700000h":                   Negative,
		"2700000h":                    TooLong,
		"9223372036s":                 TooLong,
		"9223372036":                  TooLong,
		"3170000000":                  TooLong,
		"8760h1ns":                    TooLong,
		"8761h":                       TooLong,
		"31536001":                    TooLong,
		"99999999999999999999999999h": TooLong,
		"8760.000000001h":             TooLong,
		"5000h5000h":                  Invalid,
		"5000h999999m":                TooLong,
	}
	for in, reason := range cases {
		d, err := Parse(in)
		var e *Error
		require.True(t, errors.As(err, &e), "%q: %v", in, err)
		assert.Equal(t, reason, e.Reason, "%q: %v", in, err)
		assert.Zero(t, d, in)
		assert.Contains(t, err.Error(), MaxText, in)
	}
	_, err := Parse("2700000h")
	assert.EqualError(t, err, `"2700000h" is longer than the largest accepted span, 8760h (365 days)`)
	_, err = Parse(strings.Repeat("9", 1000) + "s")
	assert.Less(t, len(err.Error()), 120, "a long input is cut in the message")
}

func TestEveryDurationPrintsBackToItself(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 999, time.Microsecond + 1, time.Millisecond + 3, 1500 * time.Millisecond,
		time.Hour + 1, 3*time.Hour + 30*time.Minute + 10*time.Second + 7, Max - 1, Max} {
		got, err := Parse(d.String())
		require.NoError(t, err, d.String())
		assert.Equal(t, d, got, d.String())
	}
}

// FuzzParse: whatever the input, an accepted span is within [0, Max],
// prints back to itself, and agrees with time.ParseDuration wherever that
// accepts the same text; a refused one is zero with an *Error that names
// the maximum.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"20", "20s", "3m", "1h20m", "3h30m10s", "1.5s", "250ms", "3µs", "", "x", "-1s",
		"2700000h", "9223372036s", "9223372036", "99999999999h", "8760h", "8760h1ns", "1s500ms", ".5h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || d != 0 || !strings.Contains(err.Error(), MaxText) {
				t.Fatalf("Parse(%q) = %v, %v: want 0 and an *Error naming the maximum", s, d, err)
			}
			return
		}
		if d < 0 || d > Max {
			t.Fatalf("Parse(%q) = %v: outside [0, %v]", s, d, Max)
		}
		if back, err := Parse(d.String()); err != nil || back != d {
			t.Fatalf("Parse(%q) = %v, which prints as %q and parses back to %v, %v", s, d, d.String(), back, err)
		}
		if gd, gerr := time.ParseDuration(strings.TrimSpace(s)); gerr == nil && gd != d && !allDigits(strings.TrimSpace(s)) {
			t.Fatalf("Parse(%q) = %v but time.ParseDuration gives %v", s, d, gd)
		}
	})
}
