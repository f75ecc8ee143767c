package runner

// Caps on what the master keeps of its workers' messages, so that its
// memory stays bounded whatever a worker sends (the stats registry caps
// names, error texts and exceptions itself; see stats.Options).
const (
	// maxTotalLogLines bounds the log lines the master keeps across all
	// workers (each line at most maxLogLineBytes): with many workers each
	// keeps fewer than maxWorkerLogLines.
	maxTotalLogLines = 20_000
	// maxPendingErrors bounds the error and exception rows held between
	// folds of the workers' reports; past it the master folds early.
	maxPendingErrors = 10_000
)

// workerLogs are the last log lines each known worker shipped, at most
// maxWorkerLogLines per worker and maxTotalLogLines in all. Guarded by the
// master's mu.
type workerLogs struct {
	byID   map[string][]string
	total  int
	warned bool // the total cap was hit once
}

// add appends lines to the worker's; full is true the first time the
// total cap made the master drop lines.
func (l *workerLogs) add(id string, lines []string) (full bool) {
	if l.byID == nil {
		l.byID = map[string][]string{}
	}
	old := l.byID[id]
	kept := append(old, lines...)
	keep := min(len(kept), maxWorkerLogLines, maxTotalLogLines-(l.total-len(old)))
	if keep < len(kept) && len(kept)-keep > max(len(kept)-maxWorkerLogLines, 0) {
		full = !l.warned
		l.warned = true
	}
	if over := len(kept) - keep; over > 0 {
		// Copy, so that the dropped lines' backing array is released.
		kept = append([]string(nil), kept[over:]...)
	}
	l.total += len(kept) - len(old)
	if len(kept) == 0 {
		delete(l.byID, id)
		return full
	}
	l.byID[id] = kept
	return full
}

// forget drops a worker's lines.
func (l *workerLogs) forget(id string) {
	l.total -= len(l.byID[id])
	delete(l.byID, id)
}

// copy returns every worker's lines.
func (l *workerLogs) copy() map[string][]string {
	out := make(map[string][]string, len(l.byID))
	for id, lines := range l.byID {
		out[id] = append([]string(nil), lines...)
	}
	return out
}
