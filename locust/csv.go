package locust

import (
	"bufio"
	"errors"
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
			return nil, &outputError{"--csv", prefix, err}
		}
	}
	f, err := os.Create(prefix + "_stats_history.csv")
	if err != nil {
		return nil, &outputError{"--csv", prefix + "_stats_history.csv", err}
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
			return &outputError{"--csv", o.prefix + f.suffix, err}
		}
	}
	return nil
}

// final writes the last history row and the final files, then closes.
func (o *csvOutput) final(snap *stats.Snapshot, users int, now time.Time) error {
	err := o.write(snap, users, now)
	var oe *outputError
	if err != nil && !errors.As(err, &oe) {
		err = &outputError{"--csv", o.prefix + "_stats_history.csv", err}
	}
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

// writeFileAtomic writes to a temporary file beside path and renames it
// over path, so that a reader never sees a half-written file and a failed
// write (a full disk) leaves the earlier file whole; the temporary file is
// removed on failure.
func writeFileAtomic(path string, write func(*bufio.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	w := bufio.NewWriter(f)
	if err := write(w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// outputError is a failure to write an output file; it makes the run exit
// with ExitOutput.
type outputError struct {
	flag, file string
	err        error
}

func (e *outputError) Error() string {
	return fmt.Sprintf("%s: could not write %s: %v", e.flag, e.file, e.err)
}

func (e *outputError) Unwrap() error { return e.err }
