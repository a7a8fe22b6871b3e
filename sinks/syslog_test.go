package sinks_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
	"github.com/shardlog/shardlog/sinks/sinktest"
)

func TestNewSyslogValidates(t *testing.T) {
	ok := sinks.SyslogOptions{Address: "127.0.0.1:514"}
	with := func(f func(o *sinks.SyslogOptions)) sinks.SyslogOptions {
		o := ok
		f(&o)
		return o
	}
	for _, tc := range []struct {
		name string
		opts sinks.SyslogOptions
		want string
	}{
		{"NoAddress", sinks.SyslogOptions{}, "sinks: syslog: Address must not be empty"},
		{"BadNetwork", with(func(o *sinks.SyslogOptions) { o.Network = "ip" }), `sinks: syslog: Network must be tcp, tcp4, tcp6, udp, udp4, udp6, unix or unixgram, got "ip"`},
		{"NoPort", with(func(o *sinks.SyslogOptions) { o.Address = "localhost" }), "sinks: syslog: Address must be host:port for tcp: address localhost: missing port in address"},
		{"EmptyPort", with(func(o *sinks.SyslogOptions) { o.Address = "localhost:" }), `sinks: syslog: Address "localhost:" has no port`},
		{"NoHost", with(func(o *sinks.SyslogOptions) { o.Network, o.Address = "udp", ":514" }), `sinks: syslog: Address ":514" has no host`},
		{"PortRange", with(func(o *sinks.SyslogOptions) { o.Address = "h:70000" }), `sinks: syslog: Address "h:70000" has a port outside 1-65535`},
		{"TLSOverUDP", with(func(o *sinks.SyslogOptions) { o.Network, o.TLS = "udp", &tls.Config{} }), `sinks: syslog: TLS needs a tcp Network, got "udp"`},
		{"TLSWithLF", with(func(o *sinks.SyslogOptions) { o.TLS, o.Framing = &tls.Config{}, sinks.LFDelimited }), "sinks: syslog: TLS requires OctetCounting Framing (RFC 5425)"},
		{"BadFraming", with(func(o *sinks.SyslogOptions) { o.Framing = 7 }), "sinks: syslog: Framing must be OctetCounting or LFDelimited, got Framing(7)"},
		{"NegativeDialTimeout", with(func(o *sinks.SyslogOptions) { o.DialTimeout = -time.Second }), "sinks: syslog: DialTimeout must be >= 0, got -1s"},
		{"Facility", with(func(o *sinks.SyslogOptions) { o.Facility = 24 }), "sinks: syslog: Facility must be at most 23 (local7), got 24"},
		{"HostnameSpace", with(func(o *sinks.SyslogOptions) { o.Hostname = "my host" }), `sinks: syslog: Hostname must be printable US-ASCII without spaces (RFC 5424), got "my host"`},
		{"HostnameLong", with(func(o *sinks.SyslogOptions) { o.Hostname = strings.Repeat("h", 256) }), "sinks: syslog: Hostname must be at most 255 characters, got 256"},
		{"AppNameLong", with(func(o *sinks.SyslogOptions) { o.AppName = strings.Repeat("a", 49) }), "sinks: syslog: AppName must be at most 48 characters, got 49"},
		{"AppNameUnicode", with(func(o *sinks.SyslogOptions) { o.AppName = "appé" }), `sinks: syslog: AppName must be printable US-ASCII without spaces (RFC 5424), got "appé"`},
		{"ProcIDLong", with(func(o *sinks.SyslogOptions) { o.ProcID = strings.Repeat("1", 129) }), "sinks: syslog: ProcID must be at most 128 characters, got 129"},
		{"MsgIDLong", with(func(o *sinks.SyslogOptions) { o.MsgID = strings.Repeat("m", 33) }), "sinks: syslog: MsgID must be at most 32 characters, got 33"},
		{"MsgIDControl", with(func(o *sinks.SyslogOptions) { o.MsgID = "a\nb" }), `sinks: syslog: MsgID must be printable US-ASCII without spaces (RFC 5424), got "a\nb"`},
		{"SDIDUnqualified", with(func(o *sinks.SyslogOptions) { o.SDID = "fields" }), `sinks: syslog: SDID must be name@enterprise-number (RFC 5424, section 7.2.2), and unregistered names need the @ (those without are IANA's), got "fields"`},
		{"SDIDNoName", with(func(o *sinks.SyslogOptions) { o.SDID = "@32473" }), `sinks: syslog: SDID must be name@enterprise-number (RFC 5424, section 7.2.2), with a name before the @, got "@32473"`},
		{"SDIDBadNumber", with(func(o *sinks.SyslogOptions) { o.SDID = "a@12x" }), `sinks: syslog: SDID must be name@enterprise-number (RFC 5424, section 7.2.2), with a number of digits and dots after the @, got "a@12x"`},
		{"SDIDEmptyPart", with(func(o *sinks.SyslogOptions) { o.SDID = "a@1..2" }), `sinks: syslog: SDID must be name@enterprise-number (RFC 5424, section 7.2.2), with a number of digits and dots after the @, got "a@1..2"`},
		{"SDIDTwoAts", with(func(o *sinks.SyslogOptions) { o.SDID = "a@b@1" }), `sinks: syslog: SDID must be name@enterprise-number (RFC 5424, section 7.2.2), with a number of digits and dots after the @, got "a@b@1"`},
		{"SDIDBadName", with(func(o *sinks.SyslogOptions) { o.SDID = "a]b@1" }), `sinks: syslog: SDID must be name@enterprise-number (RFC 5424, section 7.2.2), with a name of printable US-ASCII other than =, ], " and @, got "a]b@1"`},
		{"SDIDLong", with(func(o *sinks.SyslogOptions) { o.SDID = strings.Repeat("s", 30) + "@123" }), `sinks: syslog: SDID must be name@enterprise-number (RFC 5424, section 7.2.2), at most 32 characters, got "` + strings.Repeat("s", 30) + `@123"`},
		{"NegativeSize", with(func(o *sinks.SyslogOptions) { o.MaxMessageSize = -1 }), "sinks: syslog: MaxMessageSize must be >= 0, got -1"},
		{"SmallSize", with(func(o *sinks.SyslogOptions) { o.MaxMessageSize = 479 }), "sinks: syslog: MaxMessageSize must be at least 480 (RFC 5426's minimum and this header), got 479"},
		{"SizeBelowHeader", with(func(o *sinks.SyslogOptions) {
			o.Hostname, o.AppName, o.ProcID, o.MaxMessageSize = strings.Repeat("h", 255), strings.Repeat("a", 48), strings.Repeat("p", 128), 490
		}), "sinks: syslog: MaxMessageSize must be at least 492 (RFC 5426's minimum and this header), got 490"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sinks.NewSyslog(tc.opts)
			require.EqualError(t, err, tc.want)
			require.Nil(t, s)
		})
	}
}

