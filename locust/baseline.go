package locust

import (
	"github.com/golocust/golocust/compare"
	"github.com/golocust/golocust/stats"
	"github.com/golocust/golocust/webui"
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

// baselineTable is the web UI's Baseline tab; nil without a baseline.
func (s *session) baselineTable() *webui.BaselineTable {
	rep := s.compareBaseline(s.snapshot())
	if rep == nil {
		return nil
	}
	t := &webui.BaselineTable{File: rep.BaseName, Settings: rep.Settings(), Summary: rep.Summary(), Regressed: rep.Regressed(), Header: rep.Header()}
	for i := range rep.Rows {
		t.Rows = append(t.Rows, webui.BaselineRow{Cells: rep.Cells(i), Regressed: rep.Rows[i].Regressed(), Total: rep.Rows[i].Aggregated()})
	}
	return t
}

// webBaseline is the web UI's Options.Baseline: nil without --baseline, so
// that the UI shows no tab.
func (s *session) webBaseline() func() *webui.BaselineTable {
	if s.baseline == nil {
		return nil
	}
	return s.baselineTable
}
