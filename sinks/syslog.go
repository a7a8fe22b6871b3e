package sinks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks/format"
)

// Framing says how messages are delimited on a stream transport (TCP,
// TLS, a Unix stream socket); datagrams carry one message each.
type Framing uint8

// The framings of RFC 6587, section 3.4.
const (
	// OctetCounting sends each message as its length in decimal, a
	// space, and the message: "87 <134>1 ...". Any byte may appear in a
	// message. The default, and the only framing RFC 5425 allows on TLS.
	OctetCounting Framing = iota
	// LFDelimited ends each message with '\n' (RFC 6587's
	// non-transparent framing), for receivers that read lines. The
	// encoder escapes line breaks, so a message never holds one.
	LFDelimited
)

// String names the framing.
func (f Framing) String() string {
	switch f {
	case OctetCounting:
		return "octet-counting"
	case LFDelimited:
		return "lf"
	}
	return fmt.Sprintf("Framing(%d)", uint8(f))
}

// Defaults of SyslogOptions.
const (
	// DefaultSyslogDatagramSize bounds a message sent as a datagram when
	// SyslogOptions.MaxMessageSize is zero: the size RFC 5426 (section
	// 3.2) says every receiver should accept, which also stays within
	// one IP packet on most paths.
	DefaultSyslogDatagramSize = 2048
	// DefaultSyslogDialTimeout bounds a connection attempt when
	// SyslogOptions.DialTimeout is zero (the ctx of the Write may end
	// it sooner).
	DefaultSyslogDialTimeout = 5 * time.Second
	// minSyslogMessageSize is the smallest MaxMessageSize accepted: RFC
	// 5426's minimum for IPv4 receivers.
	minSyslogMessageSize = 480
)

// SyslogOptions configures NewSyslog. Only Address is required.
type SyslogOptions struct {
	// Network is "tcp" (the default when empty), "tcp4" or "tcp6" for a
	// stream (RFC 6587, or RFC 5425 with TLS); "udp", "udp4" or "udp6"
	// for datagrams (RFC 5426); "unix" for a Unix stream socket or
	// "unixgram" for a Unix datagram socket such as /dev/log.
	Network string
	// Address is host:port for TCP and UDP, a path for Unix sockets.
	Address string
	// TLS, when not nil, wraps a TCP connection in TLS (RFC 5425). An
	// empty ServerName is taken from Address's host.
	TLS *tls.Config
	// Framing delimits messages on a stream; the zero value is
	// OctetCounting. TLS requires OctetCounting. Ignored for datagrams.
	Framing Framing
	// MaxMessageSize bounds each message in bytes (framing excluded):
	// longer ones are cut at the end (see format.Syslog). Zero means
	// DefaultSyslogDatagramSize for datagrams and no limit on a stream.
	// At least 480 (RFC 5426's minimum) and the size of the header.
	MaxMessageSize int
	// DialTimeout bounds each connection attempt; zero means
	// DefaultSyslogDialTimeout.
	DialTimeout time.Duration

	// Facility of every message; zero means format.FacilityUser.
	Facility format.Facility
	// Hostname is the HOSTNAME field: up to 255 printable US-ASCII
	// characters without spaces. Empty means os.Hostname (sanitised the
	// same way); "-" sends the NILVALUE.
	Hostname string
	// AppName is the APP-NAME field (up to 48 characters). Empty means
	// the base name of the program (os.Args[0]); "-" sends the NILVALUE.
	AppName string
	// ProcID is the PROCID field (up to 128 characters). Empty means the
	// process id; "-" sends the NILVALUE.
	ProcID string
	// MsgID is the MSGID field (up to 32 characters). Empty means the
	// NILVALUE "-".
	MsgID string
	// SDID is the SD-ID of the structured-data element that carries the
	// logger name, the caller and the fields: name@enterprise-number, up
	// to 32 characters. Empty means format.DefaultSDID (shardlog@32473,
	// RFC 5612's documentation number: replace it with your
	// organisation's). "-" sends no structured data and puts the fields
	// in MSG as logfmt pairs instead.
	SDID string
	// UTF8BOM starts each MSG with the byte order mark (see format.Syslog).
	UTF8BOM bool
}

