package main

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
)

// discardSink is a core.Sink that counts what it is given and writes it
// nowhere: -sink discard measures the engine without a destination.
//
// It implements core.Encoding with the file sink's encoder, so the engine
// encodes every event as it does for -sink file; comparing the two runs
// isolates the cost of the file I/O.
//
// The engine calls Write, Flush and Close from one goroutine at a time.
// Events and Bytes may be read from any goroutine. After Close every
// method returns sinks.ErrClosed.
type discardSink struct {
	events atomic.Uint64
	bytes  atomic.Uint64
	closed bool // the writer goroutine's alone
}

var (
	_ core.Sink     = (*discardSink)(nil)
	_ core.Encoding = (*discardSink)(nil)
)

// Encoder returns format.JSON{}, the file sink's default.
func (d *discardSink) Encoder() core.Encoder { return format.JSON{} }

// Write counts the batch and its encoded bytes.
func (d *discardSink) Write(ctx context.Context, batch []core.Entry) (int, error) {
	if d.closed {
		return 0, sinks.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("loadgen: discard: %w", err)
	}
	var n uint64
	for i := range batch {
		n += uint64(len(batch[i].Line))
	}
	d.bytes.Add(n)
	d.events.Add(uint64(len(batch)))
	return len(batch), nil
}

// Flush has nothing to flush.
func (d *discardSink) Flush(context.Context) error {
	if d.closed {
		return sinks.ErrClosed
	}
	return nil
}

// Close marks the sink closed; the counts stay readable.
func (d *discardSink) Close(context.Context) error {
	if d.closed {
		return sinks.ErrClosed
	}
	d.closed = true
	return nil
}

// Events is the number of events written.
func (d *discardSink) Events() uint64 { return d.events.Load() }

// Bytes is the number of encoded bytes written.
func (d *discardSink) Bytes() uint64 { return d.bytes.Load() }
