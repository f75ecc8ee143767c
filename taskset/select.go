package taskset

import (
	"fmt"
	"slices"
	"strings"
)

// Select returns a copy of s with only the top-level tasks named in names
// (in s's order, with their weights), as the web UI's class picker picks a
// class's task subset (Locust's per-class "tasks"). It fails on a name s
// has no task of, on an empty list, and on a Markov set, whose chain would
// be cut.
func (s *Set[U]) Select(names []string) (*Set[U], error) {
	if s == nil {
		return nil, fmt.Errorf("no task set to select from")
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no task selected: pick at least one of %s", strings.Join(s.TaskNames(), ", "))
	}
	if s.markov != nil {
		return nil, fmt.Errorf("the tasks of a Markov set run as a chain: select all of them or none")
	}
	have := s.TaskNames()
	for _, n := range names {
		if !slices.Contains(have, n) {
			return nil, fmt.Errorf("no task named %q: choose from %s", n, strings.Join(have, ", "))
		}
	}
	var kept []Task[U]
	for _, t := range s.tasks {
		if slices.Contains(names, t.Name) {
			kept = append(kept, t)
		}
	}
	c := s.clone()
	c.tasks = kept
	c.order = makeOrder(s.seq, kept)
	c.depth = 0
	for _, t := range kept {
		if t.Set != nil && t.Set.depth+1 > c.depth {
			c.depth = t.Set.depth + 1
		}
	}
	return c, nil
}

// TaskNames returns the names of s's top-level tasks, in order.
func (s *Set[U]) TaskNames() []string {
	if s == nil {
		return nil
	}
	out := make([]string, len(s.tasks))
	for i, t := range s.tasks {
		out[i] = t.Name
	}
	return out
}
