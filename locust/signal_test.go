package locust

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/internal/demotarget"
)

// buildQuickstart builds the quickstart example once per test binary.
func buildQuickstart(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a binary; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH to build the example")
	}
	bin := filepath.Join(t.TempDir(), "quickstart")
	cmd := exec.Command(goTool, "build", "-o", bin, "../examples/quickstart")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// TestSIGTERMStopsAHeadlessRunAndWritesItsOutputs sends SIGTERM to a real
// headless process mid-run: it stops its users, writes the CSV and JSON
// files and exits with the run's exit code.
func TestSIGTERMStopsAHeadlessRunAndWritesItsOutputs(t *testing.T) {
	bin := buildQuickstart(t)
	srv := startTarget(t, demotarget.Options{})
	dir := t.TempDir()
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "--headless", "-u", "3", "-r", "100", "-t", "5m", "-H", srv.URL,
		"--csv", filepath.Join(dir, "run"), "--json-file", filepath.Join(dir, "run"), "-s", "5s")
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	require.Eventually(t, func() bool { return srv.Total() > 50 }, 30*time.Second, 20*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-done:
		require.NoError(t, err, "exit code 0 after SIGTERM: the run went well\n%s", stderr.String())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("the process did not exit after SIGTERM\n%s", stderr.String())
	}
	rows := readCSV(t, filepath.Join(dir, "run_stats.csv"))
	last := rows[len(rows)-1]
	require.Equal(t, "Aggregated", last[1])
	assert.Equal(t, strconv.FormatInt(srv.Total(), 10), last[2], "the final CSV counts every request the target saw")
	_, err := os.Stat(filepath.Join(dir, "run.json"))
	assert.NoError(t, err, "the JSON file is written on SIGTERM")
}
