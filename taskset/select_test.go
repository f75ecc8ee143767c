package taskset_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/golocust/golocust/taskset"
)

func TestSelectKeepsTheNamedTasksWithTheirWeights(t *testing.T) {
	s := taskset.Weighted(task("A", 3), task("B", 1), task("C", 2))
	assert.Equal(t, []string{"A", "B", "C"}, s.TaskNames())
	sel, err := s.Select([]string{"C", "A"})
	require.NoError(t, err)
	assert.Equal(t, []string{"A", "C"}, sel.TaskNames())
	got := counts(walk(sel.NewPicker(nil, nil), 500))
	assert.Equal(t, map[string]int{"A": 300, "C": 200}, got)
	assert.Equal(t, 3, s.Len(), "the original is unchanged")

	_, err = s.Select([]string{"A", "Z"})
	assert.EqualError(t, err, `no task named "Z": choose from A, B, C`)
	_, err = s.Select(nil)
	assert.EqualError(t, err, "no task selected: pick at least one of A, B, C")

	m := taskset.NewMarkov[shopper]()
	a := state(m, "A")
	a.To(a, 1)
	_, err = m.Set().Select([]string{"A"})
	assert.ErrorContains(t, err, "Markov")
	assert.Equal(t, "AAA", strings.Join(walk(m.Set().NewPicker(nil, nil), 3), ""))
}
