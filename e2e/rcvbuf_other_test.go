//go:build !unix

package e2e

import "syscall"

// smallReceiveBuffer leaves the socket as it is where SO_RCVBUF is not set
// this way: a client that does not read then takes more frames to fill.
var smallReceiveBuffer func(network, address string, c syscall.RawConn) error
