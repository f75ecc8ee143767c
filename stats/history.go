package stats

import (
	"sync"
	"time"
)

// DefaultHistoryPoints is the default capacity of a History.
const DefaultHistoryPoints = 10000

// HistoryPoint is one point of the time series behind the charts and
// reports (Locust appends one every 5 s while a test runs).
type HistoryPoint struct {
	Time        time.Time
	UserCount   int
	RPS         float64 // current requests/s
	FailPerSec  float64 // current failures/s
	P50, P95    time.Duration
	AvgResponse time.Duration
}

// PointFrom builds a HistoryPoint from the Aggregated row of a snapshot:
// current RPS and failures/s, current p50 and p95, and the cumulative
// average response time.
func PointFrom(s *Snapshot, userCount int, now time.Time) HistoryPoint {
	t := s.Total
	return HistoryPoint{
		Time: now, UserCount: userCount,
		RPS:        windowAvg(t.ReqPerSec, s.Start, now),
		FailPerSec: windowAvg(t.FailPerSec, s.Start, now),
		P50:        t.CurrentPercentile(0.5), P95: t.CurrentPercentile(0.95),
		AvgResponse: t.Avg(),
	}
}

// History is a bounded ring of HistoryPoints; when full, the oldest point
// is dropped. It is safe for concurrent use. The zero value keeps
// DefaultHistoryPoints points.
type History struct {
	mu    sync.Mutex
	max   int
	pts   []HistoryPoint
	first int // index of the oldest point once the ring is full
}

// NewHistory returns a History keeping at most max points (0 means
// DefaultHistoryPoints).
func NewHistory(max int) *History { return &History{max: max} }

// Append adds a point, dropping the oldest when full.
func (h *History) Append(p HistoryPoint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	limit := h.max
	if limit <= 0 {
		limit = DefaultHistoryPoints
	}
	if len(h.pts) < limit {
		h.pts = append(h.pts, p)
		return
	}
	h.pts[h.first] = p
	h.first = (h.first + 1) % len(h.pts)
}

// Points returns a copy of the points, oldest first.
func (h *History) Points() []HistoryPoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]HistoryPoint, 0, len(h.pts))
	out = append(out, h.pts[h.first:]...)
	return append(out, h.pts[:h.first]...)
}

// Len returns the number of points held.
func (h *History) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.pts)
}

// Reset drops all points.
func (h *History) Reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pts, h.first = nil, 0
}
