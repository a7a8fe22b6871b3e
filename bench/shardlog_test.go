package bench

import (
	"context"
	"time"

	"github.com/shardlog/shardlog"
)

// shardlogFormat is how shardlog.JSON writes the event: slog's keys, and
// durations as strings in time.Duration's form ("1.5ms").
var shardlogFormat = format{
	timeKey: "time", levelKey: "level", level: "INFO", msgKey: "msg",
	took: durationString, when: rfc3339Nanos,
}

// shardlogTimeout bounds a Block call's wait, Flush and Shutdown. It is
// far longer than any of them takes, so that Block never drops
// (block_timeout) and the Block subjects are lossless.
const shardlogTimeout = time.Minute

// shardlogPeer is shardlog with its defaults (GOMAXPROCS shards, 1024
// slots each, a 128 MiB memory budget) but for queue q and overflow
// policy p, writing JSON
// through shardlog.NewWriter: a log call copies its fields into a slot
// of its shard's ring; the flushers encode in batches and the sink's
// writer goroutine calls out.Write once per batch. Under Block a call
// waits for room (up to shardlogTimeout); under DropOldest and DropNewest
// it never waits: a full shard keeps what it evicts (DropOldest) in
// memory while the budget has room, and loses an event after. Engine.Flush delivers;
// loss is every drop in Engine.Stats, by any reason.
func shardlogPeer(q shardlog.QueueKind, p shardlog.Policy) peer {
	return peer{
		name:      "shardlog-" + q.String() + "-" + p.String(),
		lossless:  p == shardlog.Block,
		exactLoss: true,
		format:    shardlogFormat,
		build:     func(out *lineCounter) (*subject, error) { return newShardlog(out, q, p) },
	}
}

// shardlogCoalescingPeer is the defaults with write coalescing
// (WithWriteCoalescing(1ms)): a sink writer under a light input gathers
// one write per millisecond instead of writing every few events. On a
// real file that saves most write calls; this destination costs nothing
// per call, so here it shows what the option costs the callers.
var shardlogCoalescingPeer = peer{
	name:      "shardlog-lockfree-drop-oldest-coalesce-1ms",
	exactLoss: true,
	format:    shardlogFormat,
	build: func(out *lineCounter) (*subject, error) {
		return newShardlog(out, shardlog.LockFree, shardlog.DropOldest, shardlog.WithWriteCoalescing(time.Millisecond))
	},
}

func newShardlog(out *lineCounter, q shardlog.QueueKind, p shardlog.Policy, extra ...shardlog.Option) (*subject, error) {
	s, _, err := newShardlogEngine(out, q, p, extra...)
	return s, err
}

// newShardlogEngine is newShardlog returning the engine too, for
// subjects that log through another front end (slogShardlogPeer).
func newShardlogEngine(out *lineCounter, q shardlog.QueueKind, p shardlog.Policy, extra ...shardlog.Option) (*subject, *shardlog.Engine, error) {
	sink, err := shardlog.NewWriter(out, shardlog.JSON{})
	if err != nil {
		return nil, nil, err
	}
	e, err := shardlog.New(append([]shardlog.Option{shardlog.WithSink(sink), shardlog.WithQueue(q), shardlog.WithOverflow(p),
		shardlog.WithBlockTimeout(shardlogTimeout)}, extra...)...)
	if err != nil {
		return nil, nil, err
	}
	l := e.Logger()
	return &subject{
		out: out,
		log: func(i int) {
			l.Info(eventMessage, shardlog.String("method", eventMethod), shardlog.Int("status", eventStatus),
				shardlog.Duration("took", eventTook), shardlog.Int("bytes", i), shardlog.Bool("cached", eventCached))
		},
		deliver: func() error {
			ctx, cancel := context.WithTimeout(context.Background(), shardlogTimeout)
			defer cancel()
			return e.Flush(ctx)
		},
		lost: func() int64 { return int64(e.Stats().Sinks[0].Dropped.Total()) },
		close: func() {
			ctx, cancel := context.WithTimeout(context.Background(), shardlogTimeout)
			defer cancel()
			_, _ = e.Shutdown(ctx)
		},
	}, e, nil
}
