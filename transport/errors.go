package transport

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/golocust/golocust/proto/locustpb"
)

var (
	// ErrServerClosed is returned by Accept and Serve after the server stopped.
	ErrServerClosed = errors.New("transport: server closed")
	// ErrClosed is returned by Send and Recv on a closed session or stream.
	ErrClosed = errors.New("transport: stream closed")
	// ErrBadMessage is wrapped by Recv when the peer sent a message that
	// failed to decode or broke the protocol. The stream is still open: the
	// runner decides (a master tells that worker to reconnect).
	ErrBadMessage = errors.New("transport: bad message from peer")
	// ErrIncompatibleVersion is locustpb.ErrIncompatibleVersion, re-exported.
	ErrIncompatibleVersion = locustpb.ErrIncompatibleVersion
)

// Error is an error with a gRPC status code: status.Code(err) reports Code,
// errors.Is/As see Err.
type Error struct {
	Code codes.Code
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Code, e.Err) }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// GRPCStatus makes status.Code and status.FromError understand the error.
func (e *Error) GRPCStatus() *status.Status { return status.New(e.Code, e.Err.Error()) }

func codeErr(c codes.Code, err error) error { return &Error{Code: c, Err: err} }
