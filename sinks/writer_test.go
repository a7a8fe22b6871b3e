package sinks_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
	"github.com/shardlog/shardlog/sinks/sinktest"
)

var bg = context.Background()

func TestNewWriterValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		w    io.Writer
		enc  core.Encoder
		want string
	}{
		{"NilWriter", nil, format.Text{}, "sinks: writer: w must not be nil"},
		{"NilEncoder", io.Discard, nil, "sinks: writer: core.Encoder must not be nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := sinks.NewWriter(tc.w, tc.enc)
			require.EqualError(t, err, tc.want)
			require.Nil(t, w)
		})
	}
}

func TestWriterConformance(t *testing.T) {
	t.Run("Buffer", func(t *testing.T) {
		sinktest.Run(t, func(t *testing.T) (core.Sink, func() []string) {
			var buf bytes.Buffer
			w, err := sinks.NewWriter(&buf, format.Text{})
			require.NoError(t, err)
			return w, func() []string { return sinktest.SplitLines(buf.Bytes()) }
		})
	})
	t.Run("OSFile", func(t *testing.T) {
		sinktest.Run(t, func(t *testing.T) (core.Sink, func() []string) {
			f, err := os.Create(filepath.Join(t.TempDir(), "out.log"))
			require.NoError(t, err)
			t.Cleanup(func() { f.Close() })
			w, err := sinks.NewWriter(f, format.JSON{})
			require.NoError(t, err)
			return w, func() []string { return sinktest.ReadLines(t, f.Name()) }
		}, sinktest.WithFormat(sinktest.JSONLines))
	})
}

// lines returns n records of size bytes each, "\n" included, numbered so
// that each is distinct.
func lines(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		l := fmt.Appendf(nil, "%06d ", i)
		l = append(l, bytes.Repeat([]byte{'.'}, size-len(l)-1)...)
		out[i] = append(l, '\n')
	}
	return out
}

// adjacent returns ls as slices of one buffer, end to end, as the engine
// hands a Writer the lines of one pipeline batch.
func adjacent(ls [][]byte) [][]byte {
	buf := bytes.Join(ls, nil)
	out := make([][]byte, len(ls))
	for i, l := range ls {
		out[i], buf = buf[:len(l)], buf[len(l):]
	}
	return out
}

func entries(ls [][]byte) []core.Entry {
	evs := sinktest.Events(len(ls))
	batch := make([]core.Entry, len(ls))
	for i := range batch {
		batch[i] = core.Entry{Event: &evs[i], Line: ls[i]}
	}
	return batch
}

// failingWriter accepts the first ok bytes it is given in all, records
// each call, and then fails.
type failingWriter struct {
	ok    int
	err   error // nil: a short write without an error
	calls [][]byte
}

func (w *failingWriter) Write(p []byte) (int, error) {
	w.calls = append(w.calls, bytes.Clone(p))
	if len(p) <= w.ok {
		w.ok -= len(p)
		return len(p), nil
	}
	n := w.ok
	w.ok = 0
	return n, w.err
}

func TestWriterCountsCompleteRecordsOnFailure(t *testing.T) {
	errBroken := errors.New("broken")
	small := lines(3, 10) // records end at 10, 20, 30
	big := lines(5, 100<<10)
	for _, tc := range []struct {
		name  string
		lines [][]byte
		ok    int
		err   error
		want  int
	}{
		{"NothingWritten", small, 0, errBroken, 0},
		{"InsideFirst", small, 5, errBroken, 0},
		{"EndOfFirst", small, 10, errBroken, 1},
		{"InsideLast", small, 29, errBroken, 2},
		{"ShortWithoutError", small, 15, nil, 1},
		// 100 KiB records: three chunks of 2, 2 and 1 records; the second
		// chunk fails inside its second record.
		{"SecondChunk", big, 3 * 100 << 10, errBroken, 3},
	} {
		for _, mode := range []string{"lines", "adjacent", "encoded"} {
			encoded := mode == "encoded"
			t.Run(fmt.Sprintf("%s/%s", tc.name, mode), func(t *testing.T) {
				fw := &failingWriter{ok: tc.ok, err: tc.err}
				batch := entries(tc.lines)
				if mode == "adjacent" {
					batch = entries(adjacent(tc.lines))
				}
				enc := lineEncoder{}
				if encoded {
					// The same bytes, made by the Writer's encoder.
					enc = lineEncoder(tc.lines)
					for i := range batch {
						batch[i].Line = nil
						batch[i].Event.Mono = int64(i)
					}
				}
				w, err := sinks.NewWriter(fw, enc)
				require.NoError(t, err)
				n, err := w.Write(bg, batch)
				require.Equal(t, tc.want, n)
				if tc.err != nil {
					require.ErrorIs(t, err, tc.err)
				} else {
					require.ErrorIs(t, err, io.ErrShortWrite)
				}
				require.ErrorContains(t, err, "sinks: writer: ")
			})
		}
	}
}