// Syslog is a core.Sink that sends events as RFC 5424 messages to a
// syslog receiver (rsyslog, syslog-ng, a collector) over TCP (RFC 6587),
// TLS (RFC 5425), UDP (RFC 5426) or a Unix socket.
//
// Encoding: Syslog implements core.Encoding with a format.Syslog, so the
// engine encodes each event once in its flushers; Write only frames the
// lines. A core.Entry without a Line is encoded here.
//
// Connection: the sink connects on the first Write, not in NewSyslog, so
// a program starts while its collector is down; the engine's breaker,
// retries and fallback deal with a collector that stays down. Before each
// Write the sink checks, without blocking, whether the connection has
// ended (the receiver closed the stream, or the socket holds an error;
// on Unix systems, a peek at the socket) and reconnects if so; after a
// failed write it drops the connection, and the next Write reconnects.
// It never resends anything itself: the engine retries what a Write
// reports unwritten.
//
// Writes: on a stream, a batch's frames are copied into one buffer and
// written with one write call per 256 KiB; on a datagram transport each
// message is one datagram (one system call). Write returns how many
// entries were handed to the kernel in full. Syslog over TCP has no
// acknowledgements, so a batch written just as the receiver goes away can
// be lost without an error, as with any RFC 6587 sender. The encoder cuts
// messages to MaxMessageSize; a datagram's Line that is longer all the
// same (one the sink's encoder did not make) is refused: Write returns
// its index and an error naming the sizes, and keeps the connection.
//
// Context: a Write dials with ctx and sets the connection's write
// deadline from ctx's deadline; cancelling ctx interrupts a blocked write
// too. The error then wraps ctx's error, and the connection, which may
// hold part of a message, is dropped.
//
// Flush has nothing to do: Write keeps nothing back. Close closes the
// connection; after Close every method, Close included, returns ErrClosed.
//
// Syslog is not safe for concurrent use; the engine calls it from one
// goroutine at a time, as core.Sink requires.
type Syslog struct {
	network string
	address string
	stream  bool
	framing Framing
	tls     *tls.Config
	dialer  net.Dialer
	enc     format.Syslog
	max     int // a datagram's largest message; 0 on a stream

	conn net.Conn

	// Scratch reused from batch to batch; see the max* constants of
	// writer.go.
	buf     []byte // a stream's frames
	ends    []int  // end offset in buf of each frame
	scratch []byte // encodes an entry without a Line

	// sent counts the messages and bytes (framing included) handed to
	// the kernel, for tests.
	sentMessages, sentBytes uint64
	closed                  bool
}

var (
	_ core.Sink     = (*Syslog)(nil)
	_ core.Encoding = (*Syslog)(nil)
)

// NewSyslog returns a Syslog sink configured by opts. It checks opts and
// fills in the defaults, but does not connect: the first Write does.
func NewSyslog(opts SyslogOptions) (*Syslog, error) {
	s := &Syslog{network: opts.Network, address: opts.Address, framing: opts.Framing, tls: opts.TLS}
	if s.network == "" {
		s.network = "tcp"
	}
	switch s.network {
	case "tcp", "tcp4", "tcp6", "unix":
		s.stream = true
	case "udp", "udp4", "udp6", "unixgram":
	default:
		return nil, fmt.Errorf("sinks: syslog: Network must be tcp, tcp4, tcp6, udp, udp4, udp6, unix or unixgram, got %q", opts.Network)
	}
	if err := checkSyslogAddress(s.network, opts.Address); err != nil {
		return nil, err
	}
	switch {
	case opts.TLS != nil && !strings.HasPrefix(s.network, "tcp"):
		return nil, fmt.Errorf("sinks: syslog: TLS needs a tcp Network, got %q", s.network)
	case opts.Framing > LFDelimited:
		return nil, fmt.Errorf("sinks: syslog: Framing must be OctetCounting or LFDelimited, got %v", opts.Framing)
	case opts.TLS != nil && opts.Framing != OctetCounting:
		return nil, errors.New("sinks: syslog: TLS requires OctetCounting Framing (RFC 5425)")
	case opts.DialTimeout < 0:
		return nil, fmt.Errorf("sinks: syslog: DialTimeout must be >= 0, got %v", opts.DialTimeout)
	case opts.Facility > format.MaxFacility:
		return nil, fmt.Errorf("sinks: syslog: Facility must be at most %d (local7), got %d", format.MaxFacility, opts.Facility)
	}
	s.dialer.Timeout = opts.DialTimeout
	if s.dialer.Timeout == 0 {
		s.dialer.Timeout = DefaultSyslogDialTimeout
	}

	enc := format.Syslog{Facility: opts.Facility, BOM: opts.UTF8BOM}
	var err error
	if enc.Hostname, err = syslogHeader("Hostname", opts.Hostname, format.MaxHostnameLen, defaultHostname); err != nil {
		return nil, err
	}
	if enc.AppName, err = syslogHeader("AppName", opts.AppName, format.MaxAppNameLen, defaultAppName); err != nil {
		return nil, err
	}
	if enc.ProcID, err = syslogHeader("ProcID", opts.ProcID, format.MaxProcIDLen, defaultProcID); err != nil {
		return nil, err
	}
	if enc.MsgID, err = syslogHeader("MsgID", opts.MsgID, format.MaxMsgIDLen, nil); err != nil {
		return nil, err
	}
	if enc.SDID, err = checkSDID(opts.SDID); err != nil {
		return nil, err
	}

	size := opts.MaxMessageSize
	switch {
	case size < 0:
		return nil, fmt.Errorf("sinks: syslog: MaxMessageSize must be >= 0, got %d", size)
	case size == 0 && !s.stream:
		size = DefaultSyslogDatagramSize
	}
	if size > 0 {
		if least := max(minSyslogMessageSize, syslogOverhead(enc)); size < least {
			return nil, fmt.Errorf("sinks: syslog: MaxMessageSize must be at least %d (RFC 5426's minimum and this header), got %d", least, size)
		}
		if strings.HasPrefix(s.network, "udp") && size > maxUDPPayload {
			return nil, fmt.Errorf("sinks: syslog: MaxMessageSize must be at most %d over UDP (the largest datagram IPv4 carries), got %d", maxUDPPayload, size)
		}
		enc.MaxSize = size
		if !s.stream {
			s.max = size
		}
	}
	s.enc = enc
	return s, nil
}

