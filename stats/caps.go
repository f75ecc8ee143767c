package stats

import "sync/atomic"

// Caps that bound a registry's memory whatever is recorded or merged into
// it: a master merges what its workers send, and a hostile or broken
// worker may send anything the protocol's per-message limits allow. Each
// cap folds the excess into one catch-all row and warns once.
const (
	// maxOtherMethods bounds the "other" entries past the name cap: the
	// first methods seen past it get one each, later ones share the
	// OtherMethod entry, so a stream of distinct methods cannot grow the
	// registry either.
	maxOtherMethods = 16
	// DefaultMaxErrors is the default cap on distinct error texts across
	// all names (Options.MaxErrors).
	DefaultMaxErrors = 1000
	// maxExceptionNodes bounds the nodes listed for one exception.
	maxExceptionNodes = 100
	// maxFutureSeconds bounds how far ahead of the registry's clock a
	// merged per-second count may lie (clock skew between machines);
	// counts further ahead, or older than the kept seconds, are dropped,
	// as they would never be pruned or shown.
	maxFutureSeconds = 60
)

// OtherMethod is the Method of the entry that collects names past the
// name cap whose method is past maxOtherMethods "other" entries.
const OtherMethod = "OTHER"

// errBudget counts the distinct error texts of a registry's entries (the
// per-name catch-all rows excluded), so that their total stays under a cap.
type errBudget struct {
	n      atomic.Int64
	max    int64
	warned atomic.Bool
}

// take reserves room for one more distinct error text; false past the cap.
// first is true the first time the cap is hit.
func (b *errBudget) take() (ok, first bool) {
	if b == nil {
		return true, false
	}
	if b.n.Add(1) > b.max {
		b.n.Add(-1)
		return false, !b.warned.Swap(true)
	}
	return true, false
}

// give returns room for n distinct error texts.
func (b *errBudget) give(n int) {
	if b != nil && n > 0 {
		b.n.Add(-int64(n))
	}
}

// countedErrors is the number of distinct error texts of errs that count
// against the budget.
func countedErrors(errs map[string]*errAgg) int {
	n := len(errs)
	if _, ok := errs[otherErrors]; ok {
		n--
	}
	return n
}
