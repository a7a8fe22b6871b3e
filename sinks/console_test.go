package sinks_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
	"github.com/shardlog/shardlog/sinks/sinktest"
)

func TestNewConsoleValidates(t *testing.T) {
	w, err := sinks.NewConsole(sinks.ConsoleOptions{Stream: 7})
	require.EqualError(t, err, "sinks: console: Stream must be Stdout or Stderr, got Stream(7)")
	require.Nil(t, w)
}

func TestConsoleConformance(t *testing.T) {
	for _, tc := range []struct {
		name   string
		enc    core.Encoder
		format sinktest.Format
	}{
		{"Text", nil, sinktest.RawLines},
		{"JSON", format.JSON{}, sinktest.JSONLines},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sinktest.Run(t, func(t *testing.T) (core.Sink, func() []string) {
				f, err := os.Create(filepath.Join(t.TempDir(), "console"))
				require.NoError(t, err)
				t.Cleanup(func() { f.Close() })
				w, err := sinks.NewConsole(sinks.ConsoleOptions{Encoder: tc.enc, Out: f})
				require.NoError(t, err)
				return w, func() []string { return sinktest.ReadLines(t, f.Name()) }
			}, sinktest.WithFormat(tc.format))
		})
	}
}

func TestConsoleDefaultsToText(t *testing.T) {
	w, err := sinks.NewConsole(sinks.ConsoleOptions{})
	require.NoError(t, err)
	require.Equal(t, core.Encoder(format.Text{}), w.Encoder())
}

// TestConsoleStreams swaps the process's standard streams for a pipe, so
// it must not run in parallel with other tests.
func TestConsoleStreams(t *testing.T) {
	for _, tc := range []struct {
		stream sinks.Stream
		std    **os.File
	}{
		{sinks.Stderr, &os.Stderr},
		{sinks.Stdout, &os.Stdout},
	} {
		t.Run(tc.stream.String(), func(t *testing.T) {
			r, pw, err := os.Pipe()
			require.NoError(t, err)
			defer r.Close()
			saved := *tc.std
			*tc.std = pw
			w, err := sinks.NewConsole(sinks.ConsoleOptions{Stream: tc.stream})
			*tc.std = saved // the stream is resolved by NewConsole
			require.NoError(t, err)

			evs := sinktest.Events(2)
			n, err := w.Write(bg, sinktest.Entries(w, evs))
			require.NoError(t, err)
			require.Equal(t, 2, n)
			require.NoError(t, w.Flush(bg), "Flush must not fail on a pipe, which cannot be synced")
			require.NoError(t, w.Close(bg))

			// Close left the stream open.
			_, err = pw.Write([]byte("after close\n"))
			require.NoError(t, err)
			require.NoError(t, pw.Close())
			out, err := io.ReadAll(r)
			require.NoError(t, err)
			want := string(format.Text{}.Append(nil, &evs[0])) + string(format.Text{}.Append(nil, &evs[1])) + "after close\n"
			require.Equal(t, want, string(out))
		})
	}
}

// TestConsoleFlushDoesNotSync: Out's Flush is called, its Sync is not.
func TestConsoleFlushDoesNotSync(t *testing.T) {
	sf := &syncFlusher{Writer: io.Discard}
	w, err := sinks.NewConsole(sinks.ConsoleOptions{Out: sf})
	require.NoError(t, err)
	require.NoError(t, w.Flush(bg))
	require.NoError(t, w.Close(bg))
	require.Equal(t, []string{"Flush", "Flush"}, sf.calls)
	require.False(t, sf.closed)
}