// checkSyslogAddress checks that address can be dialled on network.
func checkSyslogAddress(network, address string) error {
	if address == "" {
		return errors.New("sinks: syslog: Address must not be empty")
	}
	if strings.HasPrefix(network, "unix") {
		return nil
	}
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("sinks: syslog: Address must be host:port for %s: %w", network, err)
	}
	if host == "" {
		return fmt.Errorf("sinks: syslog: Address %q has no host", address)
	}
	if n, err := strconv.Atoi(port); err == nil && (n < 1 || n > 65535) {
		return fmt.Errorf("sinks: syslog: Address %q has a port outside 1-65535", address)
	} else if err != nil && port == "" {
		return fmt.Errorf("sinks: syslog: Address %q has no port", address)
	}
	return nil
}

// syslogHeader returns the value to send for a header field: the default
// (sanitised, cut to length) when v is empty, "" for the NILVALUE, or v
// once checked.
func syslogHeader(name, v string, maxLen int, def func() string) (string, error) {
	switch v {
	case "":
		if def == nil {
			return "", nil
		}
		return sanitizeHeader(def(), maxLen), nil
	case "-":
		return "", nil
	}
	if len(v) > maxLen {
		return "", fmt.Errorf("sinks: syslog: %s must be at most %d characters, got %d", name, maxLen, len(v))
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 33 || c > 126 {
			return "", fmt.Errorf("sinks: syslog: %s must be printable US-ASCII without spaces (RFC 5424), got %q", name, v)
		}
	}
	return v, nil
}

// sanitizeHeader makes a default header value valid: bytes outside
// printable US-ASCII become '_', and it is cut to maxLen.
func sanitizeHeader(v string, maxLen int) string {
	b := []byte(v)
	if len(b) > maxLen {
		b = b[:maxLen]
	}
	for i, c := range b {
		if c < 33 || c > 126 {
			b[i] = '_'
		}
	}
	return string(b)
}

func defaultHostname() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
}

func defaultAppName() string {
	if len(os.Args) == 0 {
		return ""
	}
	return filepath.Base(os.Args[0])
}

func defaultProcID() string { return strconv.Itoa(os.Getpid()) }

// checkSDID returns the SD-ID to encode with: "" (the default), "-", or
// a valid private SD-ID, name@number with the number's parts dotted.
func checkSDID(id string) (string, error) {
	if id == "" || id == "-" {
		return id, nil
	}
	bad := func(why string) error {
		return fmt.Errorf("sinks: syslog: SDID must be name@enterprise-number (RFC 5424, section 7.2.2), %s, got %q", why, id)
	}
	if len(id) > format.MaxSDNameLen {
		return "", bad(fmt.Sprintf("at most %d characters", format.MaxSDNameLen))
	}
	name, num, ok := strings.Cut(id, "@")
	if !ok {
		return "", bad("and unregistered names need the @ (those without are IANA's)")
	}
	if name == "" {
		return "", bad("with a name before the @")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 33 || c > 126 || c == '=' || c == ']' || c == '"' || c == '@' {
			return "", bad("with a name of printable US-ASCII other than =, ], \" and @")
		}
	}
	for _, part := range strings.Split(num, ".") {
		if part == "" || strings.Trim(part, "0123456789") != "" {
			return "", bad("with a number of digits and dots after the @")
		}
	}
	return id, nil
}