func TestNewSyslogFillsDefaults(t *testing.T) {
	s, err := sinks.NewSyslog(sinks.SyslogOptions{Address: "127.0.0.1:514"})
	require.NoError(t, err)
	host, err := os.Hostname()
	require.NoError(t, err)
	require.Equal(t, format.Syslog{
		Hostname: host,
		AppName:  filepath.Base(os.Args[0]),
		ProcID:   strconv.Itoa(os.Getpid()),
	}, s.Encoder(), "stream: no size limit, facility user, default SD-ID")

	s, err = sinks.NewSyslog(sinks.SyslogOptions{Network: "udp", Address: "127.0.0.1:514",
		Hostname: "-", AppName: "-", ProcID: "-", MsgID: "AUDIT", SDID: "-", Facility: format.FacilityLocal3, UTF8BOM: true})
	require.NoError(t, err)
	require.Equal(t, format.Syslog{Facility: format.FacilityLocal3, MsgID: "AUDIT", SDID: "-", BOM: true, MaxSize: 2048}, s.Encoder(),
		"datagram: 2048 bytes; '-' asks for the NILVALUE")

	s, err = sinks.NewSyslog(sinks.SyslogOptions{Network: "unixgram", Address: "/dev/log", MaxMessageSize: 8192, SDID: "app@1.2"})
	require.NoError(t, err)
	require.Equal(t, 8192, s.Encoder().(format.Syslog).MaxSize)
	require.Equal(t, "app@1.2", s.Encoder().(format.Syslog).SDID)
}

