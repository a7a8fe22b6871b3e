package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/engine"
)

// The native API allocates nothing per call with up to ten fields of the
// basic kinds, enabled or not, on either queue.
func TestLogDoesNotAllocate(t *testing.T) {
	forEachQueue(t, func(t *testing.T, q engine.QueueKind) {
		e := newEngine(t, engine.WithSink(&countSink{}), engine.WithQueue(q), engine.WithCapacity(1<<14))
		log := e.Logger()
		ctxLog := log.With(
			engine.String("service", "api"), engine.String("region", "eu-west-1"), engine.Int("pid", 4242),
			engine.String("version", "1.2.3"), engine.Bool("canary", false), engine.String("host", "h1"),
			engine.Int("shard", 3), engine.String("zone", "b"), engine.Float64("weight", 0.5), engine.String("az", "1a"))
		now := time.Now()
		err := errors.New("boom")
		cases := map[string]func(){
			"static": func() { log.Info("static message") },
			"5fields": func() {
				log.Info("request", engine.String("method", "GET"), engine.Int("status", 200), engine.Duration("took", time.Millisecond), engine.Bool("ok", true), engine.Float64("ratio", 0.25))
			},
			"10fields": func() {
				log.Info("request", engine.String("method", "GET"), engine.Int("status", 200), engine.Duration("took", time.Millisecond),
					engine.Bool("ok", true), engine.Float64("ratio", 0.25), engine.Time("at", now), engine.Int64("bytes", 1<<20),
					engine.Uint64("id", 7), engine.String("path", "/v1/items"), engine.Err(err))
			},
			"context10": func() { ctxLog.Info("request", engine.Int("status", 200)) },
			"disabled":  func() { log.Debug("hidden", engine.Int("status", 200)) },
			"Log":       func() { log.Log(context.Background(), engine.LevelWarn, "warn", engine.Int("status", 500)) },
		}
		for name, f := range cases {
			require.Zero(t, testing.AllocsPerRun(500, f), name)
		}
	})
}
