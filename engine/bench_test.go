package engine_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/hist"
)

// benchEngine builds an engine whose only sink encodes JSON in the
// pipeline and discards it, so the benchmark measures the engine.
func benchEngine(b *testing.B, opts ...engine.Option) (*engine.Engine, *encodingCountSink) {
	b.Helper()
	sink := &encodingCountSink{}
	e, err := engine.New(append([]engine.Option{engine.WithSink(sink)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _, _ = e.Shutdown(context.Background()) })
	return e, sink
}

var errBench = errors.New("connection reset by peer")

// logCases are the call shapes of BenchmarkLog.
var logCases = []struct {
	name string
	log  func(l *engine.Logger, i int)
	with bool // log through a logger with 10 context fields
}{
	{"static", func(l *engine.Logger, _ int) { l.Info("static message") }, false},
	{"5fields", func(l *engine.Logger, i int) {
		l.Info("request handled", core.String("method", "GET"), core.Int("status", 200),
			core.Duration("took", 1500*time.Microsecond), core.Int("bytes", i), core.Bool("cached", false))
	}, false},
	{"10fields", func(l *engine.Logger, i int) {
		l.Info("request handled", core.String("method", "GET"), core.Int("status", 200),
			core.Duration("took", 1500*time.Microsecond), core.Int("bytes", i), core.Bool("cached", false),
			core.String("path", "/v1/items"), core.Float64("ratio", 0.25), core.Uint64("user", 42),
			core.String("trace", "4bf92f3577b34da6"), core.Err(errBench))
	}, false},
	{"context10", func(l *engine.Logger, i int) { l.Info("request handled", core.Int("status", 200)) }, true},
}

func contextLogger(l *engine.Logger) *engine.Logger {
	return l.With(core.String("service", "api"), core.String("region", "eu-west-1"), core.Int("pid", 4242),
		core.String("version", "1.2.3"), core.Bool("canary", false), core.String("host", "h1"),
		core.Int("shard", 3), core.String("zone", "b"), core.Float64("weight", 0.5), core.String("az", "1a"))
}

// logParallel runs log from b.RunParallel callers and reports the share of
// calls the pipeline wrote during the timed run, and the wall time per
// event it wrote. When delivered/attempted is well below 1, ns/op is the
// cost of a call that mostly evicts (the pipeline is shedding): quote
// BenchmarkCapacity and BenchmarkOpenLoop instead.
func logParallel(b *testing.B, l *engine.Logger, sink *encodingCountSink, log func(*engine.Logger, int)) {
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var attempted atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			log(l, n)
			n++
		}
		attempted.Add(int64(n))
	})
	elapsed := time.Since(start)
	b.StopTimer()
	delivered := sink.n.Load()
	b.ReportMetric(float64(delivered)/float64(attempted.Load()), "delivered/attempted")
	if delivered > 0 {
		b.ReportMetric(float64(elapsed.Nanoseconds())/float64(delivered), "ns/delivered")
	}
}

// BenchmarkLog measures the caller's cost of one log call with b.RunParallel
// callers (one per P at -cpu N), the flushers encoding JSON behind them.
// delivered/attempted shows what the pipeline kept up with during the run.
func BenchmarkLog(b *testing.B) {
	for _, c := range logCases {
		for _, q := range queues {
			b.Run(c.name+"/queue="+q.String(), func(b *testing.B) {
				e, sink := benchEngine(b, engine.WithQueue(q))
				l := e.Logger()
				if c.with {
					l = contextLogger(l)
				}
				logParallel(b, l, sink, c.log)
			})
		}
	}
}

// BenchmarkLogDisabled is a call below the engine's level: one atomic load
// and one branch.
func BenchmarkLogDisabled(b *testing.B) {
	e, _ := benchEngine(b)
	l := e.Logger()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Debug("hidden", core.Int("status", 200))
		}
	})
}

// BenchmarkCallerLatency records the duration of every 5-field call in an
// HDR histogram per goroutine and reports its percentiles. The two clock
// reads around each call are included (about 2x20ns here). The callers
// saturate the engine, so most calls evict the oldest entry:
// evicted/op and spilled/op say how many, and how many of those the
// spill kept (each kept one is a copy on the call's path).
func BenchmarkCallerLatency(b *testing.B) {
	for _, q := range queues {
		b.Run("queue="+q.String(), func(b *testing.B) {
			e, _ := benchEngine(b, engine.WithQueue(q))
			l := e.Logger()
			lat, err := hist.NewLatencySharded(256)
			if err != nil {
				b.Fatal(err)
			}
			var next atomic.Int32
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				rec := lat.Recorder(int(next.Add(1)-1) % lat.Len())
				i := 0
				for pb.Next() {
					start := time.Now()
					logCases[1].log(l, i)
					rec.Record(int64(time.Since(start)))
					i++
				}
			})
			b.StopTimer()
			s := lat.Cumulative()
			b.ReportMetric(float64(s.P50()), "p50-ns")
			b.ReportMetric(float64(s.P99()), "p99-ns")
			b.ReportMetric(float64(s.P999()), "p99.9-ns")
			b.ReportMetric(float64(s.Max()), "max-ns")
			var ev, sp uint64
			for _, sh := range e.Metrics(false).Engine.Shards {
				ev += sh.Evicted
				sp += sh.Spilled
			}
			b.ReportMetric(float64(ev)/float64(b.N), "evicted/op")
			b.ReportMetric(float64(sp)/float64(b.N), "spilled/op")
		})
	}
}

// BenchmarkPinnedFlushers measures the effect of locking each flusher to
// its OS thread (the default), of not locking it, and of also binding the
// thread to one CPU, on the callers' cost.
func BenchmarkPinnedFlushers(b *testing.B) {
	for _, c := range []struct {
		name string
		opt  engine.Option
	}{
		{"pinned", engine.WithPinnedFlushers(true)},
		{"unpinned", engine.WithPinnedFlushers(false)},
		{"affinity", engine.WithFlusherAffinity(true)},
	} {
		b.Run(c.name, func(b *testing.B) {
			e, sink := benchEngine(b, c.opt)
			logParallel(b, e.Logger(), sink, logCases[1].log)
		})
	}
}

// BenchmarkLogBudget is the caller's cost of the memory budget: the
// 5-field call with the budget on (the default) and off
// (WithMaxQueueBytes(0)). Compare with benchstat.
func BenchmarkLogBudget(b *testing.B) {
	for _, on := range []bool{true, false} {
		b.Run(map[bool]string{true: "budget=on", false: "budget=off"}[on], func(b *testing.B) {
			opts := []engine.Option{}
			if !on {
				opts = append(opts, engine.WithMaxQueueBytes(0))
			}
			e, sink := benchEngine(b, opts...)
			logParallel(b, e.Logger(), sink, logCases[1].log)
		})
	}
}