// lineEncoder encodes the event whose Mono is i as its record i.
type lineEncoder [][]byte

func (l lineEncoder) Append(dst []byte, e *core.Event) []byte { return append(dst, l[e.Mono]...) }

func TestWriterWritesOneCallPerBatch(t *testing.T) {
	fw := &failingWriter{ok: 1 << 30}
	w, err := sinks.NewWriter(fw, format.Text{})
	require.NoError(t, err)
	ls := lines(100, 200)
	n, err := w.Write(bg, entries(ls))
	require.NoError(t, err)
	require.Equal(t, 100, n)
	require.Len(t, fw.calls, 1)
	require.Equal(t, bytes.Join(ls, nil), fw.calls[0])
}

// aliasWriter records where each call's bytes live.
type aliasWriter struct{ first []*byte }

func (w *aliasWriter) Write(p []byte) (int, error) {
	w.first = append(w.first, &p[0])
	return len(p), nil
}

// Lines that lie end to end in one buffer (the engine's encodings of one
// pipeline batch) are written in one call straight from that buffer;
// lines merely next to each other in memory, but not within one slice's
// capacity, as two allocations can be, are copied. Mutations caught: an
// adjacency test on addresses alone (the second case would reslice past
// the first line's capacity), and no adjacent path at all.
func TestWriterWritesAdjacentLinesWithoutCopying(t *testing.T) {
	ls := adjacent(lines(50, 120))
	aw := &aliasWriter{}
	w, err := sinks.NewWriter(aw, format.Text{})
	require.NoError(t, err)
	n, err := w.Write(bg, entries(ls))
	require.NoError(t, err)
	require.Equal(t, 50, n)
	require.Len(t, aw.first, 1, "one call")
	require.Same(t, &ls[0][0], aw.first[0], "written from the caller's buffer")

	buf := bytes.Join(lines(2, 10), nil)
	split := [][]byte{buf[0:10:10], buf[10:20]} // adjacent addresses, capacity ends at the first
	aw.first = nil
	fw := &failingWriter{ok: 1 << 30}
	for _, dst := range []io.Writer{aw, fw} {
		w, err := sinks.NewWriter(dst, format.Text{})
		require.NoError(t, err)
		n, err := w.Write(bg, entries(split))
		require.NoError(t, err)
		require.Equal(t, 2, n)
	}
	require.Len(t, aw.first, 1)
	require.NotSame(t, &buf[0], aw.first[0], "copied: the first line's capacity does not cover the second")
	require.Equal(t, [][]byte{buf}, fw.calls)
}

func TestWriterSplitsLargeBatchesOnRecordBoundaries(t *testing.T) {
	ls := lines(40, 30<<10) // 1.2 MiB in all
	for _, encoded := range []bool{false, true} {
		t.Run(fmt.Sprintf("encoded=%v", encoded), func(t *testing.T) {
			fw := &failingWriter{ok: 1 << 30}
			batch := entries(ls)
			if encoded {
				for i := range batch {
					batch[i].Line = nil
					batch[i].Event.Mono = int64(i)
				}
			}
			w, err := sinks.NewWriter(fw, lineEncoder(ls))
			require.NoError(t, err)
			n, err := w.Write(bg, batch)
			require.NoError(t, err)
			require.Equal(t, len(ls), n)
			require.Greater(t, len(fw.calls), 1)
			for _, c := range fw.calls {
				require.LessOrEqual(t, len(c), 256<<10)
				require.Equal(t, byte('\n'), c[len(c)-1], "a write ends inside a record")
			}
			require.Equal(t, bytes.Join(ls, nil), bytes.Join(fw.calls, nil))
		})
	}
}

func TestWriterEncodesEntriesWithoutLine(t *testing.T) {
	var buf bytes.Buffer
	w, err := sinks.NewWriter(&buf, format.JSON{})
	require.NoError(t, err)
	evs := sinktest.Events(3)
	batch := []core.Entry{
		{Event: &evs[0], Line: []byte("engine line\n")},
		{Event: &evs[1]},
		{Event: &evs[2], Line: []byte("another\n")},
	}
	n, err := w.Write(bg, batch)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	want := "engine line\n" + string(format.JSON{}.Append(nil, &evs[1])) + "another\n"
	require.Equal(t, want, buf.String())
}

