package sinks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/shardlog/shardlog/core"
)

// Limits on the memory a Writer keeps between batches.
const (
	// maxChunk bounds the bytes a Writer copies into one w.Write call. A
	// batch that encodes to more is written in several calls, each ending
	// on a record boundary; 256 KiB already amortises the system call.
	maxChunk = 256 << 10
	// maxRetainedBuffer is the largest buffer a Writer keeps for the next
	// batch. A bigger one (a single huge record) is dropped after use, so
	// one outlier does not pin its memory for the life of the sink.
	maxRetainedBuffer = 1 << 20
	// maxRetainedEntries bounds the per-entry bookkeeping kept between
	// batches, for the same reason.
	maxRetainedEntries = 1 << 14
)

// Writer is a core.Sink that writes encoded events to an io.Writer.
//
// Each batch reaches w in as few Write calls as possible: when w is a
// *net.TCPConn or *net.UnixConn the records are handed to the kernel with
// writev, without copying (net.Buffers); otherwise they are copied into
// a reused buffer and written with one w.Write per batch (several, on record
// boundaries, for a batch above 256 KiB). When a write fails partway, Write
// reports the records that reached w completely.
//
// Writer implements core.Encoding, so the engine hands it ready-encoded records;
// a core.Entry without a Line is encoded with the Writer's core.Encoder.
//
// Flush calls w's Flush() error method, if it has one (a *bufio.Writer),
// then w's Sync() error method, if it has one (an *os.File: fsync). Sync
// errors saying the destination cannot be synced (a terminal or a pipe:
// EINVAL, ENOTSUP) are ignored. To write to a file without fsync on every
// Flush, use NewFile.
//
// Context: a Writer checks ctx before each operation and returns its error,
// wrapped, when it is done. A w.Write that is already blocked cannot be
// interrupted, except on a w with SetWriteDeadline (a net.Conn, a pipe
// from os.Pipe): for those the Writer sets the write deadline to ctx's
// deadline (and clears it for a ctx without one), and a write that misses
// it fails with an error wrapping context.DeadlineExceeded. Cancelling a
// ctx without a deadline does not interrupt a blocked write.
//
// Lifecycle: Close flushes but does not close w, which belongs to the
// caller. After Close every method, Close included, returns ErrClosed.
//
// A Writer is not safe for concurrent use; the engine calls it from one
// goroutine at a time, as core.Sink requires.
type Writer struct {
	w    io.Writer
	enc  core.Encoder
	name string // the sink's name in errors: "writer", "console", "file"

	// Optional capabilities of w, looked up once at construction. The
	// owning constructor (NewFile, NewConsole) may clear or replace them.
	vectored bool // w is a socket whose net.Buffers.WriteTo is one writev
	deadline interface{ SetWriteDeadline(time.Time) error }
	flusher  interface{ Flush() error }
	syncer   interface{ Sync() error }
	closer   io.Closer // nil for NewWriter: w belongs to the caller

	// Scratch reused from batch to batch; see the max* constants.
	buf  []byte      // copied records, or records encoded here
	ends []int       // end offset of each record, to count records on a short write
	vec  [][]byte    // the vectored path's records
	out  net.Buffers // WriteTo's receiver; a field, so it does not escape per call

	deadlineSet bool // a deadline from an earlier ctx is set on w
	closed      bool
	// torn is set when a write failed inside a record: the destination
	// holds the start of it, with no newline. The next Write ends that
	// fragment with a newline first, so the record retried after it
	// starts a line of its own instead of being glued to it.
	torn bool
}

var (
	_ core.Sink     = (*Writer)(nil)
	_ core.Encoding = (*Writer)(nil)
)

// NewWriter returns a Writer that writes to w, encoding with enc the
// entries that arrive without a Line. Neither may be nil.
//
// If w has a Sync() error method, Flush calls it (see Writer). The Writer
// never closes w.
func NewWriter(w io.Writer, enc core.Encoder) (*Writer, error) {
	if w == nil {
		return nil, errors.New("sinks: writer: w must not be nil")
	}
	if enc == nil {
		return nil, errors.New("sinks: writer: core.Encoder must not be nil")
	}
	return newWriter("writer", w, enc), nil
}

func newWriter(name string, w io.Writer, enc core.Encoder) *Writer {
	sw := &Writer{w: w, enc: enc, name: name}
	switch w.(type) {
	case *net.TCPConn, *net.UnixConn:
		// Only the net package's own connections implement writev behind
		// net.Buffers; for any other writer (an *os.File included) WriteTo
		// makes one Write per record, worse than one copy and one Write.
		sw.vectored = true
	}
	sw.deadline, _ = w.(interface{ SetWriteDeadline(time.Time) error })
	sw.flusher, _ = w.(interface{ Flush() error })
	sw.syncer, _ = w.(interface{ Sync() error })
	return sw
}

