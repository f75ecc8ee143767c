package webui

import (
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits on POST /swarm values. Larger values are refused as absurd.
const (
	MaxUsers     = 10_000_000
	MaxSpawnRate = 1_000_000.0
	MaxRunTime   = 365 * 24 * time.Hour
)

const runTimeHelp = "Valid run_time formats are : 20, 20s, 3m, 2h, 1h20m, 3h30m10s, etc."

// parseSwarm validates the form of POST /swarm. edit is true when a test is
// running: then only user_count and spawn_rate are read.
func parseSwarm(form url.Values, classes []string, edit bool) (StartRequest, *FieldError) {
	var req StartRequest
	users, ferr := parseUsers(form.Get("user_count"))
	if ferr != nil {
		return req, ferr
	}
	rate, ferr := parseSpawnRate(form.Get("spawn_rate"))
	if ferr != nil {
		return req, ferr
	}
	req.Users, req.SpawnRate = users, rate
	if edit {
		return req, nil
	}
	if req.Host, ferr = parseHost(form.Get("host")); ferr != nil {
		return req, ferr
	}
	if req.RunTime, ferr = parseRunTime(form.Get("run_time")); ferr != nil {
		return req, ferr
	}
	for _, c := range form["user_classes"] {
		c = strings.TrimSpace(c)
		if c == "" || slices.Contains(req.Classes, c) {
			continue
		}
		if !slices.Contains(classes, c) {
			return req, &FieldError{Field: "user_classes", Message: "unknown user class " + strconv.Quote(c) + "; valid classes: " + strings.Join(classes, ", ")}
		}
		req.Classes = append(req.Classes, c)
	}
	return req, nil
}

// parseNumber reads a finite float; field names the form field.
func parseNumber(field, s string) (float64, *FieldError) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, &FieldError{Field: field, Message: "is required"}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(v, 0) {
		return 0, &FieldError{Field: field, Message: "must be a number, got " + strconv.Quote(truncate(s, 40))}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, &FieldError{Field: field, Message: "must be a finite number, got " + strconv.Quote(truncate(s, 40))}
	}
	if v < 0 {
		return 0, &FieldError{Field: field, Message: "must not be negative"}
	}
	return v, nil
}

func parseUsers(s string) (int, *FieldError) {
	v, ferr := parseNumber("user_count", s)
	if ferr != nil {
		return 0, ferr
	}
	if v != math.Trunc(v) {
		return 0, &FieldError{Field: "user_count", Message: "must be a whole number of users"}
	}
	if v > MaxUsers {
		return 0, &FieldError{Field: "user_count", Message: "must be at most " + strconv.Itoa(MaxUsers)}
	}
	return int(v), nil
}

func parseSpawnRate(s string) (float64, *FieldError) {
	v, ferr := parseNumber("spawn_rate", s)
	if ferr != nil {
		return 0, ferr
	}
	if v == 0 {
		return 0, &FieldError{Field: "spawn_rate", Message: "must be greater than 0 users per second"}
	}
	if v > MaxSpawnRate {
		return 0, &FieldError{Field: "spawn_rate", Message: "must be at most " + strconv.FormatFloat(MaxSpawnRate, 'f', -1, 64) + " users per second"}
	}
	return v, nil
}

func parseHost(s string) (string, *FieldError) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	bad := &FieldError{Field: "host", Message: "must be a URL such as http://127.0.0.1:8080"}
	if len(s) > 2048 || strings.ContainsAny(s, "<>\"' \t\r\n") {
		return "", bad
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", bad
	}
	return s, nil
}

var timespanRE = regexp.MustCompile(`^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$`)

// parseTimespan reads Locust's time spans: "20" (seconds), "20s", "3m",
// "2h", "1h20m", "3h30m10s".
func parseTimespan(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return time.Duration(n) * time.Second, true
	}
	m := timespanRE.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	var d time.Duration
	for i, unit := range []time.Duration{time.Hour, time.Minute, time.Second} {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.ParseUint(m[i+1], 10, 20)
		if err != nil {
			return 0, false
		}
		d += time.Duration(n) * unit
	}
	return d, true
}

func parseRunTime(s string) (time.Duration, *FieldError) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	d, ok := parseTimespan(s)
	if !ok {
		return 0, &FieldError{Field: "run_time", Message: runTimeHelp}
	}
	if d > MaxRunTime {
		return 0, &FieldError{Field: "run_time", Message: "must be at most 365 days (8760h)"}
	}
	return d, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
