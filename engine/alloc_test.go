package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
)

// The native API allocates nothing per call with up to core.InlineFields
// (six) fields of the basic kinds, enabled or not, on either queue, and
// one slice for a call with more.
func TestLogDoesNotAllocate(t *testing.T) {
	forEachQueue(t, func(t *testing.T, q engine.QueueKind) {
		e := newEngine(t, engine.WithSink(&countSink{}), engine.WithQueue(q), engine.WithCapacity(1<<14))
		log := e.Logger()
		ctxLog := log.With(
			core.String("service", "api"), core.String("region", "eu-west-1"), core.Int("pid", 4242),
			core.String("version", "1.2.3"), core.Bool("canary", false), core.String("host", "h1"),
			core.Int("shard", 3), core.String("zone", "b"), core.Float64("weight", 0.5), core.String("az", "1a"))
		now := time.Now()
		err := errors.New("boom")
		cases := map[string]func(){
			"static": func() { log.Info("static message") },
			"5fields": func() {
				log.Info("request", core.String("method", "GET"), core.Int("status", 200), core.Duration("took", time.Millisecond), core.Bool("ok", true), core.Float64("ratio", 0.25))
			},
			"6fields": func() {
				log.Info("request", core.String("method", "GET"), core.Int("status", 200), core.Duration("took", time.Millisecond),
					core.Bool("ok", true), core.Time("at", now), core.Err(err))
			},
			"context10": func() { ctxLog.Info("request", core.Int("status", 200)) },
			"disabled":  func() { log.Debug("hidden", core.Int("status", 200)) },
			"Log":       func() { log.Log(context.Background(), core.LevelWarn, "warn", core.Int("status", 500)) },
		}
		for name, f := range cases {
			require.Zero(t, testing.AllocsPerRun(500, f), name)
		}
		tenFields := func() {
			log.Info("request", core.String("method", "GET"), core.Int("status", 200), core.Duration("took", time.Millisecond),
				core.Bool("ok", true), core.Float64("ratio", 0.25), core.Time("at", now), core.Int64("bytes", 1<<20),
				core.Uint64("id", 7), core.String("path", "/v1/items"), core.Err(err))
		}
		require.Equal(t, 1.0, testing.AllocsPerRun(500, tenFields), "more than InlineFields: one slice for them all")
	})
}
