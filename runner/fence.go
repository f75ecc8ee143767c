package runner

import (
	"time"

	"go.uber.org/zap"
)

// MinFenceAfter is the shortest default self-fencing window: a master
// briefly too busy to answer heartbeats must not make every worker drop
// its users.
const MinFenceAfter = 3 * time.Second

// Self-fencing. A worker cut off from its master (a partition that drops
// packets without resetting the connection) cannot tell that the master
// has already given its users to other workers once it missed its
// heartbeats for the liveness window. If it kept running them, the target
// would get more load than asked for until keepalive broke the stream
// (about 40 s; Locust #1158). So a worker that has not heard its master
// (the master answers every heartbeat) for WorkerOptions.FenceAfter stops
// its users at once, ends its stream and connects again; it runs users
// again only when the master dispatches to it after it rejoined. The
// master's window and the worker's are both about three heartbeats, so
// the extra load after a partition stays within a few seconds.

// fenceAfter is how long the worker runs its users without hearing its
// master.
func (w *Worker) fenceAfter() time.Duration {
	return min(w.o.FenceAfter, w.o.MasterTimeout)
}

func defaultFenceAfter(heartbeat time.Duration) time.Duration {
	return max(time.Duration(DefaultHeartbeatLiveness)*heartbeat, MinFenceAfter)
}

// fence stops the users without waiting for the stop timeout: the master
// has moved them to other workers already.
func (w *Worker) fence(heard time.Time) {
	w.log.Warn("no word from the master within the liveness window: stopping the users (self-fencing) and reconnecting; they run again when the master dispatches again",
		zap.Duration("window", w.fenceAfter()), zap.Time("last_heard", heard))
	w.stopUsersWithin(0)
}
