//go:build unix

package sinks

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
)

// peerOpen reports whether the receiver at the other end of conn may
// still read from it. It peeks at the socket, which does not block (the
// net package's sockets are non-blocking), and returns false when it
// finds the end of the stream or a pending error: ECONNRESET, or on a
// connected UDP socket the ECONNREFUSED of an earlier ICMP message. Data
// waiting to be read (a syslog receiver sends none, a TLS server sends
// session tickets) is left where it is; behind it, a close is not seen.
// A connection that cannot be peeked at counts as open.
//
// One system call per Write; it spares the batch that would otherwise be
// written into a connection the receiver has already closed, and lost.
func peerOpen(conn net.Conn) bool {
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	datagram := false
	switch conn.LocalAddr().Network() {
	case "udp", "udp4", "udp6", "unixgram":
		datagram = true
	}
	open := true
	var b [1]byte
	cerr := rc.Control(func(fd uintptr) {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK)
		switch {
		case err == nil:
			// Data is waiting (n > 0), or a stream has ended (n == 0; on
			// a datagram socket, an empty datagram).
			open = n > 0 || datagram
		case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EWOULDBLOCK), errors.Is(err, syscall.EINTR):
		default:
			open = false
		}
	})
	return open && cerr == nil
}
