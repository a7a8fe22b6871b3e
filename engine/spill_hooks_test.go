//go:build shardlog_hooks

package engine_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/ring"
	"github.com/shardlog/shardlog/sinks"
)

// A DropOldest call that finds the ring full and cannot evict (here the
// flusher is held between claiming its batch and releasing the slots, so
// the slot the call needs is still being released) is kept in the spill
// instead of dropping its own event; everything is delivered in order
// once the flusher resumes. Mutation caught: refusing such a call (the
// engine before the spill took it): 40 events lost to queue-full-newest.
func TestACallTheRingCannotTakeIsSpilled(t *testing.T) {
	var arm atomic.Bool
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	ring.TestHooks.DrainClaimed = func() {
		if arm.Load() {
			once.Do(func() {
				close(held)
				<-release
			})
		}
	}
	t.Cleanup(func() { ring.TestHooks.DrainClaimed = nil })
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	e := newEngine(t, engine.WithShards(1), engine.WithCapacity(4), engine.WithBatchSize(16),
		engine.WithSink(mem, engine.SinkName("mem")))
	l := e.Logger()
	arm.Store(true)
	for i := range 4 {
		l.Info("e", core.Int("i", i))
	}
	<-held // the flusher claimed the 4 slots and has not released them
	for i := 4; i < 44; i++ {
		l.Info("e", core.Int("i", i))
	}
	close(release)
	flush(t, e)
	rep := e.Stats()
	requireBalanced(t, rep)
	require.Zero(t, rep.Sinks[0].Dropped.Total(), "%+v", rep.Sinks[0].Dropped)
	require.Equal(t, uint64(40), e.Metrics(false).Engine.Shards[0].Spilled)
	require.Equal(t, 44, mem.Len())
	for i, ev := range mem.Events() {
		require.Equal(t, int64(i), ev.Fields()[0].Int64(), "in order")
	}
}
