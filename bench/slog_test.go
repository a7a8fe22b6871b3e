package bench

import (
	"context"
	"log/slog"

	"github.com/shardlog/shardlog"
)

// slogPeer is the standard library's log/slog with its JSON handler
// writing straight to the destination, logging with LogAttrs (slog's form
// that allocates least). A log call formats on the caller's goroutine and
// writes under the handler's mutex; there is nothing to deliver.
var slogPeer = peer{
	name:      "slog",
	lossless:  true,
	exactLoss: true,
	format: format{
		timeKey: "time", levelKey: "level", level: "INFO", msgKey: "msg",
		took: nanosInt, // slog writes a time.Duration as integer nanoseconds
		when: rfc3339Nanos,
	},
	build: newSlog,
}

func newSlog(out *lineCounter) (*subject, error) {
	l := slog.New(slog.NewJSONHandler(out, nil))
	ctx := context.Background()
	return &subject{
		out: out,
		log: func(i int) {
			l.LogAttrs(ctx, slog.LevelInfo, eventMessage, slog.String("method", eventMethod),
				slog.Int("status", eventStatus), slog.Duration("took", eventTook), slog.Int("bytes", i),
				slog.Bool("cached", eventCached))
		},
		deliver: func() error { return nil },
		lost:    func() int64 { return 0 },
		close:   func() {},
	}, nil
}

// slogShardlogPeer is log/slog's front end with shardlog's handler behind
// it (shardlog.NewHandler over an engine with the defaults but Block, so
// that it is lossless and runs in BenchmarkCapacity): what code written
// against log/slog pays when it switches handlers. The call builds the
// slog.Record on the caller's goroutine, as with any handler, and the
// handler copies its attributes into a slot of the engine's ring; the
// flushers encode, as for shardlog's own API.
var slogShardlogPeer = peer{
	name:      "slog-shardlog-block",
	lossless:  true,
	exactLoss: true,
	format:    shardlogFormat,
	build:     newSlogShardlog,
}

func newSlogShardlog(out *lineCounter) (*subject, error) {
	s, e, err := newShardlogEngine(out, shardlog.LockFree, shardlog.Block)
	if err != nil {
		return nil, err
	}
	l := slog.New(shardlog.NewHandler(e.Logger(), nil))
	ctx := context.Background()
	s.log = func(i int) {
		l.LogAttrs(ctx, slog.LevelInfo, eventMessage, slog.String("method", eventMethod),
			slog.Int("status", eventStatus), slog.Duration("took", eventTook), slog.Int("bytes", i),
			slog.Bool("cached", eventCached))
	}
	return s, nil
}
