package locust

// This file holds the baseline comparison's flags (--baseline, --compare,
// --baseline-confidence, --baseline-min-change) and --compare, the command
// that compares two saved runs without generating load.

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/golocust/golocust/compare"
	"github.com/golocust/golocust/threshold"
)

// BaselineConfig compares the run with an earlier one (package compare).
type BaselineConfig struct {
	// File is a --json-file written by an earlier run (--baseline). The
	// console summary, the JSON output (a "baseline" section), the HTML
	// report and the web UI then show, per endpoint and for Aggregated,
	// both runs' p50/p95/p99, throughput and failure ratio, the change and
	// whether it is larger than run-to-run noise; thresholds may use it
	// ("p95<baseline*1.10"); an endpoint that got significantly slower or
	// failed more often makes the exit code 3, and fails RunHeadless's
	// test with the table.
	File string
	// Confidence is the confidence level of the comparison's verdicts
	// (--baseline-confidence); 0 means 99 %.
	Confidence float64
	// MinChange is the smallest relative change of a percentile that
	// counts, e.g. 0.05 for 5 % (--baseline-min-change); 0 means 5 %.
	MinChange float64

	// compareOld is --compare's first file; the second is the one
	// positional argument.
	compareOld string
}

func (b *BaselineConfig) options() compare.Options {
	return compare.Options{Confidence: b.Confidence, MinChange: b.MinChange}
}

func (b *BaselineConfig) validate() []error {
	var errs []error
	if b.Confidence != 0 && !(b.Confidence >= 0.5 && b.Confidence < 1) {
		errs = append(errs, fmt.Errorf("--baseline-confidence is %v: want a level from 50%% to below 100%%, e.g. 99%% or 0.99", b.Confidence))
	}
	if b.MinChange < 0 || b.MinChange >= 10 || math.IsNaN(b.MinChange) {
		errs = append(errs, fmt.Errorf("--baseline-min-change is %v: want a relative change from 0 to below 1000%%, e.g. 5%% or 0.05", b.MinChange))
	}
	return errs
}

// validateBaseline checks the baseline flags, and that thresholds relative
// to the baseline have one.
func (c *Config) validateBaseline() []error {
	errs := c.Baseline.validate()
	if c.Baseline.File != "" {
		return errs
	}
	for _, e := range c.Thresholds {
		if t, err := threshold.Parse(e); err == nil && t.Baseline {
			errs = append(errs, fmt.Errorf("--threshold %q compares with the baseline: pass --baseline FILE, a --json-file of an earlier run", e))
		}
	}
	return errs
}

func baselineFlags(c *Config) []flagDef {
	b := &c.Baseline
	return []flagDef{
		{long: "baseline", group: "Baseline", usage: "compare the run with this --json-file of an earlier run: the tables, JSON, report and web UI show the change per endpoint; exit 3 when an endpoint got significantly slower or failed more often", value: &stringValue{p: &b.File}},
		{long: "compare", group: "Baseline", usage: "compare two saved runs without generating load: --compare OLD.json NEW.json (exit 3 when an endpoint got significantly slower or failed more often)", value: &stringValue{p: &b.compareOld}},
		{long: "baseline-confidence", group: "Baseline", usage: "confidence level of the comparison's verdicts, e.g. 99% or 0.99 (default 99%)", value: &floatValue{p: &b.Confidence, flag: "--baseline-confidence", example: "99%", percent: true}},
		{long: "baseline-min-change", group: "Baseline", usage: "smallest relative change of p50/p95/p99 that counts, e.g. 5% or 0.05 (default 5%)", value: &floatValue{p: &b.MinChange, flag: "--baseline-min-change", example: "5%", percent: true}},
	}
}

// runCompare is --compare OLD.json NEW.json: it prints the comparison and
// returns 3 when an endpoint regressed, 0 otherwise, 2 on bad input.
func runCompare(cfg *Config, stdout, stderr io.Writer) int {
	if len(cfg.Classes) != 1 {
		fmt.Fprintf(stderr, "error: --compare takes two files: --compare OLD.json NEW.json (got %d after OLD.json)\n", len(cfg.Classes))
		return ExitUsage
	}
	if err := errors.Join(cfg.Baseline.validate()...); err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return ExitUsage
	}
	oldName, newName := cfg.Baseline.compareOld, cfg.Classes[0]
	old, err := compare.Load(oldName)
	if err != nil {
		fmt.Fprintf(stderr, "error: --compare: %v\n", err)
		return ExitUsage
	}
	cur, err := compare.Load(newName)
	if err != nil {
		fmt.Fprintf(stderr, "error: --compare: %v\n", err)
		return ExitUsage
	}
	rep := compare.Compare(old, cur, cfg.Baseline.options())
	rep.BaseName, rep.CurName = oldName, newName
	if err := compare.WriteTable(stdout, rep); err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return 1
	}
	if rep.Regressed() {
		return compareExitCode
	}
	return ExitOK
}

// compareExitCode is the exit code of a run or a --compare in which an
// endpoint regressed against the baseline: the thresholds' code, since a
// baseline is an objective too.
const compareExitCode = 3
