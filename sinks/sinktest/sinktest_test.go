package sinktest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
	"github.com/shardlog/shardlog/sinks/sinktest"
)

// bufSink is a reference sink over a bytes.Buffer. Its flaws, each off by
// default, are the mistakes the suite exists to catch.
type bufSink struct {
	enc    core.Encoder
	buf    bytes.Buffer
	closed bool

	retain       bool // keeps the batch and writes it on Flush
	pending      []core.Entry
	ignoreClose  bool // keeps working after Close
	miscount     bool // reports one entry fewer than it wrote
	hangOnCancel bool // blocks forever on a cancelled context
	sheds        bool // attempts nothing: returns 0 and core.ErrNotAttempted
}

func (s *bufSink) Encoder() core.Encoder { return s.enc }

func (s *bufSink) Write(ctx context.Context, batch []core.Entry) (int, error) {
	if s.closed && !s.ignoreClose {
		return 0, sinks.ErrClosed
	}
	if len(batch) == 0 {
		return 0, nil
	}
	if s.hangOnCancel && ctx.Err() != nil {
		select {}
	}
	if s.sheds {
		return 0, fmt.Errorf("shedding: %w", core.ErrNotAttempted)
	}
	if s.retain {
		s.pending = append(s.pending, batch...)
		return len(batch), nil
	}
	s.put(batch)
	if s.miscount {
		return len(batch) - 1, nil
	}
	return len(batch), nil
}

func (s *bufSink) put(batch []core.Entry) {
	for _, e := range batch {
		if e.Line != nil {
			s.buf.Write(e.Line)
		} else {
			s.buf.Write(s.enc.Append(nil, e.Event))
		}
	}
}

func (s *bufSink) Flush(context.Context) error {
	if s.closed && !s.ignoreClose {
		return sinks.ErrClosed
	}
	s.put(s.pending)
	s.pending = nil
	return nil
}

func (s *bufSink) Close(ctx context.Context) error {
	if s.closed && !s.ignoreClose {
		return sinks.ErrClosed
	}
	err := s.Flush(ctx)
	s.closed = true
	return err
}

// rawMessage encodes only the message, unescaped: hostile input splits
// its records.
type rawMessage struct{}

func (rawMessage) Append(dst []byte, e *core.Event) []byte {
	return append(append(dst, e.Message...), '\n')
}

func factory(newSink func() *bufSink) sinktest.Factory {
	return func(t *testing.T) (core.Sink, func() []string) {
		s := newSink()
		return s, func() []string { return sinktest.SplitLines(s.buf.Bytes()) }
	}
}

func TestRunPassesReferenceSink(t *testing.T) {
	for _, tc := range []struct {
		name   string
		enc    core.Encoder
		format sinktest.Format
	}{
		{"JSON", format.JSON{}, sinktest.JSONLines},
		{"Text", format.Text{}, sinktest.RawLines},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sinktest.Run(t, factory(func() *bufSink { return &bufSink{enc: tc.enc} }), sinktest.WithFormat(tc.format))
		})
	}
}

func TestRunPassesMemory(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) (core.Sink, func() []string) {
		m := sinks.NewMemory(sinks.MemoryOptions{})
		return m, m.Lines
	}, sinktest.WithFormat(sinktest.JSONLines))
}

