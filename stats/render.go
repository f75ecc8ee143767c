package stats

import (
	"io"
	"time"
)

// WriteStatsCSV writes Locust's *_stats.csv.
func WriteStatsCSV(w io.Writer, s *Snapshot) error { return nil }

// WriteFailuresCSV writes Locust's *_failures.csv.
func WriteFailuresCSV(w io.Writer, s *Snapshot) error { return nil }

// WriteExceptionsCSV writes Locust's *_exceptions.csv.
func WriteExceptionsCSV(w io.Writer, s *Snapshot) error { return nil }

// WriteHistoryCSVHeader writes the header of Locust's *_stats_history.csv.
func WriteHistoryCSVHeader(w io.Writer) error { return nil }

// WriteHistoryCSVRows appends the rows of one *_stats_history.csv tick.
func WriteHistoryCSVRows(w io.Writer, s *Snapshot, userCount int, now time.Time, fullHistory bool) error {
	return nil
}

// WriteJSON writes the per-name stats list.
func WriteJSON(w io.Writer, s *Snapshot) error { return nil }

// WriteConsoleStats writes Locust's console stats table.
func WriteConsoleStats(w io.Writer, s *Snapshot, now time.Time, final bool) {}

// WritePercentileTable writes "Response time percentiles (approximated)".
func WritePercentileTable(w io.Writer, s *Snapshot) {}

// WriteErrorReport writes Locust's "Error report".
func WriteErrorReport(w io.Writer, s *Snapshot) {}
