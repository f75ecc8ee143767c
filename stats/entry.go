package stats

import "time"

// Percentile returns the p-quantile (p in [0,1]) of the service times.
func (e *Entry) Percentile(p float64) time.Duration { return 0 }

// Median returns the 50th percentile.
func (e *Entry) Median() time.Duration { return e.Percentile(0.5) }

// Avg returns the average service time.
func (e *Entry) Avg() time.Duration { return 0 }

// AvgSize returns the average response size in bytes.
func (e *Entry) AvgSize() float64 { return 0 }

// FailRatio returns failures / requests.
func (e *Entry) FailRatio() float64 { return 0 }

// TotalRPS returns requests per second over the whole run.
func (e *Entry) TotalRPS() float64 { return 0 }

// TotalFailPerSec returns failures per second over the whole run.
func (e *Entry) TotalFailPerSec() float64 { return 0 }

// CurrentRPS returns the requests per second of the current window.
func (e *Entry) CurrentRPS(now time.Time) float64 { return 0 }

// CurrentFailPerSec returns the failures per second of the current window.
func (e *Entry) CurrentFailPerSec(now time.Time) float64 { return 0 }

// CurrentPercentile returns a percentile of the current window.
func (e *Entry) CurrentPercentile(p float64) time.Duration { return 0 }

// CorrectedPercentile returns a percentile of the corrected latencies.
func (e *Entry) CorrectedPercentile(p float64) time.Duration { return 0 }