// syslogOverhead is the longest a message of enc can be without its
// structured data's parameters and MSG: the header with the longest PRI
// and timestamp, and the element's brackets and SD-ID.
func syslogOverhead(enc format.Syslog) int {
	const pri, stamp = len("<191>1 "), len("2006-01-02T15:04:05.000000+00:00")
	n := pri + stamp
	for _, f := range []string{enc.Hostname, enc.AppName, enc.ProcID, enc.MsgID} {
		n += 1 + max(len(f), 1)
	}
	sd := len(format.DefaultSDID)
	if enc.SDID != "" {
		sd = len(enc.SDID)
	}
	return n + 1 + sd + 2
}

// Encoder returns the sink's format.Syslog.
func (s *Syslog) Encoder() core.Encoder { return s.enc }

// Write sends the batch, connecting first if needed; see Syslog.
func (s *Syslog) Write(ctx context.Context, batch []core.Entry) (int, error) {
	if s.closed {
		return 0, ErrClosed
	}
	if len(batch) == 0 {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("sinks: syslog: %w", err)
	}
	if err := s.connect(ctx); err != nil {
		return 0, err
	}
	stop := s.watch(ctx)
	var n int
	var err error
	if s.stream {
		n, err = s.writeStream(batch)
	} else {
		n, err = s.writeDatagrams(batch)
	}
	deadlined := stop()
	if cap(s.scratch) > maxRetainedBuffer {
		s.scratch = nil // one huge record does not pin its memory
	}
	if err == nil {
		return n, nil
	}
	var big *oversizeError
	if !errors.As(err, &big) {
		// The stream may hold part of a frame, or the socket an error:
		// start afresh on the next Write.
		s.drop()
	}
	switch cerr := ctx.Err(); {
	case cerr != nil && !errors.Is(err, cerr):
		return n, fmt.Errorf("sinks: syslog: %w: %w", cerr, err)
	case cerr == nil && deadlined && errors.Is(err, os.ErrDeadlineExceeded):
		// The connection's deadline, ctx's, passed a moment before ctx's
		// own timer fired.
		return n, fmt.Errorf("sinks: syslog: %w: %w", context.DeadlineExceeded, err)
	}
	return n, fmt.Errorf("sinks: syslog: %w", err)
}

// connect makes sure there is a connection the receiver has not closed.
func (s *Syslog) connect(ctx context.Context) error {
	if s.conn != nil {
		if peerOpen(s.conn) {
			return nil
		}
		s.drop()
	}
	var conn net.Conn
	var err error
	if s.tls != nil {
		d := tls.Dialer{NetDialer: &s.dialer, Config: s.tls}
		conn, err = d.DialContext(ctx, s.network, s.address)
	} else {
		conn, err = s.dialer.DialContext(ctx, s.network, s.address)
	}
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			return fmt.Errorf("sinks: syslog: %w: %w", ctx.Err(), err)
		}
		return fmt.Errorf("sinks: syslog: %w", err)
	}
	s.conn = conn
	return nil
}

// drop closes the connection, if any; the next Write dials again.
func (s *Syslog) drop() {
	if s.conn != nil {
		_ = s.conn.Close()
		s.conn = nil
	}
}

// watch gives the connection ctx's deadline (clearing an earlier one)
// and, when ctx can be cancelled, interrupts a blocked write when it is.
// The function it returns must be called once the write is over; it
// reports whether a deadline from ctx was set.
func (s *Syslog) watch(ctx context.Context) (stop func() bool) {
	d, hasDeadline := ctx.Deadline()
	_ = s.conn.SetWriteDeadline(d) // the zero time clears it
	if ctx.Done() == nil {
		return func() bool { return hasDeadline }
	}
	conn := s.conn
	fired := make(chan struct{})
	stopFunc := context.AfterFunc(ctx, func() {
		defer close(fired)
		_ = conn.SetWriteDeadline(time.Unix(1, 0)) // long past: the write returns
	})
	return func() bool {
		if !stopFunc() {
			<-fired // it ran, or is running: let it finish before the next Write sets a deadline
		}
		return hasDeadline
	}
}

