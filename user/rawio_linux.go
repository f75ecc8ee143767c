package user

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// rawIO reads and writes a TCP connection's socket with raw system calls,
// inside the runtime poller's RawConn (which holds the descriptor open and
// parks the goroutine until the socket is ready, deadlines included).
//
// Why: net.Conn's Read and Write tell the scheduler about every system
// call (entersyscall/exitsyscall). On a busy generator that wakes the
// runtime's monitor thread, which then takes the processor away from a
// write that ran a little long and hands it to another thread: about a
// third of the process's context switches, and with the bookkeeping itself
// some 4 % of a request's CPU (bench/efficiency.sh). The socket is
// non-blocking, so a raw call returns at once: EAGAIN means "wait", which
// RawConn does in the poller, as net.Conn would.
//
// Under the race detector connections keep net.Conn's Read and Write:
// the syscall package tells the detector that a write on one side
// happens before the read of it on the other, and users' tests with -race
// rely on that edge (a handler's writes seen by the task after the
// response); raw calls would hide it.
//
// Errors read as net.Conn's do (a *net.OpError of op "read" or "write"
// around an *os.SyscallError or the poller's error; io.EOF bare), so
// recorded error texts do not change.
type rawIO struct {
	rc    syscall.RawConn
	laddr net.Addr
	raddr net.Addr
	buf   []byte // the caller's buffer during a call
	n     int
	errno syscall.Errno
	read  func(fd uintptr) bool // made once, so a call allocates nothing
	write func(fd uintptr) bool
}

// newRawIO returns the raw reader and writer of c, or nil when c is not
// a TCP connection or the race detector is on.
func newRawIO(c net.Conn) *rawIO {
	if raceEnabled {
		return nil
	}
	return rawIOOf(c)
}

// rawIOOf is newRawIO whether or not the race detector is on.
func rawIOOf(c net.Conn) *rawIO {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawIO{rc: rc, laddr: tc.LocalAddr(), raddr: tc.RemoteAddr()}
	r.read = func(fd uintptr) bool {
		for {
			n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)))
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // park until readable
			}
			r.n, r.errno = int(n), e
			return true
		}
	}
	r.write = func(fd uintptr) bool {
		for r.n < len(r.buf) {
			p := r.buf[r.n:]
			n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch e {
			case 0:
				r.n += int(n)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // park until writable
			default:
				r.errno = e
				return true
			}
		}
		return true
	}
	return r
}

// Read reads into p as net.Conn.Read does.
func (r *rawIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.buf, r.n, r.errno = p, 0, 0
	err := r.rc.Read(r.read)
	n, errno := r.n, r.errno
	r.buf = nil
	switch {
	case err != nil:
		return 0, r.opError("read", err)
	case errno != 0:
		return 0, r.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of p as net.Conn.Write does.
func (r *rawIO) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.buf, r.n, r.errno = p, 0, 0
	err := r.rc.Write(r.write)
	n, errno := r.n, r.errno
	r.buf = nil
	switch {
	case err != nil:
		return n, r.opError("write", err)
	case errno != 0:
		return n, r.opError("write", os.NewSyscallError("write", errno))
	}
	return n, nil
}

// opError wraps err as net.Conn does; an error of RawConn (a deadline, a
// closed connection) comes wrapped under its own op and is unwrapped.
func (r *rawIO) opError(op string, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: r.laddr, Addr: r.raddr, Err: err}
}
