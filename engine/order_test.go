package engine_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/ring"
	"github.com/shardlog/shardlog/sinks"
)

// TestOrderSurvivesMigration checks the ordering guarantee: events of one
// goroutine reach every sink in the order they were logged although the
// goroutine keeps moving between processors (and so between shards), and
// each sink sees all events in timestamp order. Goroutines are pushed
// around with runtime.Gosched, system calls and GOMAXPROCS changes.
func TestOrderSurvivesMigration(t *testing.T) {
	forEachQueue(t, func(t *testing.T, q engine.QueueKind) {
		all := sinks.NewMemory(sinks.MemoryOptions{})
		warn := sinks.NewMemory(sinks.MemoryOptions{})
		e := newEngine(t, engine.WithQueue(q), engine.WithShards(4), engine.WithCapacity(256),
			engine.WithBatchSize(32), engine.WithOverflow(ring.Block), engine.WithBlockTimeout(10e9),
			engine.WithSink(all, engine.SinkName("all")),
			engine.WithSink(warn, engine.SinkName("warn"), engine.SinkLevel(core.LevelWarn)))
		const goroutines, each = 8, 1500
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				log := e.Logger().With(core.Int("g", g))
				for i := range each {
					lvl := core.LevelInfo
					if i%3 == 0 {
						lvl = core.LevelWarn
					}
					log.Log(context.Background(), lvl, "ordered", core.Int("seq", i))
					switch i % 7 {
					case 0:
						runtime.Gosched()
					case 1:
						_, _ = os.Getpid(), os.Getppid() // syscalls may hand the P away
					}
				}
			}()
		}
		stop := churnProcs(0)
		wg.Wait()
		stop()
		flush(t, e)

		check := func(name string, m *sinks.Memory, want int) {
			evs := m.Events()
			require.Equal(t, want, len(evs), name)
			requireGoroutineOrder(t, name, evs)
			var prevMono int64 = -1 << 63
			for i, ev := range evs {
				require.GreaterOrEqual(t, ev.Mono, prevMono, fmt.Sprintf("%s: event %d out of timestamp order", name, i))
				prevMono = ev.Mono
			}
		}
		check("all", all, goroutines*each)
		check("warn", warn, goroutines*((each+2)/3))
		requireBalanced(t, e.Stats())
	})
}

// TestOrderWithManySmallBatches drives the case where an epoch is split
// into more batches than a sink writer may hold at once (tiny batches,
// many shards, one goroutine pushed across processors): the writer's bound
// for a shard must never pass events still waiting in its lane.
func TestOrderWithManySmallBatches(t *testing.T) {
	forEachQueue(t, func(t *testing.T, q engine.QueueKind) {
		mem := sinks.NewMemory(sinks.MemoryOptions{})
		// Idle shards advance their watermarks only every 20ms here, so
		// the active shard's batches pile up in the writer past its limit.
		// (DropOldest, so the goroutine moves on rather than blocking in a
		// backed-up shard; events may be dropped, never reordered.)
		e := newEngine(t, engine.WithQueue(q), engine.WithShards(8), engine.WithCapacity(64),
			engine.WithBatchSize(4), engine.WithFlushInterval(20e6),
			engine.WithSink(mem))
		const n = 20000
		done := make(chan struct{})
		go func() {
			defer close(done)
			log := e.Logger()
			for i := range n {
				log.Info("seq", core.Int("i", i))
				if i%5 == 0 {
					runtime.Gosched()
				}
			}
		}()
		stop := churnProcs(0)
		<-done
		stop()
		flush(t, e)
		evs := mem.Events()
		require.NotEmpty(t, evs)
		prev := int64(-1)
		for i, ev := range evs {
			got := ev.Fields()[0].Int64()
			if got <= prev {
				t.Fatalf("event %d carries seq %d after %d: one goroutine's events out of order", i, got, prev)
			}
			prev = got
		}
		requireBalanced(t, e.Stats())
	})
}
