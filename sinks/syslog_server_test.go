package sinks_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/sinks"
)

// syslogServer receives what a Syslog sink sends, on loopback or a Unix
// socket, until the end of the test: the bytes of each stream connection
// (in the order they were accepted) or each datagram.
type syslogServer struct {
	t       testing.TB
	network string // as given to sinks.SyslogOptions
	addr    string
	stream  bool
	tls     *tls.Config // the server's, for "tls"
	client  *tls.Config // a client config that trusts the server

	ln net.Listener
	pc net.PacketConn
	wg sync.WaitGroup

	mu       sync.Mutex
	open     []net.Conn // accepted connections not yet dropped
	conns    [][]byte   // stream: the bytes of each accepted connection
	grams    [][]byte   // datagram: each datagram
	received int        // stream bytes, or datagrams
	ended    int        // connections the sink closed (or broke)
	stopped  bool
}

// newSyslogServer listens on network: "tcp", "tls" (TCP with a
// self-signed certificate), "udp", "unix" or "unixgram".
func newSyslogServer(t testing.TB, network string) *syslogServer {
	t.Helper()
	s := &syslogServer{t: t, network: network}
	switch network {
	case "tcp", "udp":
		s.addr = "127.0.0.1:0"
	case "tls":
		s.network, s.addr = "tcp", "127.0.0.1:0"
		s.tls, s.client = testTLSConfigs(t)
	case "unix", "unixgram":
		// A short path: a socket's path is limited to about 100 bytes,
		// which t.TempDir's long names can pass.
		dir, err := os.MkdirTemp("", "sl")
		require.NoError(t, err)
		t.Cleanup(func() { os.RemoveAll(dir) })
		s.addr = filepath.Join(dir, "log.sock")
	default:
		t.Fatalf("newSyslogServer: unknown network %q", network)
	}
	s.start()
	t.Cleanup(s.stop)
	return s
}

// start listens on s.addr and serves until stop.
func (s *syslogServer) start() {
	s.t.Helper()
	s.mu.Lock()
	s.stopped = false
	s.mu.Unlock()
	switch s.network {
	case "tcp", "unix":
		s.stream = true
		ln, err := net.Listen(s.network, s.addr)
		require.NoError(s.t, err)
		if s.tls != nil {
			ln = tls.NewListener(ln, s.tls)
		}
		s.ln, s.addr = ln, ln.Addr().String()
		s.wg.Add(1)
		go s.accept(ln)
	default:
		pc, err := net.ListenPacket(s.network, s.addr)
		require.NoError(s.t, err)
		s.pc, s.addr = pc, pc.LocalAddr().String()
		s.wg.Add(1)
		go s.readDatagrams(pc)
	}
}

// stop closes the listener and every connection, and waits for the
// server's goroutines. What was received stays readable.
func (s *syslogServer) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	if s.ln != nil {
		s.ln.Close()
	}
	if s.pc != nil {
		s.pc.Close()
	}
	s.dropConns()
	s.wg.Wait()
}

func (s *syslogServer) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			c.Close()
			return
		}
		i := len(s.conns)
		s.conns = append(s.conns, nil)
		s.open = append(s.open, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go s.read(c, i)
	}
}

func (s *syslogServer) read(c net.Conn, i int) {
	defer s.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		s.mu.Lock()
		s.conns[i] = append(s.conns[i], buf[:n]...)
		s.received += n
		if err != nil {
			s.ended++
		}
		s.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (s *syslogServer) readDatagrams(pc net.PacketConn) {
	defer s.wg.Done()
	buf := make([]byte, 1<<16)
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.grams = append(s.grams, bytes.Clone(buf[:n]))
		s.received++
		s.mu.Unlock()
	}
}

// dropConns closes the server's end of every connection accepted so far.
func (s *syslogServer) dropConns() {
	s.mu.Lock()
	open := s.open
	s.open = nil
	s.mu.Unlock()
	for _, c := range open {
		c.Close()
	}
}

