package runner

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// notifier wakes the callers waiting for a change of a runner: its owner
// calls notify after changing its state or user counts.
type notifier struct {
	mu sync.Mutex
	ch chan struct{} // closed by the next notify; nil while no one waits
}

func (n *notifier) notify() {
	n.mu.Lock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
	n.mu.Unlock()
}

// next returns a channel closed by the next notify.
func (n *notifier) next() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

// waitUntil returns nil once cond holds, ctx.Err() (wrapped) when ctx ends
// first, ErrQuit (wrapped) when quit closes first. what describes the
// wait for the errors, current the runner's state.
func waitUntil(ctx context.Context, n *notifier, quit <-chan struct{}, cond func() bool, what string, current func() State) error {
	for {
		ch := n.next() // before cond, so a change in between is not missed
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("runner: waiting for %s, the runner is %s: %w", what, current(), ctx.Err())
		case <-quit:
			if cond() {
				return nil
			}
			return fmt.Errorf("waiting for %s, the runner is %s: %w", what, current(), ErrQuit)
		}
	}
}

func statesText(states []State) string {
	if len(states) == 1 {
		return "state " + string(states[0])
	}
	return fmt.Sprintf("states %v", states)
}

func stateIn(s State, states []State) bool { return slices.Contains(states, s) }
