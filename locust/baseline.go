package locust

import (
	"github.com/golocust/golocust/compare"
	"github.com/golocust/golocust/stats"
)

// loadBaseline reads --baseline before the run starts, so that a missing
// or unusable file is a usage error, not a surprise at the end of a long
// run.
func (s *session) loadBaseline() error {
	if s.cfg.Baseline.File == "" {
		return nil
	}
	base, err := compare.Load(s.cfg.Baseline.File)
	if err != nil {
		return usageErrorf("--baseline: %v", err)
	}
	s.baseline = base
	return nil
}

// compareBaseline compares snap with the baseline; nil without one.
func (s *session) compareBaseline(snap *stats.Snapshot) *compare.Report {
	if s.baseline == nil || snap == nil {
		return nil
	}
	rep := compare.Compare(s.baseline, snap, s.cfg.Baseline.options())
	rep.BaseName = s.cfg.Baseline.File
	return rep
}