// writeStream sends the batch's frames, copied into one buffer, with one
// write per maxChunk bytes (a larger frame alone). It returns the number
// of frames written completely.
func (s *Syslog) writeStream(batch []core.Entry) (written int, err error) {
	buf, ends := s.buf[:0], s.ends[:0]
	defer func() { s.keep(buf, ends) }()
	for i := range batch {
		msg := s.message(&batch[i])
		if len(buf) > 0 && len(buf)+len(msg)+12 > maxChunk {
			k, err := s.writeChunk(buf, ends)
			if written += k; err != nil {
				return written, err
			}
			buf, ends = buf[:0], ends[:0]
		}
		if s.framing == OctetCounting {
			buf = strconv.AppendInt(buf, int64(len(msg)), 10)
			buf = append(buf, ' ')
			buf = append(buf, msg...)
		} else {
			buf = append(buf, msg...)
			buf = append(buf, '\n')
		}
		ends = append(ends, len(buf))
	}
	k, err := s.writeChunk(buf, ends)
	return written + k, err
}

func (s *Syslog) writeChunk(p []byte, ends []int) (int, error) {
	n, err := s.conn.Write(p)
	s.sentBytes += uint64(n)
	k := len(ends)
	if err != nil {
		k = completeRecords(ends, n)
	}
	s.sentMessages += uint64(k)
	return k, err
}

// keep stores the scratch slices for the next batch, unless they grew too
// large to be worth keeping.
func (s *Syslog) keep(buf []byte, ends []int) {
	s.buf, s.ends = nil, nil
	if cap(buf) <= maxRetainedBuffer {
		s.buf = buf[:0]
	}
	if cap(ends) <= maxRetainedEntries {
		s.ends = ends[:0]
	}
}

// maxUDPPayload is the largest UDP payload over IPv4: 65535 less the
// IP and UDP headers.
const maxUDPPayload = 65507

// oversizeError reports a message longer than a datagram may be: longer
// than MaxMessageSize (a Line made elsewhere: the sink's own encoder cuts
// messages to size), or than the socket takes (EMSGSIZE).
type oversizeError struct {
	size, max int
	sys       error // the socket's refusal (EMSGSIZE), or nil
}

func (e *oversizeError) Error() string {
	if e.sys != nil {
		return fmt.Sprintf("message of %d bytes is larger than the socket sends in one datagram: %v", e.size, e.sys)
	}
	return fmt.Sprintf("message of %d bytes exceeds MaxMessageSize %d", e.size, e.max)
}

// Unwrap says the message alone cannot be sent (core.ErrRejected): the
// engine writes the entries after it at once.
func (e *oversizeError) Unwrap() error { return core.ErrRejected }

// writeDatagrams sends one datagram per message.
func (s *Syslog) writeDatagrams(batch []core.Entry) (int, error) {
	for i := range batch {
		msg := s.message(&batch[i])
		if len(msg) > s.max {
			return i, &oversizeError{len(msg), s.max, nil}
		}
		if _, err := s.conn.Write(msg); err != nil {
			if errors.Is(err, syscall.EMSGSIZE) {
				// Larger than the socket takes in one datagram (a Unix
				// datagram socket's send buffer, say): this message can
				// never be sent, and the socket is fine.
				return i, &oversizeError{len(msg), s.max, err}
			}
			return i, err
		}
		s.sentMessages++
		s.sentBytes += uint64(len(msg))
	}
	return len(batch), nil
}

// message returns the entry's message without the encoder's '\n',
// encoding the event when the entry has no Line.
func (s *Syslog) message(en *core.Entry) []byte {
	line := en.Line
	if line == nil {
		s.scratch = s.enc.Append(s.scratch[:0], en.Event)
		line = s.scratch
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	return line
}

// Flush returns nil, or ErrClosed after Close: Write keeps nothing back.
func (s *Syslog) Flush(context.Context) error {
	if s.closed {
		return ErrClosed
	}
	return nil
}

// Close closes the connection. A second Close returns ErrClosed.
func (s *Syslog) Close(context.Context) error {
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	var err error
	if s.conn != nil {
		if cerr := s.conn.Close(); cerr != nil {
			err = fmt.Errorf("sinks: syslog: close: %w", cerr)
		}
		s.conn = nil
	}
	s.buf, s.ends, s.scratch = nil, nil, nil
	return err
}
