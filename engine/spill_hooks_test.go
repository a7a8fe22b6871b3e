//go:build shardlog_hooks

package engine_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
	hold, held, release := holdOnce(&arm)
	ring.TestHooks.DrainClaimed = hold
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

// A call the spill takes (spillNewest) reads its Mono in the fill; an
// epoch that starts after that reading must not complete without the
// event. Here the call is held after its fill while the flusher runs
// epochs and a later call is logged: the later call may reach the sink
// only after the held one. Mutation caught: setting the spill's pending
// flag after the fill instead of before it (the flusher skips the spill,
// completes its epoch and publishes a watermark past the held event,
// which then reaches the sink after the later one; found by the stress
// suite's mixed-policy producers).
func TestSpilledCallIsNotPassedByItsEpoch(t *testing.T) {
	var armDrain, armSpill atomic.Bool
	holdDrain, drainHeld, drainRelease := holdOnce(&armDrain)
	holdSpill, spillHeld, spillRelease := holdOnce(&armSpill)
	ring.TestHooks.DrainClaimed = holdDrain
	engine.TestHooks.SpillFilled = func(int) { holdSpill() }
	t.Cleanup(func() {
		ring.TestHooks.DrainClaimed = nil
		engine.TestHooks.SpillFilled = nil
	})
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	e := newEngine(t, engine.WithShards(1), engine.WithCapacity(4), engine.WithBatchSize(16),
		engine.WithSink(mem, engine.SinkName("mem")))
	l := e.Logger()
	armDrain.Store(true)
	for i := range 4 {
		l.Info("fill", core.Int("i", i))
	}
	<-drainHeld // the ring is full and its slots are still being released
	armSpill.Store(true)
	go l.Info("spilled") // the ring cannot evict: the spill takes it
	<-spillHeld          // its Mono is read; it is not in the spill yet
	time.Sleep(2 * time.Millisecond)
	close(drainRelease) // the flusher runs epochs that start after that Mono
	// Logged once the flusher has released the ring's slots, so that it
	// goes through the ring (from a goroutine all the same: were it
	// spilled, it would wait for the held call's mutex).
	time.Sleep(5 * time.Millisecond)
	var later sync.WaitGroup
	later.Go(func() { l.Info("later") })
	// Give a wrong flusher time to pass the held event: "later" reaches
	// the sink first. A right one waits for the spill's mutex.
	deadline := time.Now().Add(200 * time.Millisecond)
	for mem.Len() < 5 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(spillRelease)
	later.Wait()
	flush(t, e)
	var got []string
	for _, ev := range mem.Events() {
		got = append(got, ev.Message)
	}
	require.Equal(t, []string{"fill", "fill", "fill", "fill", "spilled", "later"}, got)
}

// holdOnce returns a hook that, the first time it runs while arm is set,
// closes held and waits until release is closed.
func holdOnce(arm *atomic.Bool) (hook func(), held, release chan struct{}) {
	held, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	return func() {
		if arm.Load() {
			once.Do(func() {
				close(held)
				<-release
			})
		}
	}, held, release
}
