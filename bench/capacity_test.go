package bench

import (
	"testing"
	"time"
)

// BenchmarkCapacity measures what a delivered event costs each lossless
// logger at saturation: b.RunParallel callers (one per P) log the event
// as fast as they can, closed loop, and the timed run ends once the
// logger has delivered (zap's Sync, shardlog's Flush). Only loggers that
// never lose an event run here (zap, zerolog, slog, shardlog with Block);
// the benchmark fails if one was lost.
//
// Reported: ns/delivered, wall time per delivered event (equal to ns/op,
// as every event is delivered); cpu-ns/delivered, the process's CPU time
// (getrusage, user + system) per delivered event, which counts every core
// the logger kept busy, its background goroutines included, and is
// missing where getrusage is; delivered/s; events/write, the delivered
// events per Write call to the destination; allocs/op and B/op, which
// count the background goroutines' allocations too.
//
// What it hides: the cost of a call (a caller of shardlog under Block
// waits when its shard is full, a zap caller writes a full buffer, so
// each call's duration is uneven; see BenchmarkOpenLoop), and the cost of
// a real destination: the lines go nowhere, so a logger that writes more
// often in smaller pieces pays only for the calls, not for the system
// calls a file would cost.
func BenchmarkCapacity(b *testing.B) {
	for _, p := range peers {
		if !p.lossless {
			continue
		}
		b.Run("logger="+p.name, func(b *testing.B) {
			s := newSubject(b, p, false)
			b.ReportAllocs()
			cpu0, cpuOK := processCPU()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					s.log(i)
				}
			})
			if err := s.deliver(); err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			cpu1, _ := processCPU()
			requireAllDelivered(b, s, int64(b.N))
			perDelivered(b, s, elapsed, "ns/delivered")
			if cpuOK {
				perDelivered(b, s, time.Duration(cpu1-cpu0), "cpu-ns/delivered")
			}
			b.ReportMetric(float64(s.delivered())/elapsed.Seconds(), "delivered/s")
			reportWrites(b, s)
		})
	}
}
