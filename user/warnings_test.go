package user_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/golocust/golocust/taskset"
	"github.com/golocust/golocust/user"
)

// A Markov chain whose states are not all reachable from its first is
// warned about, nested or not, as Locust warns at load time; a chain
// without such states, and other sets, say nothing.
func TestClassWarningsNameUnreachableMarkovStates(t *testing.T) {
	chain := func(lost bool) *taskset.Set[web] {
		m := taskset.NewMarkov[web]()
		ok := m.State((*web).OK)
		fail := m.State((*web).Fail)
		ok.To(ok, 1)
		if lost {
			fail.To(ok, 1) // nothing leads to Fail
		} else {
			ok.To(fail, 1)
			fail.To(ok, 1)
		}
		return m.Set()
	}
	top := user.Class[web]{Name: "Web", Tasks: chain(true)}
	var w user.Warner = top
	assert.Equal(t, []string{"user class Web: the Markov states Fail of MarkovTaskSet are never reached from its first state; add a transition to them with To, or leave them out"},
		w.ClassWarnings())

	nested := user.Class[web]{Name: "Nested", Tasks: taskset.Weighted(
		taskset.Task[web]{Run: (*web).OK},
		taskset.Task[web]{Set: chain(true).WithName("Checkout")},
	)}
	assert.Equal(t, []string{"user class Nested: the Markov states Fail of Checkout are never reached from its first state; add a transition to them with To, or leave them out"},
		nested.ClassWarnings())

	assert.Empty(t, user.Class[web]{Name: "Web", Tasks: chain(false)}.ClassWarnings())
	assert.Empty(t, user.Class[web]{Name: "Web", Tasks: taskset.Weighted(taskset.Task[web]{Run: (*web).OK})}.ClassWarnings())
}
