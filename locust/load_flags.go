package locust

// This file holds the load models' flags and their parsers (--stages,
// --steps, --arrival-rate, --arrival-stages, --iterations, ...): one parser
// per input, used by the command line, the environment and config files.

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/golocust/golocust/internal/bounds"
	"github.com/golocust/golocust/internal/timespan"
	"github.com/golocust/golocust/runner"
)

func loadFlags(c *Config) []flagDef {
	l := &c.Load
	return []flagDef{
		{long: "stages", group: "Load models", usage: `run stages of users, e.g. "30s:10,1m:50@5,30s:0" (duration:users[@spawn rate]); the run ends after the last`, value: stagesValue(&l.Stages)},
		{long: "steps", group: "Load models", usage: `add users in steps, e.g. "10/30s:100@5" (10 users every 30s up to 100, at 5 users/s)`, value: stepsValue(&l.Steps)},
		{long: "arrival-rate", group: "Load models", usage: "open model: start this many iterations per second (starting rate with --arrival-stages)", value: &floatValue{p: &l.ArrivalRate, flag: "--arrival-rate", example: "200"}},
		{long: "arrival-stages", group: "Load models", usage: `ramp the arrival rate, e.g. "30s:100,1m:500" (duration:iterations per second); the run ends after the last`, value: rateStagesValue(&l.ArrivalStages)},
		{long: "max-users", group: "Load models", usage: "arrival rate: most users that carry the iterations (iterations due while all are busy are dropped)", value: &intValue{p: &l.MaxUsers, min: 0, max: maxUsers, want: "a whole number of users"}},
		{long: "pre-allocate", group: "Load models", usage: "arrival rate: users started with the run (grown on demand up to --max-users)", value: &intValue{p: &l.PreAllocate, min: 0, max: maxUsers, want: "a whole number of users"}},
		{long: "iterations", short: "i", group: "Load models", usage: "stop after this many task iterations in total", value: &int64Value{p: &l.Iterations}},
	}
}

// eachStage reads the comma-separated stages of s, each
// "duration:rest": it checks each duration and their total, and hands the
// rest to read. Errors name the stage and end with example.
func eachStage(s, example string, read func(dur time.Duration, rest string) error) error {
	var total time.Duration
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		d, rest, ok := strings.Cut(part, ":")
		if !ok {
			return fmt.Errorf("stage %d %q: %s", i+1, part, example)
		}
		dur, err := parseSpan(strings.TrimSpace(d))
		if err != nil {
			return fmt.Errorf("stage %d %q: bad duration: %v; %s", i+1, part, err, example)
		}
		if total += dur; total > MaxTimespan {
			return fmt.Errorf("stage %d %q: the stages last longer than the largest accepted span, %s", i+1, part, timespan.MaxText)
		}
		if err := read(dur, rest); err != nil {
			return fmt.Errorf("stage %d %q: %v: %s", i+1, part, err, example)
		}
	}
	return nil
}

