// Package user is the user contract of golocust: a user class (Class) is a
// Go struct type U with a task set; every spawned user gets its own U and
// runs in its own goroutine, picking tasks, recording what they do into the
// stats, and waiting between them.
//
// # The user loop
//
// Class.Run binds an embedded HTTP, NetHTTP, GRPC and Base to the user's
// Env, calls
// OnStart(ctx) when *U has it, then repeats: (Env.Gate, when set), pick a
// task, run it, record its outcome, wait. It calls OnStop when the user
// ends, unless OnStart ended it, with a context of its own that the stop
// does not cancel, bounded by OnStopGrace, so that its requests are sent
// and recorded at the end of a run, at a ramp-down and on a stop.
//
// Stopping: when Env.Stopping is closed no new task starts and a waiting
// user leaves at once; the running task finishes (graceful stop). When the
// ctx passed to Run is cancelled (hard stop, after the stop timeout) the
// running task's ctx is cancelled too, and a request in flight gets a
// short grace (300 ms) to complete before it is cut off and recorded as
// "request cut off by stop", so that the target and the stats count the
// same requests. A task that ignores its
// ctx still holds its user until it returns; Run returns after it.
//
// # What is recorded, once
//
//   - Each HTTP call (and each Record/Measure call) is one sample, failed
//     or not. The *RequestError they return is marked as recorded: a task
//     returning it (wrapped or not) is not counted again.
//   - A task that returns any other error records one failure entry with
//     Method "task" (TaskMethod) and the task's name as Name, timed over the
//     task; OnStart and OnStop errors likewise under the names "OnStart"
//     and "OnStop". An error returned by OnStart is recorded once and
//     logged and the user goes on to its tasks (as in Locust, where a
//     failed request in on_start does not end the user); ErrStopUser or
//     a panic in OnStart ends it.
//   - A panic is recovered and recorded as an exception (stats
//     RecordException) with a stack free of goroutine ids and argument
//     values, so the same panic in many users groups into one; the user
//     waits and carries on.
//   - ErrStopUser, ErrStopTest, taskset.ErrRescheduleNow and
//     taskset.ErrInterrupt are control flow, not recorded; neither are
//     context errors after the user's ctx is cancelled.
//   - A request cut off by a hard stop is recorded as a failure (ErrCutOff)
//     because the target may have counted it; a request whose ctx is done
//     before it is sent is neither sent nor recorded.
//
// # Coordinated omission
//
// When an iteration has an intended start (a Gate returned one, or the
// waiter is a taskset.Pacer such as ConstantPacing or ConstantThroughput),
// every sample recorded during it carries Corrected = Duration + lag, where
// lag = actual start - intended start (>= 0). For the first request of a
// task this equals its end minus the intended start; later requests of the
// same task are not charged with the earlier ones' time.
//
// # The two HTTP clients
//
// HTTP (fasthttp) and NetHTTP (net/http) share everything but the
// exchange: their request methods, the options, the stats name, the
// deadline and the headers of a call (the front half, user/httpcall.go and
// user/httpoption.go), and its verdict, recording and error texts (the back
// half, httpCall.finish). An HTTP option is added as an optKind with its
// constructor and a case in parseOptions (httpoption.go), and a header that
// every request carries in httpCall.setHeaders (httpcall.go); both clients
// get it from there.
//
// # Wait strategies
//
// Between, Constant, ConstantPacing and ConstantThroughput match Locust's;
// any taskset.Wait works (see taskset.WaitFunc). Pacing is per user and
// scheduled from the intended starts, with at most one period of catch-up
// after an overrun. With an Env.Gate the gate schedules
// iterations and the wait strategy is not applied.
package user