// accepted returns how many connections the server has accepted.
func (s *syslogServer) accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// waitEnded waits until n connections have ended.
func (s *syslogServer) waitEnded(n int) {
	s.t.Helper()
	s.waitCount(func() int { return s.ended }, n, "%d connections ended, want %d")
}

// waitCount waits, up to 5s, until count (read under s.mu) is want, and
// fails with format (given count and want) if it passes want or time
// runs out.
func (s *syslogServer) waitCount(count func() int, want int, format string) {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		got := count()
		s.mu.Unlock()
		if got == want {
			return
		}
		if got > want || time.Now().After(deadline) {
			s.t.Fatalf(format, got, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// streams returns a copy of the bytes of each connection.
func (s *syslogServer) streams() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]byte, len(s.conns))
	for i, c := range s.conns {
		out[i] = bytes.Clone(c)
	}
	return out
}

// options returns sink options for this server, with fixed header fields.
func (s *syslogServer) options() sinks.SyslogOptions {
	o := sinks.SyslogOptions{Network: s.network, Address: s.addr, Hostname: "host", AppName: "app", ProcID: "42"}
	if s.network == "tcp" && s.tls != nil {
		o.TLS = s.client
	}
	return o
}

// wait blocks until the server has received all that sink reports sent:
// its bytes on a stream, its messages as datagrams.
func (s *syslogServer) wait(sink *sinks.Syslog) {
	s.t.Helper()
	msgs, n := sinks.SyslogSent(sink)
	want := int(n)
	if !s.stream {
		want = int(msgs)
	}
	s.waitCount(func() int { return s.received }, want, "the server received %d, the sink sent %d")
}

// messages returns the messages received: each datagram, or each frame
// of each connection in turn, read by framing. A connection's partial
// last frame is left out.
func (s *syslogServer) messages(framing sinks.Framing) []string {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, g := range s.grams {
		out = append(out, string(g))
	}
	for _, data := range s.conns {
		msgs, _, err := splitFrames(data, framing)
		require.NoError(s.t, err)
		out = append(out, msgs...)
	}
	return out
}

// splitFrames reads the complete frames of a stream; rest is what
// follows the last one.
func splitFrames(data []byte, framing sinks.Framing) (msgs []string, rest []byte, err error) {
	for len(data) > 0 {
		if framing == sinks.LFDelimited {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				return msgs, data, nil
			}
			msgs = append(msgs, string(data[:i]))
			data = data[i+1:]
			continue
		}
		sp := bytes.IndexByte(data, ' ')
		if sp < 0 {
			if len(data) > 10 {
				return nil, nil, fmt.Errorf("no length at %q", data[:10])
			}
			return msgs, data, nil
		}
		n, err := strconv.Atoi(string(data[:sp]))
		if err != nil || n < 1 || data[0] == '0' {
			return nil, nil, fmt.Errorf("bad frame length %q", data[:sp])
		}
		if len(data) < sp+1+n {
			return msgs, data, nil
		}
		msgs = append(msgs, string(data[sp+1:sp+1+n]))
		data = data[sp+1+n:]
	}
	return msgs, nil, nil
}

// testTLSConfigs returns a server config with a self-signed certificate
// for 127.0.0.1 and a client config that trusts it.
func testTLSConfigs(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "shardlog test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client
}

// endingContexts are the two ways a Write's context ends, 100ms in: its
// deadline passes, or it is canceled; want is the error it ends with.
var endingContexts = []struct {
	name string
	ctx  func() (context.Context, context.CancelFunc)
	want error
}{
	{"Deadline", func() (context.Context, context.CancelFunc) { return context.WithTimeout(bg, 100*time.Millisecond) }, context.DeadlineExceeded},
	{"Cancel", func() (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(bg)
		time.AfterFunc(100*time.Millisecond, cancel)
		return ctx, cancel
	}, context.Canceled},
}
