package engine_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/shardlog/shardlog/drain"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
)

// BenchmarkShutdown times one Shutdown of an engine with 100 000 events
// queued behind its only sink (issue 12's targets): FlushPending to a
// file sink once the sink is released, Immediate against a sink that
// honours its context, and Graceful(50ms) against one that hangs for
// ever. The queue is filled with the timer stopped; each op is one
// Shutdown, reported as ms/shutdown (and events/s for FlushPending).
//
//	go test -run '^$' -bench '^BenchmarkShutdown$' -benchtime 10x -count 10 ./engine
func BenchmarkShutdown(b *testing.B) {
	const n = 100_000
	run := func(b *testing.B, s drain.Strategy, file, honorCtx bool) {
		var total time.Duration
		for b.Loop() {
			b.StopTimer()
			var h *heldSink
			if file {
				f, err := sinks.NewFile(sinks.FileOptions{Path: filepath.Join(b.TempDir(), "app.log")})
				if err != nil {
					b.Fatal(err)
				}
				h = newHeldSink(f, honorCtx)
			} else {
				h = newHeldSink(sinks.NewMemory(sinks.MemoryOptions{}), honorCtx)
			}
			e, err := engine.New(shutdownOptions(h)...)
			if err != nil {
				b.Fatal(err)
			}
			queueBehind(b, e, h, n)
			if s.Kind() == drain.KindFlushPending {
				h.open()
			}
			b.StartTimer()
			start := time.Now()
			rep, _ := e.Shutdown(context.Background(), s)
			total += time.Since(start)
			b.StopTimer()
			h.open()
			if st := rep.Sinks[0]; st.Accepted != n {
				b.Fatalf("accepted %d", st.Accepted)
			}
			_, _ = e.Shutdown(context.Background()) // settled
			b.StartTimer()
		}
		b.ReportMetric(total.Seconds()*1000/float64(b.N), "ms/shutdown")
		if s.Kind() == drain.KindFlushPending {
			b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "events/s")
		}
		b.ReportMetric(0, "ns/op")
	}
	b.Run("FlushPending/file", func(b *testing.B) { run(b, drain.FlushPending, true, false) })
	b.Run("Immediate", func(b *testing.B) { run(b, drain.Immediate, false, true) })
	b.Run("Graceful50ms/hung", func(b *testing.B) { run(b, drain.Graceful(50*time.Millisecond), false, false) })
}
