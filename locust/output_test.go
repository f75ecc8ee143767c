package locust

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/internal/demotarget"
)

// An output file that cannot be written makes the run exit with
// ExitOutput and a message naming the file, even though the run itself
// went well; the other outputs are still written.
func TestFailedOutputWriteExitsNonZero(t *testing.T) {
	srv := startTarget(t, demotarget.Options{})
	dir := t.TempDir()
	notADir := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(notADir, []byte("x"), 0o644))
	good := filepath.Join(dir, "good.json")
	for _, tc := range []struct {
		flag, value, names string
	}{
		{"--json-file", filepath.Join(notADir, "out.json"), "--json-file: could not write " + filepath.Join(notADir, "out.json")},
		{"--html", filepath.Join(notADir, "report.html"), "--html: could not write " + filepath.Join(notADir, "report.html")},
		{"--csv", filepath.Join(notADir, "run"), "--csv"},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := []string{"--headless", "-u", "1", "-t", "300ms", "-H", srv.URL, "--only-summary", tc.flag, tc.value}
			if tc.flag != "--json-file" {
				args = append(args, "--json-file", good)
			}
			code := Run(t.Context(), args, nil, &stdout, &stderr, shopperClass(""))
			assert.Equal(t, ExitOutput, code, stderr.String())
			assert.Contains(t, stderr.String(), tc.names)
			assert.Contains(t, stderr.String(), filepath.Join(notADir))
			if tc.flag == "--html" {
				assert.FileExists(t, good, "the other outputs are written")
			}
		})
	}
}

// A failed write leaves the earlier file whole and no temporary file.
func TestWriteFileAtomicKeepsTheEarlierFileOnFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run_stats.csv")
	require.NoError(t, writeFileAtomic(path, func(w *bufio.Writer) error { _, err := w.WriteString("first\n"); return err }))
	boom := errors.New("disk full")
	err := writeFileAtomic(path, func(w *bufio.Writer) error {
		_, _ = w.WriteString("half of the second")
		return boom
	})
	require.ErrorIs(t, err, boom)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "first\n", string(b))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
}
