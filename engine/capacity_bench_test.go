package engine_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/hist"
	"github.com/shardlog/shardlog/ring"
)

// These are the figures the project quotes (docs/bench/engine.md): what a
// delivered event costs, and what a call costs at a load the pipeline
// sustains. BenchmarkLog's ns/op, by contrast, is the cost of a call while
// the pipeline falls behind and sheds events: read it only with its
// delivered/attempted beside it.

// BenchmarkCapacity measures the pipeline end to end at saturation without
// loss: b.RunParallel callers log the 5-field event under the Block policy
// (so nothing is dropped), the flushers encode JSON and the sink writer
// merges, all on the same cores, and the timed run ends with a Flush.
// ns/op is wall time per delivered event; cpu-ns/delivered is the
// process's CPU time (getrusage) per delivered event, which counts every
// core the pipeline kept busy. The benchmark fails if any event was
// dropped.
func BenchmarkCapacity(b *testing.B) {
	for _, q := range queues {
		b.Run("queue="+q.String(), func(b *testing.B) {
			capacity(b, 0, engine.WithQueue(q))
		})
	}
}

// BenchmarkCapacityScraped is BenchmarkCapacity (lock-free) with a
// scraper reading every metric, distributions included, every 100ms: ten
// times the rate of a Prometheus scrape every second, so that any cost
// shows. Compare it with BenchmarkCapacity/queue=lockfree in one run.
func BenchmarkCapacityScraped(b *testing.B) {
	capacity(b, 100*time.Millisecond)
}

// BenchmarkCapacityPinned is BenchmarkCapacity on the lock-free queue with
// the flushers locked to OS threads (an opt-in since issue 7) and not, in
// one run so the two compare.
func BenchmarkCapacityPinned(b *testing.B) {
	for _, pin := range []bool{false, true} {
		b.Run(fmt.Sprintf("pinned=%v", pin), func(b *testing.B) {
			capacity(b, 0, engine.WithPinnedFlushers(pin))
		})
	}
}

// capacity runs BenchmarkCapacity's load on an engine built with opts;
// with scrape > 0 a goroutine reads every metric that often meanwhile.
func capacity(b *testing.B, scrape time.Duration, opts ...engine.Option) {
	e, sink := benchEngine(b, append([]engine.Option{engine.WithOverflow(ring.Block),
		engine.WithBlockTimeout(time.Minute)}, opts...)...)
	if scrape > 0 {
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(scrape)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					_ = e.Metrics(true)
				}
			}
		}()
		defer func() { close(stop); <-done }()
	}
	b.ReportAllocs()
	saturate(b, e, sink)
	b.ReportMetric(float64(sink.n.Load())/float64(b.N), "delivered/attempted") // saturate required all
}

// saturate is the timed part of BenchmarkCapacity's load: b.RunParallel
// callers log the 5-field event, a Flush ends the run, and every event
// must have been delivered. It reports ns/delivered and, where the
// platform has it, cpu-ns/delivered, and leaves the timer stopped.
func saturate(b *testing.B, e *engine.Engine, sink *encodingCountSink) {
	l := e.Logger()
	cpu0, cpuOK := processCPU()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			logCases[1].log(l, i)
		}
	})
	if err := e.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cpu1, _ := processCPU()
	requireAllDelivered(b, e, sink, b.N)
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N), "ns/delivered")
	if cpuOK {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/delivered")
	}
}

// requireAllDelivered fails the benchmark unless the sink received every
// one of n events and nothing was dropped.
func requireAllDelivered(b *testing.B, e *engine.Engine, sink *encodingCountSink, n int) {
	b.Helper()
	st := e.Stats().Sinks[0]
	if got := sink.n.Load(); got != int64(n) || st.Dropped.Total() != 0 {
		b.Fatalf("delivered %d of %d; dropped %+v", got, n, st.Dropped)
	}
}

// capacityCache holds the measured capacity (delivered events per second)
// per queue and GOMAXPROCS, so the open-loop rates of one run are
// fractions of the same figure.
var capacityCache sync.Map

// measureCapacity runs the Block-policy saturation load for a fixed time
// and returns delivered events per second.
func measureCapacity(b *testing.B, q engine.QueueKind) float64 {
	key := fmt.Sprintf("%s/%d", q, runtime.GOMAXPROCS(0))
	if v, ok := capacityCache.Load(key); ok {
		return v.(float64)
	}
	e, sink := benchEngine(b, engine.WithQueue(q), engine.WithOverflow(ring.Block), engine.WithBlockTimeout(time.Minute))
	l := e.Logger()
	var stop atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	for g := range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				logCases[1].log(l, g*1_000_000+i)
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if err := e.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	c := float64(sink.n.Load()) / time.Since(start).Seconds()
	capacityCache.Store(key, c)
	return c
}

// openLoopGoroutines is how many callers share the open-loop schedule.
const openLoopGoroutines = 8

