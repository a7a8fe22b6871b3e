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

// The spill's bound is per epoch: once the flusher has caught up, the
// next overflow is kept again. Each of three episodes holds the flusher,
// overflows the ring by more than the bound, and releases it; each must
// spill the bound's worth. The ring holds more than a batch, so the
// flusher's first round after a release takes the spill's full batches
// before its epoch completes. Before the fix that take left the spill's
// count of batches begun at the bound and nothing pending, the epoch's
// final take returned early without resetting it, and the spill stayed
// closed for good: the second episode spilled 0 of 2 048, on both
// queues. Mutations caught: takeSpill returning before it resets the
// count when nothing is pending; the spill's closed flag (the fast
// refusal past the bound) not cleared with the count.
func TestSpillReopensAfterEachEpoch(t *testing.T) {
	forEachQueue(t, func(t *testing.T, q engine.QueueKind) {
		mem := sinks.NewMemory(sinks.MemoryOptions{})
		hold := make(chan chan struct{}, 1)
		const capacity, batch = 128, 32
		e := newEngine(t, engine.WithQueue(q), engine.WithShards(1), engine.WithCapacity(capacity), engine.WithBatchSize(batch),
			engine.WithEnricher(func(ev *core.Event) {
				if ev.Message == "hold" {
					release := <-hold
					<-release
				}
			}),
			engine.WithSink(mem, engine.SinkName("mem")))
		l := e.Logger()
		var spilled uint64
		for episode := range 3 {
			release := make(chan struct{})
			hold <- release
			l.Info("hold")
			require.Eventually(t, func() bool { return len(hold) == 0 }, 5*time.Second, time.Millisecond,
				"the flusher took the hold") // it is inside the enricher now
			for i := range 4000 {
				l.Info("e", core.Int("i", i))
			}
			close(release)
			flush(t, e)
			sh := e.Metrics(false).Engine.Shards[0]
			require.Equal(t, uint64(64*batch), sh.Spilled-spilled, "episode %d: the spill keeps its bound's worth again", episode)
			spilled = sh.Spilled
		}
		requireBalanced(t, e.Stats())
	})
}
