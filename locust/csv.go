package locust

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/golocust/golocust/stats"
)

// csvOutput writes Locust's four CSV files: stats, failures and exceptions
// are rewritten whole on every tick, history is appended to.
type csvOutput struct {
	prefix      string
	fullHistory bool
	history     *os.File
	historyBuf  *bufio.Writer
	// iterations, when a load model counts them, adds
	// PREFIX_iterations.csv beside Locust's four files (theirs keep
	// Locust's exact columns): Timestamp,Iterations,Dropped Iterations.
	iterations    func() (run, dropped int64, ok bool)
	iterationFile *os.File
}

func openCSV(prefix string, fullHistory bool) (*csvOutput, error) {
	if dir := filepath.Dir(prefix); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("--csv %s: %w", prefix, err)
		}
	}
	f, err := os.Create(prefix + "_stats_history.csv")
	if err != nil {
		return nil, fmt.Errorf("--csv %s: %w", prefix, err)
	}
	o := &csvOutput{prefix: prefix, fullHistory: fullHistory, history: f, historyBuf: bufio.NewWriter(f)}
	if err := stats.WriteHistoryCSVHeader(o.historyBuf); err != nil {
		_ = f.Close()
		return nil, err
	}
	return o, nil
}

// writeIterations appends the load model's iteration counts.
func (o *csvOutput) writeIterations(now time.Time) error {
	if o.iterations == nil {
		return nil
	}
	run, dropped, ok := o.iterations()
	if !ok {
		return nil
	}
	if o.iterationFile == nil {
		f, err := os.Create(o.prefix + "_iterations.csv")
		if err != nil {
			return fmt.Errorf("--csv %s: %w", o.prefix, err)
		}
		o.iterationFile = f
		if _, err := fmt.Fprint(f, "Timestamp,Iterations,Dropped Iterations\r\n"); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(o.iterationFile, "%d,%d,%d\r\n", now.Unix(), run, dropped)
	return err
}

// write appends one history tick and rewrites the other three files.
func (o *csvOutput) write(snap *stats.Snapshot, users int, now time.Time) error {
	if err := o.writeIterations(now); err != nil {
		return err
	}
	if err := stats.WriteHistoryCSVRows(o.historyBuf, snap, users, now, o.fullHistory); err != nil {
		return err
	}
	if err := o.historyBuf.Flush(); err != nil {
		return err
	}
	return o.rewrite(snap)
}

func (o *csvOutput) rewrite(snap *stats.Snapshot) error {
	files := []struct {
		suffix string
		write  func(*bufio.Writer) error
	}{
		{"_stats.csv", func(w *bufio.Writer) error { return stats.WriteStatsCSV(w, snap) }},
		{"_failures.csv", func(w *bufio.Writer) error { return stats.WriteFailuresCSV(w, snap) }},
		{"_exceptions.csv", func(w *bufio.Writer) error { return stats.WriteExceptionsCSV(w, snap) }},
	}
	for _, f := range files {
		if err := writeFileAtomic(o.prefix+f.suffix, f.write); err != nil {
			return err
		}
	}
	return nil
}

// final writes the last history row and the final files, then closes.
func (o *csvOutput) final(snap *stats.Snapshot, users int, now time.Time) error {
	err := o.write(snap, users, now)
	if cerr := o.history.Close(); err == nil {
		err = cerr
	}
	if o.iterationFile != nil {
		if cerr := o.iterationFile.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// writeFileAtomic writes to a temporary file and renames it, so that a
// reader never sees a half-written CSV.
func writeFileAtomic(path string, write func(*bufio.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := write(w); err != nil {
		_ = f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