// entriesFor returns the batch the engine would hand s for evs.
func entriesFor(s core.Sink, evs []core.Event) []core.Entry { return sinktest.Entries(s, evs) }

// encodedFor returns the messages s's encoder makes of evs, without '\n'.
func encodedFor(s core.Encoding, evs []core.Event) []string {
	out := make([]string, len(evs))
	for i := range evs {
		out[i] = strings.TrimSuffix(string(s.Encoder().Append(nil, &evs[i])), "\n")
	}
	return out
}

func TestSyslogSendsExactBytes(t *testing.T) {
	evs := sinktest.Events(3)
	evs[1].Message = `quote " bracket ] backslash \ newline` + "\n"
	evs[1].AddField(core.String("v", `a"b]c\d`))
	for _, tc := range []struct {
		network string
		framing sinks.Framing
		frame   func(msg string) string // "" for datagrams
	}{
		{"tcp", sinks.OctetCounting, func(m string) string { return strconv.Itoa(len(m)) + " " + m }},
		{"tcp", sinks.LFDelimited, func(m string) string { return m + "\n" }},
		{"tls", sinks.OctetCounting, func(m string) string { return strconv.Itoa(len(m)) + " " + m }},
		{"unix", sinks.OctetCounting, func(m string) string { return strconv.Itoa(len(m)) + " " + m }},
		{"unix", sinks.LFDelimited, func(m string) string { return m + "\n" }},
		{"udp", 0, nil},
		{"unixgram", 0, nil},
	} {
		t.Run(tc.network+"/"+tc.framing.String(), func(t *testing.T) {
			srv := newSyslogServer(t, tc.network)
			opts := srv.options()
			opts.Framing = tc.framing
			s, err := sinks.NewSyslog(opts)
			require.NoError(t, err)
			defer s.Close(bg)
			want := encodedFor(s, evs)
			require.Equal(t,
				`<15>1 2025-03-14T15:09:26.536897Z host app 42 - [shardlog@32473 logger="sinktest" seq="1" user="alice" even="false" took="1µs" ratio="0.25" v="a\"b\]c\\d"] quote " bracket ] backslash \ newline\n`,
				want[1], "the encoder's message, checked here once")
			n, err := s.Write(bg, entriesFor(s, evs))
			require.NoError(t, err)
			require.Equal(t, 3, n)
			srv.wait(s)
			if tc.frame == nil {
				require.Equal(t, want, srv.messages(0))
				return
			}
			got := srv.streams()
			var stream string
			for _, m := range want {
				stream += tc.frame(m)
			}
			require.Equal(t, [][]byte{[]byte(stream)}, got, "one connection holding exactly the frames")
		})
	}
}

func TestSyslogEncodesEntriesWithoutLine(t *testing.T) {
	srv := newSyslogServer(t, "tcp")
	s, err := sinks.NewSyslog(srv.options())
	require.NoError(t, err)
	defer s.Close(bg)
	evs := sinktest.Events(6)
	batch := entriesFor(s, evs)
	for i := range batch {
		if i%2 == 0 {
			batch[i].Line = nil
		}
	}
	n, err := s.Write(bg, batch)
	require.NoError(t, err)
	require.Equal(t, 6, n)
	srv.wait(s)
	require.Equal(t, encodedFor(s, evs), srv.messages(sinks.OctetCounting))
}