// broken lists flawed sinks with the subtests that must catch each flaw.
var broken = []struct {
	name     string
	sink     func() *bufSink
	opts     []sinktest.Option
	mustFail []string
}{
	{
		name:     "Retains",
		sink:     func() *bufSink { return &bufSink{enc: format.JSON{}, retain: true} },
		mustFail: []string{"DoesNotRetainBatch"},
	},
	{
		name:     "IgnoresClose",
		sink:     func() *bufSink { return &bufSink{enc: format.JSON{}, ignoreClose: true} },
		mustFail: []string{"WriteAfterCloseReturnsErrClosed", "FlushAfterCloseReturnsErrClosed"},
	},
	{
		name:     "Miscounts",
		sink:     func() *bufSink { return &bufSink{enc: format.JSON{}, miscount: true} },
		mustFail: []string{"WriteReturnsCountOfBatch", "OrderIsPreserved"},
	},
	{
		name:     "HangsOnCancel",
		sink:     func() *bufSink { return &bufSink{enc: format.JSON{}, hangOnCancel: true} },
		opts:     []sinktest.Option{sinktest.WithTimeout(50 * time.Millisecond)},
		mustFail: []string{"HonoursCancelledContext"},
	},
	{
		name:     "Sheds",
		sink:     func() *bufSink { return &bufSink{enc: format.JSON{}, sheds: true} },
		mustFail: []string{"WriteReturnsCountOfBatch", "OrderIsPreserved"},
	},
	{
		name:     "SplitsRecords",
		sink:     func() *bufSink { return &bufSink{enc: rawMessage{}} },
		mustFail: []string{"HostileInput"},
	},
	{
		name:     "InvalidJSON",
		sink:     func() *bufSink { return &bufSink{enc: format.Text{}} },
		opts:     []sinktest.Option{sinktest.WithFormat(sinktest.JSONLines)},
		mustFail: []string{"WriteReturnsCountOfBatch"},
	},
}

// TestBrokenSinks runs the suite against the broken sinks; it is run only
// as a child process of TestRunCatchesBrokenSinks, since its subtests are
// meant to fail.
func TestBrokenSinks(t *testing.T) {
	if os.Getenv("SINKTEST_BROKEN") != "1" {
		t.Skip("run by TestRunCatchesBrokenSinks")
	}
	for _, b := range broken {
		t.Run(b.name, func(t *testing.T) {
			sinktest.Run(t, factory(b.sink), b.opts...)
		})
	}
}

func TestRunCatchesBrokenSinks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenSinks$", "-test.v")
	cmd.Env = append(os.Environ(), "SINKTEST_BROKEN=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the broken sinks passed:\n%s", out)
	for _, b := range broken {
		for _, name := range b.mustFail {
			want := "--- FAIL: TestBrokenSinks/" + b.name + "/" + name + " "
			require.True(t, strings.Contains(string(out), want), "the suite did not catch %s in %s; output:\n%s", b.name, name, out)
		}
	}
	require.Contains(t, string(out), "did not attempt", "a shedding sink is named as such")
}

func TestSkip(t *testing.T) {
	var ran []string
	sinktest.Run(t, func(t *testing.T) (core.Sink, func() []string) {
		ran = append(ran, t.Name())
		m := sinks.NewMemory(sinks.MemoryOptions{})
		return m, m.Lines
	}, sinktest.Skip("LargeEvent", "HostileInput"))
	require.Len(t, ran, len(sinktest.Names())-2)
	for _, name := range ran {
		require.NotContains(t, name, "LargeEvent")
		require.NotContains(t, name, "HostileInput")
	}
}

func TestEventsAreDeterministic(t *testing.T) {
	a, b := sinktest.Events(12), sinktest.Events(12)
	require.Equal(t, a, b)
	for i, e := range a {
		require.Equal(t, sinktest.Message(i), e.Message)
	}
	require.Greater(t, len(a[4].Fields()), core.InlineFields, "event 4 spills its fields")
	require.NotNil(t, a[2].Scope)
}

func TestEntriesEncodeForEncodingSinks(t *testing.T) {
	evs := sinktest.Events(2)
	withEnc := sinktest.Entries(&bufSink{enc: format.JSON{}}, evs)
	require.Equal(t, format.JSON{}.Append(nil, &evs[0]), withEnc[0].Line)
	require.Same(t, &evs[1], withEnc[1].Event)

	noEnc := sinktest.Entries(noEncoding{}, evs)
	require.Nil(t, noEnc[0].Line)
}

type noEncoding struct{}

func (noEncoding) Write(context.Context, []core.Entry) (int, error) { return 0, nil }
func (noEncoding) Flush(context.Context) error                      { return nil }
func (noEncoding) Close(context.Context) error                      { return nil }

func TestSplitLines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a\n", []string{"a"}},
		{"a\nb\n", []string{"a", "b"}},
		{"a\nb", []string{"a", "b"}},
		{"\n", []string{""}},
	} {
		require.Equal(t, tc.want, sinktest.SplitLines([]byte(tc.in)), "SplitLines(%q)", tc.in)
	}
}
