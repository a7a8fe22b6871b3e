package hist_test

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/shardlog/shardlog/hist"
)

// latencies returns a fixed spread of plausible write latencies, 1µs to
// 10ms, so that benchmarks touch many buckets rather than one.
func latencies() []int64 {
	rng := rand.New(rand.NewPCG(1, 2))
	vs := make([]int64, 4096)
	for i := range vs {
		vs[i] = int64(time.Microsecond) + rng.Int64N(int64(10*time.Millisecond))
	}
	return vs
}

func BenchmarkRecord(b *testing.B) {
	vs := latencies()
	r := hist.NewLatencyRecorder()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Record(vs[i%len(vs)])
	}
}

// BenchmarkBaselineHDR is the cost Record adds to: a bare hdrhistogram
// RecordValue, which no reader may touch while it runs, and the same behind
// an uncontended mutex, the simplest way to let a reader in.
func BenchmarkBaselineHDR(b *testing.B) {
	vs := latencies()
	b.Run("plain", func(b *testing.B) {
		h := hdrhistogram.New(1, int64(time.Minute), 3)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_ = h.RecordValue(vs[i%len(vs)])
		}
	})
	b.Run("mutex", func(b *testing.B) {
		h := hdrhistogram.New(1, int64(time.Minute), 3)
		var mu sync.Mutex
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			mu.Lock()
			_ = h.RecordValue(vs[i%len(vs)])
			mu.Unlock()
		}
	})
}

// BenchmarkRecordWithConcurrentSnapshot measures the writer while a reader
// takes snapshots, back to back (the worst case) or every millisecond (a
// fast metrics scrape). The mutex-baseline variants do the same with a
// histogram behind a mutex, which the reader holds while it copies and
// clears the histogram.
func BenchmarkRecordWithConcurrentSnapshot(b *testing.B) {
	for _, bc := range []struct {
		name  string
		pause time.Duration
	}{{"continuous", 0}, {"every-1ms", time.Millisecond}} {
		vs := latencies()
		b.Run(bc.name, func(b *testing.B) {
			r := hist.NewLatencyRecorder()
			benchWithReader(b, bc.pause, func() int64 { return r.Snapshot().Count() }, func(i int) {
				r.Record(vs[i%len(vs)])
			})
		})
		b.Run("mutex-baseline/"+bc.name, func(b *testing.B) {
			h := hdrhistogram.New(1, int64(time.Minute), 3)
			var mu sync.Mutex
			benchWithReader(b, bc.pause, func() int64 {
				mu.Lock()
				defer mu.Unlock()
				c := h.Clone()
				h.Reset()
				return c.TotalCount()
			}, func(i int) {
				mu.Lock()
				_ = h.RecordValue(vs[i%len(vs)])
				mu.Unlock()
			})
		})
	}
}

// benchWithReader runs record in the benchmark loop while another goroutine
// calls snapshot, pausing between calls, and reports the rate of snapshots
// that found values.
func benchWithReader(b *testing.B, pause time.Duration, snapshot func() int64, record func(i int)) {
	var stop atomic.Bool
	var snapshots atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			if snapshot() > 0 {
				snapshots.Add(1)
			}
			if pause > 0 {
				time.Sleep(pause)
			} else {
				runtime.Gosched()
			}
		}
	}()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		record(i)
	}
	b.StopTimer()
	stop.Store(true)
	<-done
	b.ReportMetric(float64(snapshots.Load())/b.Elapsed().Seconds(), "snapshots/s")
}

// BenchmarkSnapshot measures the reader: an interval with nothing recorded,
// an interval holding 1000 latencies, and the cumulative total.
func BenchmarkSnapshot(b *testing.B) {
	vs := latencies()
	b.Run("idle", func(b *testing.B) {
		r := hist.NewLatencyRecorder()
		b.ReportAllocs()
		for b.Loop() {
			r.Snapshot()
		}
	})
	b.Run("1000-values", func(b *testing.B) {
		r := hist.NewLatencyRecorder()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			for _, v := range vs[:1000] {
				r.Record(v)
			}
			b.StartTimer()
			r.Snapshot()
		}
	})
	b.Run("cumulative", func(b *testing.B) {
		r := hist.NewLatencyRecorder()
		for _, v := range vs {
			r.Record(v)
		}
		b.ReportAllocs()
		for b.Loop() {
			r.Cumulative()
		}
	})
}

// BenchmarkShardedRecord has every goroutine of RunParallel record into its
// own index, as the engine's flushers do.
func BenchmarkShardedRecord(b *testing.B) {
	vs := latencies()
	s, err := hist.NewLatencySharded(runtime.GOMAXPROCS(0))
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := s.Recorder(int(next.Add(1)-1) % s.Len())
		for i := 0; pb.Next(); i++ {
			r.Record(vs[i%len(vs)])
		}
	})
}