// A batch larger than one write (256 KiB) is written in several, each on
// a frame boundary, and arrives whole.
func TestSyslogWritesLargeBatches(t *testing.T) {
	srv := newSyslogServer(t, "tcp")
	s, err := sinks.NewSyslog(srv.options())
	require.NoError(t, err)
	defer s.Close(bg)
	evs := sinktest.Events(300)
	for i := range evs {
		evs[i].Message = sinktest.Message(i) + " " + strings.Repeat("x", 3000)
	}
	evs[150].Message = sinktest.Message(150) + " " + strings.Repeat("y", 600<<10) // larger than a write alone
	n, err := s.Write(bg, entriesFor(s, evs))
	require.NoError(t, err)
	require.Equal(t, 300, n)
	srv.wait(s)
	require.Equal(t, encodedFor(s, evs), srv.messages(sinks.OctetCounting))
	require.Equal(t, 1, srv.accepted())
}

func TestSyslogCutsDatagramsToMaxMessageSize(t *testing.T) {
	for _, network := range []string{"udp", "unixgram"} {
		t.Run(network, func(t *testing.T) {
			srv := newSyslogServer(t, network)
			opts := srv.options()
			opts.MaxMessageSize = 600
			s, err := sinks.NewSyslog(opts)
			require.NoError(t, err)
			defer s.Close(bg)
			evs := sinktest.Events(2)
			evs[0].Message = strings.Repeat("é", 1000)
			n, err := s.Write(bg, entriesFor(s, evs))
			require.NoError(t, err)
			require.Equal(t, 2, n)
			srv.wait(s)
			got := srv.messages(0)
			require.Len(t, got, 2)
			full := format.Syslog{Hostname: "host", AppName: "app", ProcID: "42"}.Append(nil, &evs[0])
			require.Greater(t, len(full), 2000)
			require.Contains(t, []int{599, 600}, len(got[0]), "cut at 600 bytes, or one less not to split an é")
			require.Equal(t, string(full[:len(got[0])]), got[0])
			require.True(t, utf8.ValidString(got[0]))
			require.Equal(t, encodedFor(s, evs)[1], got[1])
		})
	}
}

// A Line longer than a datagram may be (not one the sink's encoder made:
// it cuts to size) is rejected alone (core.ErrRejected): the entries
// after it go with the next Write, and the connection is kept. Mutation
// caught: the oversize error without Unwrap (under the engine the entries
// after it were retried and failed with it).
func TestSyslogRefusesOversizedDatagram(t *testing.T) {
	srv := newSyslogServer(t, "udp")
	s, err := sinks.NewSyslog(srv.options())
	require.NoError(t, err)
	defer s.Close(bg)
	evs := sinktest.Events(3)
	batch := entriesFor(s, evs)
	batch[1].Line = []byte(strings.Repeat("x", 3000) + "\n")
	n, err := s.Write(bg, batch)
	require.EqualError(t, err, "sinks: syslog: message of 3000 bytes exceeds MaxMessageSize 2048")
	require.ErrorIs(t, err, core.ErrRejected)
	require.Equal(t, 1, n)
	n, err = s.Write(bg, batch[2:])
	require.NoError(t, err)
	require.Equal(t, 1, n)
	srv.wait(s)
	want := encodedFor(s, evs)
	require.Equal(t, []string{want[0], want[2]}, srv.messages(0))
}

// The receiver closes the connection between two batches: the next Write
// sees it and reconnects, and nothing is lost or sent twice.
func TestSyslogReconnectsWhenTheServerCloses(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			srv := newSyslogServer(t, network)
			s, err := sinks.NewSyslog(srv.options())
			require.NoError(t, err)
			defer s.Close(bg)
			evs := sinktest.Events(9)
			for round := range 3 {
				n, err := s.Write(bg, entriesFor(s, evs[3*round:3*round+3]))
				require.NoError(t, err, "round %d", round)
				require.Equal(t, 3, n)
				srv.wait(s)
				srv.dropConns()
			}
			require.Equal(t, 3, srv.accepted(), "one connection per round")
			require.Equal(t, encodedFor(s, evs), srv.messages(sinks.OctetCounting))
		})
	}
}

