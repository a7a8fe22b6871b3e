package engine_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
)

// BenchmarkSlog measures a log call through slog.New(engine.NewHandler)
// from every P at once, against the native Logger call with the same
// fields. The sink only counts (countSink), so the numbers are the
// caller's path and the pipeline, not I/O; written/op is the share of
// calls that reached the sink (the rest were dropped as queue-full-oldest).
func BenchmarkSlog(b *testing.B) {
	now := time.Now()
	run := func(b *testing.B, call func(slogLog *slog.Logger, native *engine.Logger)) {
		sink := &countSink{}
		e, err := engine.New(engine.WithSink(sink), engine.WithCapacity(1<<14))
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _, _ = e.Shutdown(context.Background()) }()
		native := e.Logger()
		slogLog := slog.New(engine.NewHandler(native, nil))
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				call(slogLog, native)
			}
		})
		b.StopTimer()
		if err := e.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(sink.n.Load())/float64(b.N), "written/op")
	}
	b.Run("LogAttrs5", func(b *testing.B) {
		ctx := context.Background()
		run(b, func(l *slog.Logger, _ *engine.Logger) {
			l.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("method", "GET"), slog.Int("status", 200),
				slog.Duration("took", time.Millisecond), slog.Bool("ok", true), slog.Time("at", now))
		})
	})
	b.Run("Info5", func(b *testing.B) {
		run(b, func(l *slog.Logger, _ *engine.Logger) {
			l.Info("request", "method", "GET", "status", 200, "took", time.Millisecond, "ok", true, "at", now)
		})
	})
	b.Run("native5", func(b *testing.B) {
		run(b, func(_ *slog.Logger, l *engine.Logger) {
			l.Info("request", core.String("method", "GET"), core.Int("status", 200),
				core.Duration("took", time.Millisecond), core.Bool("ok", true), core.Time("at", now))
		})
	})
}
