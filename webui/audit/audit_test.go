package audit

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLogWritesOneJSONLinePerEventAndKeepsTheRecent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open(path)
	require.NoError(t, err)
	l.Record(Event{Action: Login, Account: "ann", Role: "admin", Remote: "127.0.0.1:5000"})
	l.Record(Event{Action: Start, Account: "ann", Role: "admin", Detail: map[string]any{"user_count": 5}})
	l.Record(Event{Action: LoginFailed, Account: "bob", Outcome: Refused, Reason: "wrong user name or password"})
	require.NoError(t, l.Close())

	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var got []Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e Event
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e), sc.Text())
		got = append(got, e)
	}
	require.Len(t, got, 3)
	assert.Equal(t, Login, got[0].Action)
	assert.Equal(t, OK, got[0].Outcome, "the default outcome")
	assert.WithinDuration(t, time.Now(), got[0].Time, time.Minute)
	assert.Equal(t, float64(5), got[1].Detail["user_count"])
	assert.Equal(t, Refused, got[2].Outcome)

	// appends, never truncates
	l, err = Open(path)
	require.NoError(t, err)
	l.Record(Event{Action: Logout, Account: "ann"})
	require.NoError(t, l.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, 4, countLines(b))
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}

func TestRecentKeepsTheLastEventsInOrder(t *testing.T) {
	l := New(nil)
	for i := range Keep + 7 {
		l.Record(Event{Action: Stop, Detail: map[string]any{"i": i}})
	}
	r := l.Recent()
	require.Len(t, r, Keep)
	assert.Equal(t, 7, r[0].Detail["i"])
	assert.Equal(t, Keep+6, r[Keep-1].Detail["i"])
	var nl *Log
	nl.Record(Event{Action: Stop}) // a nil log records nothing and does not panic
	assert.Nil(t, nl.Recent())
}