// The receiver goes away: Writes fail (nothing written) until it is back,
// and the next Write after that connects again.
func TestSyslogReconnectsAfterFailedWrites(t *testing.T) {
	srv := newSyslogServer(t, "unix")
	s, err := sinks.NewSyslog(srv.options())
	require.NoError(t, err)
	defer s.Close(bg)
	evs := sinktest.Events(4)
	n, err := s.Write(bg, entriesFor(s, evs[:1]))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	srv.wait(s)

	srv.stop()
	for range 2 {
		n, err = s.Write(bg, entriesFor(s, evs[1:2]))
		require.ErrorIs(t, err, syscall.ENOENT)
		require.ErrorContains(t, err, "sinks: syslog: dial unix "+srv.addr)
		require.Zero(t, n)
	}

	srv.start()
	n, err = s.Write(bg, entriesFor(s, evs[2:]))
	require.NoError(t, err)
	require.Equal(t, 2, n)
	srv.wait(s)
	want := encodedFor(s, evs)
	require.Equal(t, []string{want[0], want[2], want[3]}, srv.messages(sinks.OctetCounting))
}

// blockedReceiver accepts connections and never reads from them; each
// accepted connection is sent on the channel.
func blockedReceiver(t *testing.T) (addr string, conns <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ch := make(chan net.Conn, 8)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			ch <- c
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String(), ch
}

// largeEvents returns n events with messages of size bytes: enough to fill
// a loopback connection's buffers.
func largeEvents(n, size int) []core.Event {
	evs := sinktest.Events(n)
	for i := range evs {
		evs[i].Message = sinktest.Message(i) + " " + strings.Repeat("x", size)
	}
	return evs
}

// A Write to a receiver that stops reading returns when ctx ends (its
// deadline, or its cancellation), reports exactly the frames that got
// through, and the next Write starts a fresh connection.
func TestSyslogWriteHonoursContext(t *testing.T) {
	for _, tc := range endingContexts {
		t.Run(tc.name, func(t *testing.T) {
			addr, conns := blockedReceiver(t)
			s, err := sinks.NewSyslog(sinks.SyslogOptions{Address: addr, Hostname: "h"})
			require.NoError(t, err)
			defer s.Close(bg)
			evs := largeEvents(257, 128<<10) // 32 MiB
			batch := entriesFor(s, evs)
			// Connect first, so that ctx is spent writing.
			n, err := s.Write(bg, batch[:1])
			require.NoError(t, err)
			require.Equal(t, 1, n)

			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			n, err = s.Write(ctx, batch[1:])
			took := time.Since(start)
			require.ErrorIs(t, err, tc.want)
			require.ErrorIs(t, err, os.ErrDeadlineExceeded)
			require.Less(t, n, len(evs)-1)
			require.GreaterOrEqual(t, took, 90*time.Millisecond)
			require.Less(t, took, 5*time.Second)

			// The sink dropped the connection; what it had handed to the
			// kernel arrives, and holds exactly n complete frames after
			// the first batch's.
			data := readToEOF(t, <-conns)
			got, rest, err := splitFrames(data, sinks.OctetCounting)
			require.NoError(t, err)
			require.Equal(t, encodedFor(s, evs[:1+n]), got)
			require.NotEmpty(t, rest, "the frame cut short")

			// A Write without a deadline is not failed by the old one.
			n, err = s.Write(bg, entriesFor(s, evs[:1]))
			require.NoError(t, err)
			require.Equal(t, 1, n)
			want := framed(encodedFor(s, evs[:1])[0])
			require.Equal(t, want, string(drainUntil(<-conns, len(want))), "on a new connection")
		})
	}
}

// readToEOF reads c until the other end closes it.
func readToEOF(t *testing.T, c net.Conn) []byte {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	data, err := io.ReadAll(c)
	require.NoError(t, err)
	return data
}

func framed(msg string) string { return strconv.Itoa(len(msg)) + " " + msg }

