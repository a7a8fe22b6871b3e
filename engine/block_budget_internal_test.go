//go:build shardlog_hooks

package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/ring"
	"github.com/shardlog/shardlog/sinks"
)

// One block timeout bounds a Block call, also when it first waits for
// room in a full memory budget and then for a slot in a full ring. Here
// the budget is held over its limit for 7/8 of the timeout and the ring
// stays full (its flusher is held between claiming and releasing): the
// call gives up at the timeout, counted block-timeout. Mutation caught:
// the ring's wait starting a fresh timeout after admit's (the call took
// about 1.9 timeouts).
func TestBlockCallWaitsOneTimeoutForBudgetAndRing(t *testing.T) {
	const timeout = 400 * time.Millisecond
	var arm atomic.Bool
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	TestHooks.EpochStart = func(int, bool) {
		if arm.Load() {
			once.Do(func() {
				close(held)
				<-release
			})
		}
	}
	t.Cleanup(func() { TestHooks.EpochStart = nil })
	e, err := New(WithShards(1), WithCapacity(4), WithBatchSize(16), WithOverflow(ring.Block),
		WithBlockTimeout(timeout), WithMaxQueueBytes(1<<20),
		WithSink(sinks.NewMemory(sinks.MemoryOptions{}), SinkName("mem")))
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = e.Shutdown(ctx)
	})
	log := e.Logger()
	arm.Store(true)
	<-held // the flusher drains nothing until release
	for range 4 {
		log.Info("fills the ring")
	}
	e.budget.Charge(2 << 20)
	require.True(t, e.budget.Over())

	done := make(chan time.Duration)
	go func() {
		start := time.Now()
		log.Info("waits")
		done <- time.Since(start)
	}()
	time.Sleep(timeout * 7 / 8)
	e.budget.Release(2 << 20) // room in the budget; none in the ring
	took := <-done
	close(release)
	require.Less(t, took, timeout*23/16, "one block timeout for the whole call")
	require.GreaterOrEqual(t, took, timeout)
	require.Equal(t, uint64(1), e.Stats().Sinks[0].Dropped.BlockTimeout)
}
