//go:build !unix

package sinks

import "net"

// peerOpen cannot peek at a socket here: a connection counts as open
// until a write to it fails.
func peerOpen(net.Conn) bool { return true }