// Dialling honours ctx and DialTimeout: here a TLS receiver that accepts
// the TCP connection and never answers the handshake.
func TestSyslogDialHonoursContext(t *testing.T) {
	addr, _ := blockedReceiver(t)
	_, client := testTLSConfigs(t)
	t.Run("Context", func(t *testing.T) {
		s, err := sinks.NewSyslog(sinks.SyslogOptions{Address: addr, TLS: client})
		require.NoError(t, err)
		defer s.Close(bg)
		ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		n, err := s.Write(ctx, entriesFor(s, sinktest.Events(1)))
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Zero(t, n)
		require.Less(t, time.Since(start), 5*time.Second)
	})
	t.Run("DialTimeout", func(t *testing.T) {
		s, err := sinks.NewSyslog(sinks.SyslogOptions{Address: addr, TLS: client, DialTimeout: 100 * time.Millisecond})
		require.NoError(t, err)
		defer s.Close(bg)
		start := time.Now()
		n, err := s.Write(bg, entriesFor(s, sinktest.Events(1)))
		require.Error(t, err)
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		require.True(t, ne.Timeout(), "%v", err)
		require.Zero(t, n)
		require.Less(t, time.Since(start), 5*time.Second)
	})
}

func TestSyslogAfterClose(t *testing.T) {
	srv := newSyslogServer(t, "tcp")
	s, err := sinks.NewSyslog(srv.options())
	require.NoError(t, err)
	_, err = s.Write(bg, entriesFor(s, sinktest.Events(1)))
	require.NoError(t, err)
	require.NoError(t, s.Close(bg))
	n, err := s.Write(bg, entriesFor(s, sinktest.Events(1)))
	require.ErrorIs(t, err, sinks.ErrClosed)
	require.Zero(t, n)
	require.ErrorIs(t, s.Flush(bg), sinks.ErrClosed)
	require.ErrorIs(t, s.Close(bg), sinks.ErrClosed)
	// Close closed the connection: the server sees its end.
	srv.wait(s)
	srv.waitEnded(1)
	require.Equal(t, 1, srv.accepted())
}

func TestSyslogConformance(t *testing.T) {
	for _, tc := range []struct {
		network string
		framing sinks.Framing
		skip    []string
	}{
		{"tcp", sinks.OctetCounting, nil},
		{"tcp", sinks.LFDelimited, nil},
		{"tls", sinks.OctetCounting, nil},
		{"unix", sinks.OctetCounting, nil},
		// A datagram holds at most MaxMessageSize bytes: the 1 MiB
		// message is cut, as documented.
		{"udp", 0, []string{"LargeEvent"}},
		{"unixgram", 0, []string{"LargeEvent"}},
	} {
		t.Run(tc.network+"/"+tc.framing.String(), func(t *testing.T) {
			sinktest.Run(t, func(t *testing.T) (core.Sink, func() []string) {
				srv := newSyslogServer(t, tc.network)
				opts := srv.options()
				opts.Framing = tc.framing
				s, err := sinks.NewSyslog(opts)
				require.NoError(t, err)
				return s, func() []string {
					srv.wait(s)
					return srv.messages(tc.framing)
				}
			}, sinktest.Skip(tc.skip...))
		})
	}
}

// The sink under a whole engine: events logged are framed, in order, and
// counted written.
func TestSyslogThroughEngine(t *testing.T) {
	srv := newSyslogServer(t, "tcp")
	s, err := sinks.NewSyslog(srv.options())
	require.NoError(t, err)
	e, err := shardlog.New(shardlog.WithSink(s, shardlog.SinkName("syslog")))
	require.NoError(t, err)
	const n = 500
	log := e.Logger().Named("api")
	for i := range n {
		log.Warn("request", shardlog.Int("i", i))
	}
	ctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	rep, err := e.Shutdown(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(n), rep.Sinks[0].Written)
	srv.wait(s)
	msgs := srv.messages(sinks.OctetCounting)
	require.Len(t, msgs, n)
	for i, m := range msgs {
		require.Regexp(t, `^<12>1 \S+ host app 42 - \[shardlog@32473 logger="api" i="`+strconv.Itoa(i)+`"\] request$`, m)
	}
}