// BenchmarkOpenLoop measures what a call costs a service at a load the
// pipeline sustains. The rate is a fixed fraction of the capacity measured
// first (BenchmarkCapacity's load, 500ms), shared by 8 goroutines on a
// fixed schedule (open loop: a slow call does not delay the next one's
// scheduled time). On Linux a sleep under 1ms lasts about 1ms, so callers
// that are ahead of schedule sleep when a millisecond or more ahead and
// yield otherwise; events then leave in short bursts, as from a real
// service's request handlers.
//
// policy=block is the caller-cost figure: nothing may be lost (the
// benchmark fails otherwise), so a call's duration includes any wait for
// room. policy=defaults runs the engine's defaults (DropOldest) and
// reports what they deliver at the same load.
//
// Reported: the call's own duration (p50, p99, p99.9, max, from an HDR
// histogram per goroutine), delivered/attempted (after a Flush), the rate
// offered and the capacity it derives from. ns/op means nothing here (it
// is the schedule's interval).
func BenchmarkOpenLoop(b *testing.B) {
	for _, pol := range []string{"block", "defaults"} {
		for _, pct := range []int{50, 80} {
			for _, q := range queues {
				b.Run(fmt.Sprintf("policy=%s/load=%d%%/queue=%s", pol, pct, q), func(b *testing.B) {
					capacity := measureCapacity(b, q)
					rate := capacity * float64(pct) / 100
					opts := []engine.Option{engine.WithQueue(q)}
					if pol == "block" {
						opts = append(opts, engine.WithOverflow(ring.Block), engine.WithBlockTimeout(time.Minute))
					}
					openLoop(b, rate, capacity, pol == "block", opts...)
				})
			}
		}
	}
}

func openLoop(b *testing.B, rate, capacity float64, lossless bool, opts ...engine.Option) {
	e, sink := benchEngine(b, opts...)
	l := e.Logger()
	lat, err := hist.NewLatencySharded(openLoopGoroutines)
	if err != nil {
		b.Fatal(err)
	}
	interval := time.Duration(float64(time.Second) * openLoopGoroutines / rate) // per goroutine
	per := (b.N + openLoopGoroutines - 1) / openLoopGoroutines
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for g := range openLoopGoroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := lat.Recorder(g)
			// Goroutine g's k-th event is due at start + offset + k*interval.
			offset := time.Duration(g) * interval / openLoopGoroutines
			for k := range per {
				due := start.Add(offset + time.Duration(k)*interval)
				for {
					wait := time.Until(due)
					if wait <= 0 {
						break
					}
					if wait >= time.Millisecond {
						time.Sleep(wait)
					} else {
						runtime.Gosched()
					}
				}
				t := time.Now()
				logCases[1].log(l, k)
				rec.Record(int64(time.Since(t)))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := e.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	attempted := per * openLoopGoroutines
	if lossless {
		requireAllDelivered(b, e, sink, attempted)
	}
	s := lat.Cumulative()
	b.ReportMetric(float64(s.P50()), "call-p50-ns")
	b.ReportMetric(float64(s.P99()), "call-p99-ns")
	b.ReportMetric(float64(s.P999()), "call-p99.9-ns")
	b.ReportMetric(float64(s.Max()), "call-max-ns")
	b.ReportMetric(float64(sink.n.Load())/float64(attempted), "delivered/attempted")
	b.ReportMetric(float64(attempted)/elapsed.Seconds(), "offered/s")
	b.ReportMetric(capacity, "capacity/s")
}

// BenchmarkIdleEngine measures what an idle engine costs: the process's
// CPU time while the engine has nothing to do (after one event, once its
// flushers have parked), as a share of one core, and the heap that New
// allocates. Each op is 1s of idleness (one sleep, so the
// benchmark's own wake-ups stay negligible: at 10ms per op they alone
// cost about 1% of a core in scheduler spinning); ns/op means nothing.
// Run it with a count of ops, e.g. -benchtime 5x. Runtime background work
// (sysmon, GC) is included: a process without an engine measured about
// 0.02% on the project's VM. Linux accounts CPU time in scheduler ticks
// (4ms at 250Hz), so a few seconds of idleness resolve about 0.1%.
func BenchmarkIdleEngine(b *testing.B) {
	for _, shards := range []int{2, 16} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.GC()
			runtime.ReadMemStats(&before)
			e, _ := benchEngine(b, engine.WithShards(shards))
			runtime.GC()
			runtime.GC()
			runtime.ReadMemStats(&after)
			e.Logger().Info("one event, then nothing")
			if err := e.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // let the flushers park
			cpu0, ok := processCPU()
			if !ok {
				b.Skip("no process CPU time on this platform")
			}
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				time.Sleep(time.Second)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			cpu1, _ := processCPU()
			b.ReportMetric(100*float64(cpu1-cpu0)/float64(elapsed.Nanoseconds()), "%core")
			// Bytes New allocated: rings, lanes, batches made so far; all
			// of it lives as long as the engine.
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc), "new-B")
		})
	}
}

// BenchmarkMetrics measures what reading the metrics costs a service: a
// counters-only snapshot (what a scraper reading counters pays) and one
// with every sink's latency and batch-size distributions, for 2 and 16
// shards and 1 and 8 sinks, on an engine that has logged and written.
func BenchmarkMetrics(b *testing.B) {
	for _, shards := range []int{2, 16} {
		for _, nsinks := range []int{1, 8} {
			for _, histograms := range []bool{false, true} {
				b.Run(fmt.Sprintf("shards=%d/sinks=%d/histograms=%v", shards, nsinks, histograms), func(b *testing.B) {
					opts := []engine.Option{engine.WithShards(shards)}
					for i := range nsinks {
						opts = append(opts, engine.WithSink(&countSink{}, engine.SinkName(fmt.Sprintf("s%d", i))))
					}
					e, err := engine.New(opts...)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { _, _ = e.Shutdown(context.Background()) })
					for i := range 10000 {
						logCases[1].log(e.Logger(), i)
					}
					if err := e.Flush(context.Background()); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					b.ResetTimer()
					for range b.N {
						_ = e.Metrics(histograms)
					}
				})
			}
		}
	}
}
