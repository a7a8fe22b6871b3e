package core

import (
	"context"
	"errors"
)

// ErrNotAttempted, wrapped in the error a Write returns, says that the
// entries from n on were not attempted at all: never handed to the
// destination, for a reason of the sink's own (a decorator that sheds
// load, a circuit breaker that is open), rather than tried and failed.
// The engine counts them as dropped (not-attempted) instead of failed, and
// does not count the call as a sink error. Wrap it with %w to say why.
var ErrNotAttempted = errors.New("not attempted")

// ErrPermanent, wrapped in the error a Write returns, says that the
// entries from n on failed for a reason a retry cannot cure (a receiver
// that refused them as malformed or too large: HTTP 400 or 413). The
// engine counts them failed at once instead of retrying the rest of the
// batch under the sink's retry policy; the call still counts as a sink
// error and a failure for the sink's circuit breaker.
var ErrPermanent = errors.New("permanent failure")

// ErrRejected, wrapped in the error a Write returns with n < len(batch),
// says that entry n alone cannot be written, now or ever (a record larger
// than the file's rotation size, or than a datagram can carry), while the
// sink itself works and the entries after it were not tried. The engine
// counts entry n failed and reports the error, then hands the entries
// after it to the sink at once: no retry, no backoff, and no failure for
// the sink's circuit breaker. So one bad record costs only itself, where
// any other error would fail or retry the rest of its batch with it.
var ErrRejected = errors.New("entry rejected")

// Entry is one event handed to a sink.
type Entry struct {
	// Event is the event. It is valid only until the Write call that
	// received it returns; a sink that keeps events must copy them.
	Event *Event
	// Line is the event encoded by the sink's Encoder, one record ending in
	// '\n', when the sink implements Encoding; nil otherwise. The engine
	// encodes each event once per distinct Encoder and shares the bytes
	// among sinks, so Line is read-only and valid only during Write.
	Line []byte
}

// Sink writes batches of events to a destination.
//
// Concurrency: the engine calls the methods of one sink from one goroutine
// at a time (the sink's writer), so a sink needs no locking of its own
// unless it is shared with other code. Different sinks are called
// concurrently.
//
// Ownership: the batch slice, its Events and its Lines belong to the engine
// and are reused once Write returns; a sink copies whatever it keeps.
//
// Context: ctx carries the deadline of the operation (a flush or shutdown
// deadline, or none). A sink that may block (network, full pipe) returns
// when ctx is done, with ctx.Err() wrapped in its error. Given a ctx that
// is already done, Write and Flush may return at once (0 and the wrapped
// ctx error) or complete; Close still releases the destination (file
// handle, connection) and reports the ctx error if it skipped its final
// flush. A sink never panics into the engine on purpose; the engine
// recovers panics anyway and counts them as failures.
//
// Lifecycle: the engine calls Close once, last, after a final Flush. After
// Close, Write, Flush and a second Close return an error (the core sinks
// return sinks.ErrClosed).
//
// Durability: Flush hands buffered data to the destination; a sink may
// also fsync there (the file sink does with SyncOnFlush), and documents
// whether it does.
type Sink interface {
	// Write writes the batch in order. It returns how many entries, from
	// the start of batch, reached the destination, and an error if that is
	// fewer than len(batch). The engine counts written = n and
	// failed = len(batch) - n (dropped as not-attempted instead when the
	// error wraps ErrNotAttempted); it does not retry entries on its own.
	Write(ctx context.Context, batch []Entry) (n int, err error)
	// Flush pushes buffered data to the destination (fsync is not implied).
	Flush(ctx context.Context) error
	// Close flushes and releases the destination.
	Close(ctx context.Context) error
}

// Encoder turns an event into bytes: one complete record ending in '\n'.
//
// An Encoder is immutable after construction and safe for concurrent use:
// every shard's flusher encodes with it at the same time. Append must not
// retain dst or e, must not allocate in the steady state for events of the
// basic kinds, and must produce a well-formed record for every input:
// invalid UTF-8 replaced or escaped, and no raw control character (tab
// included) anywhere but the final '\n'.
type Encoder interface {
	Append(dst []byte, e *Event) []byte
}

// Encoding is implemented by sinks that write an Encoder's output. For
// those sinks the engine fills Entry.Line, encoding each event once per
// distinct Encoder value however many sinks share it. Encoder must return
// a non-nil value, the same one on every call: the engine asks once, at
// New, and groups sinks by it.
type Encoding interface {
	Encoder() Encoder
}
