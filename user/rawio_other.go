//go:build !linux

package user

import "net"

// rawIO is the Linux-only raw socket path (see rawio_linux.go); elsewhere
// connections use net.Conn's own Read and Write.
type rawIO struct{}

func newRawIO(net.Conn) *rawIO { return nil }

func (*rawIO) Read([]byte) (int, error)  { panic("unreachable") }
func (*rawIO) Write([]byte) (int, error) { panic("unreachable") }
