package engine_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
)

// A full ring's evictions are kept in memory (the spill) while the budget
// has room, delivered in order, and counted as spilled, not lost; past
// the spill's bound for one epoch of a flusher that has not run (64
// batches here), the oldest are lost again, counted
// queue-full-oldest, and every charge is released. Mutations caught (each
// applied and seen failing): no bound on the spill (Spilled would be
// every eviction), and not releasing the charge of a large event lost at
// eviction (usage stays above zero). The order argument (the flusher
// takes the spill after reading Consumed, which waits for the evictor's
// hook) is not widened here: the ring's half is
// TestConsumedWaitsForTheEvictHook.
func TestSpillKeepsWhatAFullRingEvicts(t *testing.T) {
	forEachQueue(t, func(t *testing.T, q engine.QueueKind) {
		mem := sinks.NewMemory(sinks.MemoryOptions{})
		entered, release := make(chan struct{}), make(chan struct{})
		const capacity, batch = 16, 32
		e := newEngine(t, engine.WithQueue(q), engine.WithShards(1), engine.WithCapacity(capacity), engine.WithBatchSize(batch),
			engine.WithEnricher(func(ev *core.Event) {
				if ev.Message == "first" {
					close(entered)
					<-release
				}
			}),
			engine.WithSink(mem, engine.SinkName("mem")))
		l := e.Logger()
		l.Info("first")
		<-entered // the flusher is held: the ring fills and evicts
		const n = 3000
		big := strings.Repeat("b", 4<<10) // large: charges itself at the call
		for i := range n {
			if i%10 == 0 {
				l.Info("e", core.Int("i", i), core.String("body", big))
			} else {
				l.Info("e", core.Int("i", i))
			}
		}
		close(release)
		flush(t, e)
		rep := e.Stats()
		requireBalanced(t, rep)
		sh := e.Metrics(false).Engine.Shards[0]
		d := rep.Sinks[0].Dropped
		t.Logf("evicted %d, spilled %d, lost %d", sh.Evicted, sh.Spilled, d.QueueFullOldest)
		require.Equal(t, sh.Evicted, sh.Spilled+d.QueueFullOldest, "an evicted event is kept or lost")
		// spillBatches: four rings' worth in whole batches, and at least
		// 64 batches: 64 batches of 32 while the flusher is held.
		require.Equal(t, uint64(64*batch), sh.Spilled, "the spill is bounded per epoch")
		require.Positive(t, sh.Spilled)
		require.Positive(t, d.QueueFullOldest, "past the bound the oldest are lost")
		require.Equal(t, rep.Sinks[0].Written, uint64(mem.Len()))
		prev := int64(-1)
		for _, ev := range mem.Events()[1:] {
			i := ev.Fields()[0].Int64()
			require.Greater(t, i, prev, "one goroutine's events stay in order")
			prev = i
		}
		require.Eventually(t, func() bool { return e.Metrics(false).Engine.Budget.Usage == 0 }, 5*time.Second, time.Millisecond,
			"every charge released: %+v", e.Metrics(false).Engine.Budget)
	})
}

// Without a memory budget nothing bounds the spill, so there is none:
// evictions are lost as before.
func TestNoSpillWithoutABudget(t *testing.T) {
	out, err := sinks.NewWriter(io.Discard, format.JSON{})
	require.NoError(t, err)
	entered, release := make(chan struct{}), make(chan struct{})
	e := newEngine(t, engine.WithShards(1), engine.WithCapacity(16), engine.WithMaxQueueBytes(0),
		engine.WithEnricher(func(ev *core.Event) {
			if ev.Message == "first" {
				close(entered)
				<-release
			}
		}),
		engine.WithSink(out))
	e.Logger().Info("first")
	<-entered
	for i := range 100 {
		e.Logger().Info("e", core.Int("i", i))
	}
	close(release)
	flush(t, e)
	sh := e.Metrics(false).Engine.Shards[0]
	require.Zero(t, sh.Spilled)
	require.Equal(t, uint64(100-16), sh.Evicted)
	require.Equal(t, sh.Evicted, e.Stats().Sinks[0].Dropped.QueueFullOldest)
}
