package locust

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// newLines returns what was written since its last call, and counts the
// lines the ring overwrote before they were taken.
func TestLogRingNewLines(t *testing.T) {
	r := newLogRing(3)
	next := r.newLines()
	assert.Empty(t, next())
	_, _ = r.Write([]byte("a\nb\n"))
	assert.Equal(t, []string{"a", "b"}, next())
	assert.Empty(t, next())
	_, _ = r.Write([]byte("c\nd\ne\nf\ng\n"))
	assert.Equal(t, []string{"... 2 log lines skipped", "e", "f", "g"}, next())
	assert.Equal(t, []string{"e", "f", "g"}, r.lines())
}
