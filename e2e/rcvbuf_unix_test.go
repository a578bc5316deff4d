//go:build unix

package e2e

import "syscall"

// smallReceiveBuffer is a net.Dialer Control that gives the socket a
// receive buffer of a few KiB, so that a client that does not read fills
// it, and then the server's socket, after a few frames.
func smallReceiveBuffer(_, _ string, rc syscall.RawConn) error {
	var err error
	if cerr := rc.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10)
	}); cerr != nil {
		return cerr
	}
	return err
}
