package webui

import (
	"maps"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golocust/golocust/internal/bounds"
	"github.com/golocust/golocust/internal/selection"
	"github.com/golocust/golocust/internal/timespan"
)

// Limits on POST /swarm values. Larger values are refused as absurd.
const (
	MaxUsers     = 10_000_000
	MaxSpawnRate = bounds.MaxSpawnRate
	MaxRunTime   = timespan.Max // 8760h (365 days), the one maximum of every span
)

// parseSwarm validates the form of POST /swarm. edit is true when a test is
// running: then only user_count and spawn_rate are read. shapes are the
// shapes shape_class may name (nil: none offered); with one chosen,
// user_count and spawn_rate may be left out (the shape sets them).
func parseSwarm(form url.Values, classes, shapes []string, edit bool) (StartRequest, *FieldError) {
	var req StartRequest
	var ferr *FieldError
	if !edit {
		if req.Shape, ferr = parseShape(form, shapes); ferr != nil {
			return req, ferr
		}
	}
	users, rate := 0, 1.0
	if req.Shape == "" || strings.TrimSpace(form.Get("user_count")) != "" {
		if users, ferr = parseUsers(form.Get("user_count")); ferr != nil {
			return req, ferr
		}
	}
	if req.Shape == "" || strings.TrimSpace(form.Get("spawn_rate")) != "" {
		if rate, ferr = parseSpawnRate(form.Get("spawn_rate")); ferr != nil {
			return req, ferr
		}
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
	if names, err := selection.Classes(classes, form["user_classes"]); err != nil {
		return req, &FieldError{Field: "user_classes", Message: err.Error()}
	} else if len(names) > 0 {
		req.Classes = names
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
	if bounds.SpawnRate(v) != nil {
		return 0, &FieldError{Field: "spawn_rate", Message: "must be a number " + bounds.SpawnRateRange}
	}
	return v, nil
}

// parseHost reads the host field as -H/--host is read.
func parseHost(s string) (string, *FieldError) {
	h, err := selection.Host(s)
	if err != nil {
		return "", &FieldError{Field: "host", Message: err.Error()}
	}
	return h, nil
}

// formatTimespan writes d as the run-time field reads it: "1h20m",
// "30s"; fractions of a second are dropped.
func formatTimespan(d time.Duration) string {
	if d < time.Second {
		return "1s" // the field takes whole seconds
	}
	d = d.Truncate(time.Second)
	var b strings.Builder
	h, m, sec := int64(d/time.Hour), int64(d%time.Hour/time.Minute), int64(d%time.Minute/time.Second)
	if h > 0 {
		b.WriteString(strconv.FormatInt(h, 10) + "h")
	}
	if m > 0 {
		b.WriteString(strconv.FormatInt(m, 10) + "m")
	}
	if sec > 0 {
		b.WriteString(strconv.FormatInt(sec, 10) + "s")
	}
	return b.String()
}

func parseRunTime(s string) (time.Duration, *FieldError) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	d, err := timespan.Parse(s)
	if err != nil {
		return 0, &FieldError{Field: "run_time", Message: err.Error()}
	}
	return d, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// formParams picks the declared custom parameters out of the form; a
// field may use the name or, as Locust's argparse dest, the name with
// underscores.
func formParams(form url.Values, params []CustomParam) map[string]string {
	var out map[string]string
	for _, p := range params {
		v, ok := form[p.Name]
		if !ok {
			v, ok = form[strings.ReplaceAll(p.Name, "-", "_")]
		}
		if !ok || len(v) == 0 {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[p.Name] = strings.TrimSpace(v[0])
	}
	return out
}

// customParams lists the parameters for /ui/config (never nil).
func customParams(f func() []CustomParam) []CustomParam {
	if f == nil {
		return []CustomParam{}
	}
	if ps := f(); ps != nil {
		return ps
	}
	return []CustomParam{}
}

// maskSecrets returns form with the values of secret parameters replaced,
// for the audit log (form itself is left alone).
func maskSecrets(form url.Values, params []CustomParam) url.Values {
	var out url.Values
	for _, p := range params {
		if !p.Secret {
			continue
		}
		for _, name := range []string{p.Name, strings.ReplaceAll(p.Name, "-", "_")} {
			if _, ok := form[name]; !ok {
				continue
			}
			if out == nil {
				out = maps.Clone(form)
			}
			out[name] = []string{"(secret)"}
		}
	}
	if out == nil {
		return form
	}
	return out
}
