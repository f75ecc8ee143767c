package user

import (
	"fmt"
	"strings"

	"github.com/golocust/golocust/taskset"
)

// Warner is implemented by classes that have something to say before a
// run that does not stop it, such as Markov states no user will ever
// reach. The process logs each warning once when it sets up its classes,
// as Locust warns when it loads a locustfile.
type Warner interface {
	ClassWarnings() []string
}

// ClassWarnings implements Warner: one line for each Markov chain among
// the class's task sets (nested ones included) whose states cannot all be
// reached from its first state (Locust warns about them too).
func (c Class[U]) ClassWarnings() []string {
	var out []string
	seen := map[*taskset.Set[U]]bool{}
	var walk func(s *taskset.Set[U])
	walk = func(s *taskset.Set[U]) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		if lost := s.Unreachable(); len(lost) > 0 {
			out = append(out, fmt.Sprintf("user class %s: the Markov states %s of %s are never reached from its first state; add a transition to them with To, or leave them out",
				c.ClassName(), strings.Join(lost, ", "), s.Name()))
		}
		for _, t := range s.Tasks() {
			walk(t.Set)
		}
	}
	walk(c.Tasks)
	return out
}