// syncFlusher records the order of Flush and Sync calls.
type syncFlusher struct {
	io.Writer
	calls   []string
	syncErr error
	closed  bool
}

func (s *syncFlusher) Flush() error { s.calls = append(s.calls, "Flush"); return nil }
func (s *syncFlusher) Sync() error  { s.calls = append(s.calls, "Sync"); return s.syncErr }
func (s *syncFlusher) Close() error { s.closed = true; return nil }

func TestWriterFlush(t *testing.T) {
	errDisk := errors.New("disk on fire")
	for _, tc := range []struct {
		name    string
		syncErr error
		want    error
	}{
		{"FlushesThenSyncs", nil, nil},
		{"IgnoresEINVAL", fmt.Errorf("sync /dev/stderr: %w", syscall.EINVAL), nil},
		{"IgnoresUnsupported", errors.ErrUnsupported, nil},
		{"ReportsSyncError", errDisk, errDisk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sf := &syncFlusher{Writer: io.Discard, syncErr: tc.syncErr}
			w, err := sinks.NewWriter(sf, format.Text{})
			require.NoError(t, err)
			err = w.Flush(bg)
			if tc.want == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.want)
				require.ErrorContains(t, err, "sinks: writer: sync: ")
			}
			require.Equal(t, []string{"Flush", "Sync"}, sf.calls)
		})
	}
}

func TestWriterFlushWithDoneContextSkipsSync(t *testing.T) {
	sf := &syncFlusher{Writer: io.Discard}
	w, err := sinks.NewWriter(sf, format.Text{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	require.ErrorIs(t, w.Flush(ctx), context.Canceled)
	require.Empty(t, sf.calls)
}

func TestWriterCloseLeavesWOpen(t *testing.T) {
	sf := &syncFlusher{Writer: io.Discard}
	w, err := sinks.NewWriter(sf, format.Text{})
	require.NoError(t, err)
	require.NoError(t, w.Close(bg))
	require.False(t, sf.closed, "Close closed the caller's writer")
	require.Equal(t, []string{"Flush", "Sync"}, sf.calls, "Close flushes")
	require.ErrorIs(t, w.Close(bg), sinks.ErrClosed, "second Close")
}

// TestWriterZeroAllocs checks the steady state of the engine's use: every
// entry has its Line.
func TestWriterZeroAllocs(t *testing.T) {
	batch := entries(lines(64, 120))
	t.Run("Buffer", func(t *testing.T) {
		var buf bytes.Buffer
		w, err := sinks.NewWriter(&buf, format.Text{})
		require.NoError(t, err)
		allocs := testing.AllocsPerRun(100, func() {
			buf.Reset()
			if _, err := w.Write(bg, batch); err != nil {
				panic(err)
			}
		})
		require.Zero(t, allocs)
	})
	t.Run("OSFile", func(t *testing.T) {
		f, err := os.Create(filepath.Join(t.TempDir(), "out.log"))
		require.NoError(t, err)
		defer f.Close()
		w, err := sinks.NewWriter(f, format.Text{})
		require.NoError(t, err)
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := w.Write(bg, batch); err != nil {
				panic(err)
			}
		})
		require.Zero(t, allocs)
	})
	t.Run("TCP", func(t *testing.T) {
		client, server := tcpPair(t)
		go io.Copy(io.Discard, server)
		w, err := sinks.NewWriter(client, format.Text{})
		require.NoError(t, err)
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := w.Write(bg, batch); err != nil {
				panic(err)
			}
		})
		require.Zero(t, allocs)
	})
}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	s := <-accepted
	require.NotNil(t, s)
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func TestWriterVectoredOverTCP(t *testing.T) {
	client, server := tcpPair(t)
	w, err := sinks.NewWriter(client, lineEncoder(lines(10, 50)))
	require.NoError(t, err)

	ls := lines(10, 50)
	batch := entries(ls)
	for i := range batch {
		batch[i].Event.Mono = int64(i)
		if i%3 == 0 {
			batch[i].Line = nil // encoded by the Writer, between engine lines
		}
	}
	n, err := w.Write(bg, batch)
	require.NoError(t, err)
	require.Equal(t, 10, n)

	got := make([]byte, 10*50)
	_, err = io.ReadFull(server, got)
	require.NoError(t, err)
	require.Equal(t, bytes.Join(ls, nil), got)
}