// Encoder returns the Writer's encoder.
func (w *Writer) Encoder() core.Encoder { return w.enc }

// Write writes the batch to w; see core.Sink. In the steady state, with every
// Line provided, it does not allocate.
func (w *Writer) Write(ctx context.Context, batch []core.Entry) (int, error) {
	if w.closed {
		return 0, ErrClosed
	}
	if len(batch) == 0 {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("sinks: %s: %w", w.name, err)
	}
	w.setDeadline(ctx)
	if w.torn {
		if _, err := w.w.Write(newline); err != nil {
			return 0, w.wrapWriteErr(ctx, err)
		}
		w.torn = false
	}
	var n int
	var err error
	switch run := adjacentLines(batch); {
	case run != nil:
		n, err = w.writeAdjacent(run, batch)
	case w.vectored:
		n, err = w.writeVectored(batch)
	default:
		n, err = w.writeCopied(batch)
	}
	if err != nil {
		err = w.wrapWriteErr(ctx, err)
	}
	return n, err
}

// adjacentLines returns the batch's records as one slice when every entry
// has a Line and each Line follows the one before it in the same buffer,
// as the engine's encodings of one pipeline batch do, and they fit in one
// chunk; nil otherwise. Plain reslicing: a line counts as adjacent only
// when the run's capacity covers it, so the run never leaves the buffer
// it started in.
func adjacentLines(batch []core.Entry) []byte {
	run := batch[0].Line
	if len(run) == 0 {
		return nil
	}
	for i := 1; i < len(batch); i++ {
		line := batch[i].Line
		n := len(run)
		if len(line) == 0 || cap(run)-n < len(line) || &run[:n+1][n] != &line[0] {
			return nil
		}
		run = run[:n+len(line)]
	}
	if len(run) > maxChunk {
		return nil
	}
	return run
}

// writeAdjacent writes run, the records of batch lying end to end in the
// caller's buffer (adjacentLines), in one w.Write without copying them.
func (w *Writer) writeAdjacent(run []byte, batch []core.Entry) (int, error) {
	ends, end := w.ends[:0], 0
	for i := range batch {
		end += len(batch[i].Line)
		ends = append(ends, end)
	}
	defer w.keep(w.buf, ends, nil)
	return w.writeChunk(run, ends)
}

// writeCopied copies the records into w.buf and writes it, one w.Write per
// maxChunk bytes. It returns the number of records written completely.
func (w *Writer) writeCopied(batch []core.Entry) (written int, err error) {
	buf, ends := w.buf[:0], w.ends[:0]
	defer func() { w.keep(buf, ends, nil) }()
	for i := range batch {
		start := len(buf)
		if line := batch[i].Line; line != nil {
			if start > 0 && start+len(line) > maxChunk {
				k, err := w.writeChunk(buf, ends)
				if written += k; err != nil {
					return written, err
				}
				buf, ends, start = buf[:0], ends[:0], 0
			}
			buf = append(buf, line...)
		} else {
			buf = w.enc.Append(buf, batch[i].Event)
			if start > 0 && len(buf) > maxChunk {
				// The record just encoded overflows the chunk: write
				// the records before it and move it to the front.
				k, err := w.writeChunk(buf[:start], ends)
				if written += k; err != nil {
					return written, err
				}
				buf, ends = buf[:copy(buf, buf[start:])], ends[:0]
			}
		}
		ends = append(ends, len(buf))
	}
	k, err := w.writeChunk(buf, ends)
	return written + k, err
}

// writeChunk writes p, whose records end at the offsets in ends, and
// returns how many of those records reached w completely.
func (w *Writer) writeChunk(p []byte, ends []int) (int, error) {
	if len(p) == 0 {
		return len(ends), nil
	}
	n, err := w.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err == nil {
		return len(ends), nil
	}
	return w.short(ends, n), err
}

