package bench

import (
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkLog measures what a log call costs its caller when callers
// log as fast as they can (b.RunParallel, one per P, closed loop), for
// every logger, the lossy ones included; the engine's BenchmarkLog
// measures the same for shardlog alone.
//
// ns/op is the call's cost while the logger runs behind: a logger that
// drops (shardlog's DropOldest and DropNewest, zerolog's diode) returns
// at once from a call whose event it will lose, so its ns/op is cheap in
// proportion to what it sheds. Read ns/op only beside
// delivered/attempted (counted at the destination after delivering) and
// ns/delivered (wall time from the first call until everything was
// delivered, per delivered event). unaccounted/attempted is the share
// neither delivered nor reported lost by the logger (0 where the report
// is exact). allocs/op and B/op include the background goroutines'.
//
// What it hides: what a call costs at a load the logger sustains
// (BenchmarkOpenLoop), and a real destination's cost (the lines go
// nowhere).
func BenchmarkLog(b *testing.B) {
	for _, p := range peers {
		b.Run("logger="+p.name, func(b *testing.B) {
			s := newSubject(b, p, false)
			b.ReportAllocs()
			var attempted atomic.Int64
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				n := 0
				for pb.Next() {
					s.log(n)
					n++
				}
				attempted.Add(int64(n))
			})
			b.StopTimer()
			if err := s.deliver(); err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			if p.lossless {
				requireAllDelivered(b, s, attempted.Load())
			}
			reportDelivery(b, s, attempted.Load())
			reportWrites(b, s)
			perDelivered(b, s, elapsed, "ns/delivered")
		})
	}
}
