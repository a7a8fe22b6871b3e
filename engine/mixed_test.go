package engine_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/ring"
	"github.com/shardlog/shardlog/sinks"
)

// TestMixedLoadKeepsEveryGuarantee runs the pipeline with everything at
// once: a fast sink, a slow one and a failing one; levels routed per sink;
// Block for errors and DropOldest below; tiny rings and lanes so every
// overflow path runs; goroutines pushed across shards; Flush called
// concurrently. Then it checks the guarantees together: exact accounting
// per sink, and every goroutine's events in order in every sink that
// keeps them.
func TestMixedLoadKeepsEveryGuarantee(t *testing.T) {
	forEachQueue(t, func(t *testing.T, q engine.QueueKind) {
		fast := sinks.NewMemory(sinks.MemoryOptions{})
		slow := sinks.NewMemory(sinks.MemoryOptions{})
		slow.SetDelay(200 * time.Microsecond)
		failing := sinks.NewMemory(sinks.MemoryOptions{})
		failing.SetErr(errors.New("disk full"))
		e, err := engine.New(engine.WithQueue(q), engine.WithShards(4), engine.WithCapacity(32),
			engine.WithBatchSize(8), engine.WithLaneDepth(2),
			engine.WithLevel(core.LevelDebug),
			engine.WithOverflowAt(core.LevelError, ring.Block), engine.WithBlockTimeout(50*time.Millisecond),
			engine.WithErrorHandler(func(error) {}),
			engine.WithSink(fast, engine.SinkName("fast")),
			engine.WithSink(slow, engine.SinkName("slow"), engine.SinkLevel(core.LevelInfo)),
			engine.WithSink(failing, engine.SinkName("failing"), engine.SinkLevel(core.LevelWarn)))
		require.NoError(t, err)

		const goroutines, each = 6, 2500
		levels := []core.Level{core.LevelDebug, core.LevelInfo, core.LevelWarn, core.LevelError}
		stop := make(chan struct{})
		var side sync.WaitGroup
		side.Add(1)
		stopChurn := churnProcs(100 * time.Microsecond)
		go func() { // concurrent flushes
			defer side.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				_ = e.Flush(ctx)
				cancel()
			}
		}()
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				log := e.Logger().With(core.Int("g", g))
				for i := range each {
					log.Log(context.Background(), levels[i%len(levels)], "mixed", core.Int("seq", i))
					if i%97 == 0 {
						runtime.Gosched()
					}
				}
			}()
		}
		wg.Wait()
		close(stop)
		side.Wait()
		stopChurn()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		rep, err := e.Shutdown(ctx)
		require.NoError(t, err)

		want := map[string]uint64{
			"fast":    goroutines * each,
			"slow":    goroutines * each * 3 / 4,
			"failing": goroutines * each / 2,
		}
		for _, s := range rep.Sinks {
			require.Equal(t, want[s.Name], s.Accepted, "%s accepted", s.Name)
			require.Zero(t, s.Pending, "%s: %+v", s.Name, s)
			require.Equal(t, s.Accepted, s.Written+s.Diverted+s.Failed+s.Dropped.Total(), "%s: %+v", s.Name, s)
			t.Logf("%s: written %d failed %d dropped %+v", s.Name, s.Written, s.Failed, s.Dropped)
		}
		require.Equal(t, uint64(fast.Len()), rep.Sinks[0].Written)
		require.Equal(t, uint64(slow.Len()), rep.Sinks[1].Written)
		require.Equal(t, rep.Sinks[2].Accepted-rep.Sinks[2].Dropped.Total(), rep.Sinks[2].Failed, "every write to the failing sink failed")

		requireGoroutineOrder(t, "fast", fast.Events())
		requireGoroutineOrder(t, "slow", slow.Events())
	})
}
