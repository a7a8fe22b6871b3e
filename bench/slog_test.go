package bench

import (
	"context"
	"log/slog"
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