// parseStages parses --stages: comma-separated duration:users[@rate].
func parseStages(s string) (runner.Stages, error) {
	const example = `want duration:users[@spawn rate] per stage, comma-separated, e.g. "30s:10,1m:50@5,30s:0"`
	var out runner.Stages
	err := eachStage(s, example, func(dur time.Duration, rest string) error {
		users, rate, hasRate := strings.Cut(rest, "@")
		u, err := strconv.Atoi(strings.TrimSpace(users))
		if err != nil || u < 0 || u > maxUsers {
			return fmt.Errorf("bad user count %q", users)
		}
		st := runner.Stage{Duration: dur, Users: u}
		if hasRate {
			r, err := parseSpawnRate(rate)
			if err != nil {
				return fmt.Errorf("bad spawn rate %q (want a number %s)", rate, bounds.SpawnRateRange)
			}
			st.SpawnRate = r
		}
		out = append(out, st)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseRateStages parses --arrival-stages: comma-separated duration:rate.
func parseRateStages(s string) ([]runner.RateStage, error) {
	const example = `want duration:iterations per second per stage, comma-separated, e.g. "30s:100,1m:500"`
	var out []runner.RateStage
	err := eachStage(s, example, func(dur time.Duration, rate string) error {
		r, err := strconv.ParseFloat(strings.TrimSpace(rate), 64)
		if err != nil || math.IsNaN(r) || math.IsInf(r, 0) || r < 0 || r > 1e9 {
			return fmt.Errorf("bad rate %q", rate)
		}
		out = append(out, runner.RateStage{Duration: dur, Rate: r})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseSteps parses --steps: users/interval[:max][@rate].
func parseSteps(s string) (*runner.Steps, error) {
	const example = `want users/interval[:max users][@spawn rate], e.g. "10/30s:100@5"`
	s = strings.TrimSpace(s)
	s, rate, hasRate := strings.Cut(s, "@")
	s, maxU, hasMax := strings.Cut(s, ":")
	step, every, ok := strings.Cut(s, "/")
	if !ok {
		return nil, fmt.Errorf("%q: %s", s, example)
	}
	n, err := strconv.Atoi(strings.TrimSpace(step))
	if err != nil || n <= 0 || n > maxUsers {
		return nil, fmt.Errorf("bad step %q: %s", step, example)
	}
	d, err := parseSpan(strings.TrimSpace(every))
	if err != nil {
		return nil, fmt.Errorf("bad interval: %v; %s", err, example)
	}
	if d <= 0 {
		return nil, fmt.Errorf("bad interval %q: want more than 0; %s", every, example)
	}
	out := &runner.Steps{Step: n, Interval: d}
	if hasMax {
		m, err := strconv.Atoi(strings.TrimSpace(maxU))
		if err != nil || m <= 0 || m > maxUsers {
			return nil, fmt.Errorf("bad maximum %q: %s", maxU, example)
		}
		out.Max = m
	}
	if hasRate {
		r, err := parseSpawnRate(rate)
		if err != nil {
			return nil, fmt.Errorf("bad spawn rate %q (want a number %s): %s", rate, bounds.SpawnRateRange, example)
		}
		out.SpawnRate = r
	}
	return out, nil
}

// parseSpan reads the duration of a stage or step.
func parseSpan(s string) (time.Duration, error) { return ParseTimespan(s) }

func parsePositive(s string) (float64, error) {
	r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(r) || math.IsInf(r, 0) || r <= 0 || r > bounds.MaxArrivalRate {
		return 0, errors.New("want a number > 0")
	}
	return r, nil
}

func parseSpawnRate(s string) (float64, error) {
	r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, err
	}
	return r, bounds.SpawnRate(r)
}

// parsedValue is a flag whose text parse reads and show writes back: the
// load models' stages, arrival stages and steps.
type parsedValue[T any] struct {
	p     *T
	parse func(string) (T, error)
	show  func(T) string
}

func (v *parsedValue[T]) String() string {
	if v.p == nil {
		return ""
	}
	return v.show(*v.p)
}

func (v *parsedValue[T]) Set(s string) error {
	x, err := v.parse(s)
	if err != nil {
		return err
	}
	*v.p = x
	return nil
}

func stagesValue(p *runner.Stages) *parsedValue[runner.Stages] {
	return &parsedValue[runner.Stages]{p: p, parse: parseStages, show: func(stages runner.Stages) string {
		parts := make([]string, 0, len(stages))
		for _, st := range stages {
			p := fmt.Sprintf("%s:%d", st.Duration, st.Users)
			if st.SpawnRate > 0 {
				p += "@" + strconv.FormatFloat(st.SpawnRate, 'g', -1, 64)
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, ",")
	}}
}

func rateStagesValue(p *[]runner.RateStage) *parsedValue[[]runner.RateStage] {
	return &parsedValue[[]runner.RateStage]{p: p, parse: parseRateStages, show: func(stages []runner.RateStage) string {
		parts := make([]string, 0, len(stages))
		for _, st := range stages {
			parts = append(parts, fmt.Sprintf("%s:%s", st.Duration, strconv.FormatFloat(st.Rate, 'g', -1, 64)))
		}
		return strings.Join(parts, ",")
	}}
}

func stepsValue(p **runner.Steps) *parsedValue[*runner.Steps] {
	return &parsedValue[*runner.Steps]{p: p, parse: parseSteps, show: func(s *runner.Steps) string {
		if s == nil {
			return ""
		}
		out := fmt.Sprintf("%d/%s", s.Step, s.Interval)
		if s.Max > 0 {
			out += ":" + strconv.Itoa(s.Max)
		}
		if s.SpawnRate > 0 {
			out += "@" + strconv.FormatFloat(s.SpawnRate, 'g', -1, 64)
		}
		return out
	}}
}

// floatValue is a number > 0 or, with percent, a fraction >= 0 that may
// be written as a percentage ("99%" or "0.99").
type floatValue struct {
	p             *float64
	flag, example string
	percent       bool
}

func (v *floatValue) String() string {
	if v.p == nil || *v.p == 0 {
		return ""
	}
	if v.percent {
		return strconv.FormatFloat(*v.p*100, 'g', -1, 64) + "%"
	}
	return strconv.FormatFloat(*v.p, 'g', -1, 64)
}

func (v *floatValue) Set(s string) error {
	if !v.percent {
		f, err := parsePositive(s)
		if err != nil {
			return fmt.Errorf("want a number > 0, e.g. %s %s", v.flag, v.example)
		}
		*v.p = f
		return nil
	}
	t := strings.TrimSpace(s)
	scale := 1.0
	if rest, ok := strings.CutSuffix(t, "%"); ok {
		t, scale = strings.TrimSpace(rest), 100
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return fmt.Errorf("want a percentage or a fraction, e.g. %s %s", v.flag, v.example)
	}
	*v.p = f / scale
	return nil
}

type int64Value struct{ p *int64 }

func (v *int64Value) String() string {
	if v.p == nil || *v.p == 0 {
		return ""
	}
	return strconv.FormatInt(*v.p, 10)
}

func (v *int64Value) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return errors.New("want a whole number of iterations > 0, e.g. -i 1000")
	}
	*v.p = n
	return nil
}
