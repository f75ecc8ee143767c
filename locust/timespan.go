package locust

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTimespan reads a time span the way Locust's -t/--run-time does:
// a bare number of seconds ("20") or a sequence of whole numbers with the
// units h, m and s in that order ("20s", "3m", "1h20m", "3h30m10s").
// Go duration strings ("1.5s", "250ms") are accepted too, since Go users
// write them by habit. Negative spans are refused.
func ParseTimespan(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("empty time span: want a span such as 20s, 3m or 1h20m")
	}
	if n, err := strconv.ParseUint(in, 10, 32); err == nil {
		if d := time.Duration(n) * time.Second; d <= maxSpan {
			return d, nil
		}
		return 0, fmt.Errorf("%q is longer than 100 years: want a span such as 20s, 3m or 1h20m", s)
	}
	if d, ok := parseLocustSpan(in); ok {
		return d, nil
	}
	if !goStyleSpan(in) {
		return 0, fmt.Errorf("%q is not a time span: want a span such as 20s, 3m or 1h20m", s)
	}
	d, err := time.ParseDuration(in)
	if err != nil || d > maxSpan {
		return 0, fmt.Errorf("%q is not a time span: want a span such as 20s, 3m or 1h20m", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative: want a span such as 20s, 3m or 1h20m", s)
	}
	return d, nil
}

// maxSpan bounds every span so that arithmetic on it never overflows.
const maxSpan = 100 * 365 * 24 * time.Hour

// parseLocustSpan accepts h, m and s parts, each at most once and in that
// order, with whole numbers only, as Locust's timespan regular expression.
func parseLocustSpan(s string) (time.Duration, bool) {
	units := []struct {
		suffix byte
		unit   time.Duration
	}{{'h', time.Hour}, {'m', time.Minute}, {'s', time.Second}}
	var total time.Duration
	next := 0
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) || i > 9 {
			return 0, false
		}
		n, err := strconv.Atoi(s[:i])
		if err != nil {
			return 0, false
		}
		found := false
		for next < len(units) {
			u := units[next]
			next++
			if s[i] == u.suffix {
				total += time.Duration(n) * u.unit
				found = true
				break
			}
		}
		if !found || total > maxSpan {
			return 0, false
		}
		s = s[i+1:]
	}
	return total, true
}

// goStyleSpan tells whether s uses what only Go durations have (fractions
// or sub-second units), so that Locust's stricter order rules still apply
// to plain "1h20m" forms.
func goStyleSpan(s string) bool {
	return strings.ContainsAny(s, ".µ") || strings.Contains(s, "ms") ||
		strings.Contains(s, "us") || strings.Contains(s, "ns")
}
