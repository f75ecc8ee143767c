package user

import (
	"math/rand/v2"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
)

var traceparentForm = regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-01$`)

func TestTraceparentHeaderRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	for range 1000 {
		ids := newTraceIDs(r)
		h := ids.appendHeader(nil)
		assert.Len(t, h, traceparentLen)
		assert.Regexp(t, traceparentForm, string(h))
		got, ok := parseTraceparent(h)
		assert.True(t, ok)
		assert.Equal(t, ids, got)
		assert.False(t, seen[string(h)], "ids repeat")
		seen[string(h)] = true
	}
	src := newTraceSource(r)
	for range 1000 {
		ids := src.ids()
		h := ids.appendHeader(nil)
		assert.Regexp(t, traceparentForm, string(h))
		assert.False(t, seen[string(h)], "ids repeat")
		seen[string(h)] = true
	}
}

func TestParseTraceparentRefusesWhatIsNotOne(t *testing.T) {
	ok := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	_, good := parseTraceparent([]byte(ok))
	assert.True(t, good)
	_, good = parseTraceparent([]byte("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"))
	assert.True(t, good, "a later version may carry more fields")
	for _, bad := range []string{
		"", "00", ok[:54], ok + "x",
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		"00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
		"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	} {
		_, good := parseTraceparent([]byte(bad))
		assert.False(t, good, bad)
	}
}

// BenchmarkTraceparent is what a traced call adds before it is sent: new
// ids from the user's random source and the header's value.
func BenchmarkTraceparent(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	var buf [traceparentLen]byte
	b.ReportAllocs()
	for b.Loop() {
		ids := newTraceIDs(r)
		_ = ids.appendHeader(buf[:0])
	}
}
