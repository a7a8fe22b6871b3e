package sinks

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
)

// The syslog sink's encoding scratch (for entries without a Line) is not
// kept past maxRetainedBuffer: one 8 MiB record does not pin 8 MiB for
// the sink's life. Mutation caught: no trim (8 396 800 bytes kept).
func TestSyslogScratchDoesNotPinOneHugeRecord(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_, _ = io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	s, err := NewSyslog(SyslogOptions{Address: ln.Addr().String(), Hostname: "h", AppName: "a", ProcID: "1"})
	require.NoError(t, err)
	defer s.Close(context.Background())

	huge := core.Event{Level: core.LevelInfo, Message: strings.Repeat("x", 8<<20)}
	small := core.Event{Level: core.LevelInfo, Message: "small"}
	for _, ev := range []*core.Event{&huge, &small} {
		n, err := s.Write(context.Background(), []core.Entry{{Event: ev}})
		require.NoError(t, err)
		require.Equal(t, 1, n)
	}
	require.LessOrEqual(t, cap(s.scratch), maxRetainedBuffer, "one 8 MiB record pins its buffer for the life of the sink")
}
