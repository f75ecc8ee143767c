package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/golocust/golocust/internal/demotarget"
)

// runMainEnv, set in a child's environment, makes the test binary run the
// README's main with the child's arguments instead of the tests: the very
// code of the README, flags and all, in its own process.
const runMainEnv = "GOLOCUST_README_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main() // exits with the run's code
		return
	}
	goleak.VerifyTestMain(m)
}

// readmeScenario returns the first Go block of the README.
func readmeScenario(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(b), "\n```go\n")
	require.True(t, ok, "README.md has no ```go block")
	block, _, ok := strings.Cut(rest, "\n```\n")
	require.True(t, ok, "README.md's first ```go block does not end")
	return block + "\n"
}

func TestREADMEScenarioIsThisProgram(t *testing.T) {
	prog, err := os.ReadFile("main.go")
	require.NoError(t, err)
	require.Equal(t, readmeScenario(t), string(prog),
		"README.md's first Go block and examples/readme/main.go differ: change both alike (this test runs main.go)")
}

// The README's program, run as a user would run it (headless, -H, -u, -t,
// --csv), loads a local target: every user logs in once, its tasks run,
// and the statistics it writes count what the target received.
func TestREADMEScenarioRuns(t *testing.T) {
	srv, err := demotarget.Start(context.Background(), demotarget.Options{})
	require.NoError(t, err)
	defer srv.Close()
	const users = 4
	prefix := filepath.Join(t.TempDir(), "readme")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "--headless", "-H", srv.URL, "-u", strconv.Itoa(users), "-r", "100",
		"-t", "3s", "--stop-timeout", "5s", "--csv", prefix, "--only-summary")
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), "the README's scenario failed:\n%s", out.String())

	f, err := os.Open(prefix + "_stats.csv")
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	counts := map[string]int64{}
	for _, r := range rows[1:] {
		n, err := strconv.ParseInt(r[2], 10, 64)
		require.NoError(t, err, "%v", r)
		counts[r[0]+" "+r[1]] = n
		assert.Equal(t, "0", r[3], "failures of %v", r)
	}
	assert.Equal(t, int64(users), counts["POST /login"], "OnStart logs every user in once:\n%s", out.String())
	assert.Equal(t, srv.Count("/login"), counts["POST /login"])
	assert.Equal(t, srv.Count("/item"), counts["GET /item?id=[id]"], "item pages are grouped under one name")
	assert.Equal(t, srv.Count("/checkout"), counts["POST /checkout"])
	assert.GreaterOrEqual(t, counts["GET /item?id=[id]"]+counts["POST /checkout"], int64(users), "every user ran a task before its first wait")
	assert.Equal(t, srv.Total(), counts[" Aggregated"], "the statistics count every request the target received")
}
