package timespan

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Max is the longest span accepted anywhere: 365 days. A load test is
// rarely meant to run longer; the bound keeps all arithmetic on spans (a
// start plus a run time, the sum of stages) far from overflowing.
const Max = 365 * 24 * time.Hour

// MaxText is Max as every error message names it.
const MaxText = "8760h (365 days)"

// Examples is the hint every error ends with.
const Examples = "want a span such as 20, 20s, 3m, 1h20m or 1.5s, at most " + MaxText

// Error is the error of Parse. Input is the text as given.
type Error struct {
	Input  string
	Reason Reason
}

// Reason says what was wrong with a span.
type Reason int

const (
	Empty    Reason = iota + 1 // nothing but spaces
	Invalid                    // not in the grammar
	Negative                   // a leading minus
	TooLong                    // longer than Max
)

func (e *Error) Error() string {
	q := quote(e.Input)
	switch e.Reason {
	case Empty:
		return "empty time span: " + Examples
	case Negative:
		return q + " is negative: " + Examples
	case TooLong:
		return q + " is longer than the largest accepted span, " + MaxText
	default:
		return q + " is not a time span: " + Examples
	}
}

// quote keeps an error short whatever the input's length.
func quote(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%q…", s[:40])
	}
	return fmt.Sprintf("%q", s)
}

// units in decreasing size; a part's unit must come after the previous one.
var units = []struct {
	name string
	d    time.Duration
}{
	{"h", time.Hour}, {"m", time.Minute}, {"s", time.Second},
	{"ms", time.Millisecond}, {"us", time.Microsecond}, {"µs", time.Microsecond}, // U+00B5
	{"μs", time.Microsecond}, // U+03BC
	{"ns", time.Nanosecond},
}

// rank orders the units; the three spellings of microseconds share one.
func rank(i int) int {
	switch {
	case i <= 4:
		return i
	case i <= 6:
		return 4
	default:
		return 5
	}
}

// Parse reads a time span (see the package comment). On error the span is
// zero and the error is an *Error.
func Parse(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	fail := func(r Reason) (time.Duration, error) { return 0, &Error{Input: s, Reason: r} }
	if in == "" {
		return fail(Empty)
	}
	if in[0] == '-' {
		if _, err := Parse(in[1:]); err == nil || err.(*Error).Reason == TooLong {
			return fail(Negative)
		}
		return fail(Invalid)
	}
	if allDigits(in) {
		d, long := number(in, "", time.Second)
		if long {
			return fail(TooLong)
		}
		return d, nil
	}
	var total time.Duration
	long := false
	last := -1
	for in != "" {
		// number: digits, optionally a fraction, at least one digit
		i := 0
		for i < len(in) && isDigit(in[i]) {
			i++
		}
		whole := in[:i]
		frac := ""
		if i < len(in) && in[i] == '.' {
			j := i + 1
			for j < len(in) && isDigit(in[j]) {
				j++
			}
			frac = in[i+1 : j]
			i = j
		}
		if whole == "" && frac == "" {
			return fail(Invalid)
		}
		in = in[i:]
		u := -1
		for k, c := range units {
			if strings.HasPrefix(in, c.name) && (u < 0 || len(c.name) > len(units[u].name)) {
				u = k
			}
		}
		if u < 0 || rank(u) <= last {
			return fail(Invalid)
		}
		last = rank(u)
		in = in[len(units[u].name):]
		d, l := number(whole, frac, units[u].d)
		long = long || l
		if !long {
			total += d // both at most Max: no overflow
			long = total > Max
		}
	}
	if long {
		return fail(TooLong)
	}
	return total, nil
}

// number is whole.frac units; long reports more than Max.
func number(whole, frac string, unit time.Duration) (d time.Duration, long bool) {
	whole = strings.TrimLeft(whole, "0")
	limit := uint64(Max / unit)
	var w uint64
	for i := 0; i < len(whole); i++ {
		w = w*10 + uint64(whole[i]-'0')
		if w > limit {
			return 0, true
		}
	}
	d = time.Duration(w) * unit
	// The fraction, to the nanosecond, read as time.ParseDuration reads it
	// (the same digits kept, the same float rounding), so that both agree
	// to the nanosecond on every span they both accept.
	var f uint64
	scale := 1.0
	for i := 0; i < len(frac); i++ {
		if f > (1<<63-1)/10 {
			break // further digits are below what a float64 keeps
		}
		y := f*10 + uint64(frac[i]-'0')
		if y > 1<<63 {
			break
		}
		f = y
		scale *= 10
	}
	if f > 0 {
		d += time.Duration(math.Floor(float64(f) * (float64(unit) / scale)))
	}
	return d, d > Max
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
