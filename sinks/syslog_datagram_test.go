package sinks_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/sinktest"
)

// A datagram MaxMessageSize larger than UDP carries (65507 bytes) is
// refused: the messages the sink would make at that size could never be
// sent. Mutation caught: no bound (NewSyslog took 100 000, and a 70 KB
// event failed with EMSGSIZE, taking the rest of its batch with it).
func TestSyslogRefusesADatagramSizeUDPCannotCarry(t *testing.T) {
	srv := newSyslogServer(t, "udp")
	opts := srv.options()
	opts.MaxMessageSize = 100_000
	s, err := sinks.NewSyslog(opts)
	require.Nil(t, s)
	require.EqualError(t, err, "sinks: syslog: MaxMessageSize must be at most 65507 over UDP (the largest datagram IPv4 carries), got 100000")
}

// A datagram the socket refuses as too large (EMSGSIZE: here a Unix
// datagram socket, whose limit is its send buffer, about 208 KiB on
// Linux) is rejected alone (core.ErrRejected), and the socket stays: the
// entries after it are written by the next Write. Mutation caught:
// EMSGSIZE returned as a plain error (the engine then retried and failed
// the rest of the batch with it, and the sink dropped its connection).
func TestSyslogRejectsADatagramTheSocketRefuses(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Unix datagram limit this relies on is Linux's")
	}
	srv := newSyslogServer(t, "unixgram")
	opts := srv.options()
	opts.MaxMessageSize = 1 << 20
	s, err := sinks.NewSyslog(opts)
	require.NoError(t, err)
	defer s.Close(bg)
	evs := sinktest.Events(3)
	evs[1].Message = strings.Repeat("m", 512<<10)
	batch := entriesFor(s, evs)
	n, err := s.Write(bg, batch)
	require.Equal(t, 1, n)
	require.ErrorIs(t, err, core.ErrRejected)
	n, err = s.Write(bg, batch[2:])
	require.NoError(t, err)
	require.Equal(t, 1, n)
}