// writeVectored hands all the records to w in one net.Buffers.WriteTo,
// which the net package turns into writev calls without copying.
func (w *Writer) writeVectored(batch []core.Entry) (int, error) {
	buf, ends, vec := w.buf[:0], w.ends[:0], w.vec[:0]
	defer func() {
		clear(vec) // keep no reference to the engine's Lines
		w.keep(buf, ends, vec)
	}()
	// Encode the entries that lack a Line first: buf may move while it
	// grows, so the records are sliced out of it only afterwards.
	for i := range batch {
		if batch[i].Line == nil {
			buf = w.enc.Append(buf, batch[i].Event)
		}
		ends = append(ends, len(buf))
	}
	total, prev := 0, 0
	for i := range batch {
		line := batch[i].Line
		if line == nil {
			line, prev = buf[prev:ends[i]], ends[i]
		}
		total += len(line)
		ends[i] = total // from here on: end offset in the whole stream
		vec = append(vec, line)
	}
	w.out = vec
	n, err := w.out.WriteTo(w.w)
	w.out = nil
	if err == nil && n < int64(total) {
		err = io.ErrShortWrite
	}
	if err == nil {
		return len(batch), nil
	}
	return w.short(ends, int(n)), err
}

// completeRecords returns how many records, ending at the ascending
// offsets in ends, lie wholly within the first n bytes.
func completeRecords(ends []int, n int) int {
	// The count of ends <= n is the index of the first end > n.
	i, _ := slices.BinarySearch(ends, n+1)
	return i
}

// short returns the records of a write that stopped after n bytes, and
// notes a record torn in two (see Writer.torn).
func (w *Writer) short(ends []int, n int) int {
	k := completeRecords(ends, n)
	prev := 0
	if k > 0 {
		prev = ends[k-1]
	}
	if n > prev {
		w.torn = true
	}
	return k
}

var newline = []byte{'\n'}

// keep stores the scratch slices for the next batch, unless a big batch or
// record made them too large to be worth keeping.
func (w *Writer) keep(buf []byte, ends []int, vec [][]byte) {
	w.buf, w.ends, w.vec = nil, nil, nil
	if cap(buf) <= maxRetainedBuffer {
		w.buf = buf[:0]
	}
	if cap(ends) <= maxRetainedEntries {
		w.ends = ends[:0]
	}
	if cap(vec) <= maxRetainedEntries {
		w.vec = vec[:0]
	}
}

// setDeadline gives w the deadline of ctx, or clears the one an earlier
// ctx set. Without a deadline on either, it costs one branch.
func (w *Writer) setDeadline(ctx context.Context) {
	if w.deadline == nil {
		return
	}
	d, ok := ctx.Deadline()
	if !ok && !w.deadlineSet {
		return
	}
	// The zero time clears the deadline.
	err := w.deadline.SetWriteDeadline(d)
	if errors.Is(err, os.ErrNoDeadline) {
		// A regular file: it never blocks for long, and never will take
		// a deadline; stop trying.
		w.deadline = nil
		return
	}
	w.deadlineSet = ok && err == nil
}

// wrapWriteErr names the sink in err and adds ctx's error to it when ctx
// is the reason the write failed.
func (w *Writer) wrapWriteErr(ctx context.Context, err error) error {
	switch {
	case w.deadlineSet && errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("sinks: %s: %w: %w", w.name, context.DeadlineExceeded, err)
	case ctx.Err() != nil && !errors.Is(err, ctx.Err()):
		return fmt.Errorf("sinks: %s: %w: %w", w.name, ctx.Err(), err)
	default:
		return fmt.Errorf("sinks: %s: %w", w.name, err)
	}
}

// Flush flushes and syncs w when it can be (see Writer). The Writer itself
// holds nothing between batches.
func (w *Writer) Flush(ctx context.Context) error {
	if w.closed {
		return ErrClosed
	}
	return w.flush(ctx)
}

func (w *Writer) flush(ctx context.Context) error {
	if w.flusher != nil {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("sinks: %s: flush: %w", w.name, err)
		}
		if err := w.flusher.Flush(); err != nil {
			return fmt.Errorf("sinks: %s: flush: %w", w.name, err)
		}
	}
	if w.syncer != nil {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("sinks: %s: sync: %w", w.name, err)
		}
		if err := w.syncer.Sync(); err != nil && !unsyncable(err) {
			return fmt.Errorf("sinks: %s: sync: %w", w.name, err)
		}
	}
	return nil
}

// unsyncable reports whether a Sync error only says that the destination
// has nothing to sync, as fsync on a terminal or pipe does.
func unsyncable(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported)
}

// Close flushes as Flush does, then closes the destination when the sink
// owns it (NewFile), never the w given to NewWriter. It releases the
// destination even when ctx is done; the flush is then skipped and ctx's
// error returned. A second Close returns ErrClosed.
func (w *Writer) Close(ctx context.Context) error {
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	err := w.flush(ctx)
	if w.closer != nil {
		if cerr := w.closer.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("sinks: %s: close: %w", w.name, cerr))
		}
	}
	w.buf, w.ends, w.vec = nil, nil, nil
	return err
}