// TestWriterHonoursDeadline blocks a Writer on a destination nobody
// reads, then checks that it returns at ctx's deadline, counts exactly
// the records that got through, and drops the deadline afterwards.
func TestWriterHonoursDeadline(t *testing.T) {
	for _, tc := range []struct {
		name string
		// pair returns the end to write, the end to read and the bytes to
		// write to fill it.
		pair func(t *testing.T) (io.Writer, io.Reader, int)
	}{
		{"Pipe", func(t *testing.T) (io.Writer, io.Reader, int) {
			r, w, err := os.Pipe()
			require.NoError(t, err)
			t.Cleanup(func() { r.Close(); w.Close() })
			return w, r, 1 << 20
		}},
		{"TCP", func(t *testing.T) (io.Writer, io.Reader, int) {
			c, s := tcpPair(t)
			require.NoError(t, c.SetWriteBuffer(64<<10))
			require.NoError(t, s.SetReadBuffer(64<<10))
			return c, s, 8 << 20
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst, src, size := tc.pair(t)
			w, err := sinks.NewWriter(dst, format.Text{})
			require.NoError(t, err)
			ls := lines(size/1000, 1000) // records straddle the kernel's buffer sizes
			batch := entries(ls)
			ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			n, err := w.Write(ctx, batch)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.ErrorIs(t, err, os.ErrDeadlineExceeded)
			require.Less(t, n, len(ls))
			require.Less(t, time.Since(start), 5*time.Second)

			// Read what got through; it must hold n complete records.
			got := drain(t, src)
			require.Equal(t, n, bytes.Count(got, []byte{'\n'}), "records counted as written")
			require.True(t, bytes.HasPrefix(bytes.Join(ls, nil), got))

			// A write without a deadline is not failed by the old one.
			done := make(chan []byte)
			go func() { done <- drainUntil(src, 10*1000) }()
			more := lines(10, 1000)
			n, err = w.Write(bg, entries(more))
			require.NoError(t, err)
			require.Equal(t, 10, n)
			require.Len(t, <-done, 10*1000)
		})
	}
}

// drain reads what src holds now, stopping when nothing more comes for a
// moment.
func drain(t *testing.T, src io.Reader) []byte {
	t.Helper()
	type deadliner interface{ SetReadDeadline(time.Time) error }
	d := src.(deadliner)
	var got []byte
	buf := make([]byte, 64<<10)
	for {
		require.NoError(t, d.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
		n, err := src.Read(buf)
		got = append(got, buf[:n]...)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			require.NoError(t, d.SetReadDeadline(time.Time{}))
			return got
		}
		require.NoError(t, err)
	}
}

func drainUntil(src io.Reader, n int) []byte {
	got := make([]byte, n)
	k, _ := io.ReadFull(src, got)
	return got[:k]
}

func TestWriterAfterClose(t *testing.T) {
	w, err := sinks.NewWriter(io.Discard, format.Text{})
	require.NoError(t, err)
	require.NoError(t, w.Close(bg))
	n, err := w.Write(bg, entries(lines(1, 10)))
	require.ErrorIs(t, err, sinks.ErrClosed)
	require.Zero(t, n)
	require.ErrorIs(t, w.Flush(bg), sinks.ErrClosed)
	require.ErrorIs(t, w.Close(bg), sinks.ErrClosed)
}

func TestWriterEncoder(t *testing.T) {
	w, err := sinks.NewWriter(io.Discard, format.JSON{})
	require.NoError(t, err)
	require.Equal(t, core.Encoder(format.JSON{}), w.Encoder())
	require.True(t, strings.HasPrefix(string(w.Encoder().Append(nil, &sinktest.Events(1)[0])), "{"))
}

// BenchmarkWriterWrite measures a batch of 64 engine-encoded records of
// 120 bytes, the steady state, per destination.
func BenchmarkWriterWrite(b *testing.B) {
	ls := lines(64, 120)
	batch := entries(ls)
	run := func(b *testing.B, dst io.Writer, reset func()) {
		w, err := sinks.NewWriter(dst, format.Text{})
		require.NoError(b, err)
		b.SetBytes(int64(len(ls) * 120))
		b.ReportAllocs()
		for b.Loop() {
			if reset != nil {
				reset()
			}
			if _, err := w.Write(bg, batch); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "records/s")
	}
	b.Run("Buffer", func(b *testing.B) {
		var buf bytes.Buffer
		run(b, &buf, buf.Reset)
	})
	b.Run("OSFile", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "out.log"))
		require.NoError(b, err)
		defer f.Close()
		run(b, f, nil)
	})
	b.Run("TCP", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(b, err)
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err == nil {
				io.Copy(io.Discard, c)
			}
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(b, err)
		defer c.Close()
		run(b, c, nil)
	})
}
