package user

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/golocust/golocust/taskset"
)

// panicError marks a panic that was recovered and recorded as an exception.
type panicError struct{ msg string }

func (e *panicError) Error() string { return "panic: " + e.msg }

// runTask runs one task, turning a panic into a recorded exception.
func runTask[U any](env *Env, log *zap.Logger, t *taskset.Task[U], u *U, ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = recordPanic(env, log, t.Name, r)
		}
	}()
	return t.Run(u, ctx)
}

// call runs a hook, turning a panic into a recorded exception.
func call(env *Env, log *zap.Logger, name string, fn func(context.Context) error, ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = recordPanic(env, log, name, r)
		}
	}()
	return fn(ctx)
}

// recordPanic records a recovered panic as an exception. It must be called
// from the deferred function that recovered, so that the panicking frames
// are still on the stack.
func recordPanic(env *Env, log *zap.Logger, task string, r any) error {
	msg := fmt.Sprint(r)
	if e, ok := r.(error); ok {
		msg = e.Error()
	}
	stack := panicStack()
	log.Error("task panicked", zap.String("class", env.Class), zap.Int("user", env.ID),
		zap.String("task", task), zap.String("panic", msg), zap.String("stack", stack))
	if env.Stats != nil {
		env.Stats.RecordException(msg, stack)
	}
	return &panicError{msg: msg}
}

// panicStack returns the stack of the panicking goroutine from the frame
// that panicked down to the task call, one "func\n\tfile:line\n" per
// frame, without goroutine ids or argument values, so that the same panic
// in many users groups into one exception.
func panicStack() string {
	var pcs [64]uintptr
	n := runtime.Callers(3, pcs[:]) // skip Callers, panicStack, recordPanic
	frames := runtime.CallersFrames(pcs[:n])
	var b strings.Builder
	started := false
	for {
		f, more := frames.Next()
		name := f.Function
		switch {
		case !started:
			// Skip the deferred func and the runtime's panic machinery.
			if name == "runtime.gopanic" {
				started = true
			}
		case strings.HasPrefix(name, "runtime."):
			// runtime.panicIndex, sigpanic, ... right after gopanic
		case strings.HasPrefix(name, "github.com/golocust/golocust/user.runTask"),
			strings.HasPrefix(name, "github.com/golocust/golocust/user.call"),
			strings.HasPrefix(name, "github.com/golocust/golocust/user.fireRequest"):
			return b.String()
		default:
			b.WriteString(name)
			b.WriteString("\n\t")
			b.WriteString(f.File)
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(f.Line))
			b.WriteByte('\n')
		}
		if !more {
			return b.String()
		}
	}
}
