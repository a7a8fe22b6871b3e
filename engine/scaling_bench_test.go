package engine_test

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/ring"
)

// BenchmarkScaling shows what grows with the number of processors: run it
// with -test.cpu 1,2,4,8,16. On a machine with fewer cores the high
// values are oversubscribed, so read its ns/delivered there as a check,
// not a figure; what it is for is the rest, which does not depend on
// having the cores:
//
//   - shards: the engine's default, GOMAXPROCS rounded up to a power of 2.
//   - goroutines: the engine's own (a flusher per shard, a writer per
//     sink).
//   - threads: the process's OS threads at the end (Linux; the Go runtime
//     keeps the threads it made, so this is the run's high-water mark,
//     the harness's RunParallel goroutines included).
//   - new-bytes: what New allocated (the rings and the lanes); it grows
//     with the shards, a ring per shard.
//   - idle-%core: the process's CPU time over half a second after the
//     load, once the flushers parked: what the engine costs when there is
//     nothing to do.
//
// The load is BenchmarkCapacity's (Block, the 5-field event, JSON).
func BenchmarkScaling(b *testing.B) {
	var before, after runtime.MemStats
	g0 := runtime.NumGoroutine()
	runtime.GC()
	runtime.ReadMemStats(&before)
	e, sink := benchEngine(b, engine.WithOverflow(ring.Block), engine.WithBlockTimeout(time.Minute))
	runtime.ReadMemStats(&after)
	goroutines := runtime.NumGoroutine() - g0
	saturate(b, e, sink)
	b.ReportMetric(float64(e.Shards()), "shards")
	b.ReportMetric(float64(goroutines), "goroutines")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc), "new-bytes")
	if n, ok := osThreads(); ok {
		b.ReportMetric(float64(n), "threads")
	}
	if _, ok := processCPU(); ok {
		time.Sleep(100 * time.Millisecond) // the flushers park after a few idle rounds
		c0, _ := processCPU()
		t0 := time.Now()
		time.Sleep(500 * time.Millisecond)
		c1, _ := processCPU()
		b.ReportMetric(100*float64(c1-c0)/float64(time.Since(t0).Nanoseconds()), "idle-%core")
	}
}

// osThreads returns the process's OS threads (Linux's /proc), false
// elsewhere.
func osThreads() (int, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			return n, err == nil
		}
	}
	return 0, false
}
