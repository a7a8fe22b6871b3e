//go:build shardlog_hooks

package engine_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
)

// These tests hold a party inside a race window through engine.TestHooks
// (build tag shardlog_hooks; `make test` sets it).

// Shutdown never reports success while accepted events are pending. The
// hook holds Shutdown between its two steps (closing the queue and
// announcing the closing state) until a flusher has started an epoch, then
// logs more events. Mutation caught: deciding a flusher's final epoch from
// the engine's state (and announcing it before closing the queue, the old
// order) lets that epoch take a target that misses the events logged in
// the gap; the flusher exits, they stay pending, and Shutdown returned
// nil with Pending > 0 (seen on both queues).
func TestShutdownNeverStrandsAcceptedEvents(t *testing.T) {
	forEachQueue(t, func(t *testing.T, q engine.QueueKind) {
		var log *engine.Logger
		var eng *engine.Engine
		var inGap atomic.Bool
		epoch := make(chan struct{}, 1)
		engine.TestHooks.EpochStart = func(_ int, _ bool) {
			if inGap.Load() {
				select {
				case epoch <- struct{}{}:
				default:
				}
			}
		}
		engine.TestHooks.ShutdownAfterClose = func() {
			inGap.Store(true)
			// A flusher that parked after the events before wakes only
			// for a kick (the queue's Close does not wake it), and Flush
			// kicks every flusher: the engine still says running here.
			// Without it the test failed once in a CI run under load.
			flushed := make(chan struct{})
			go func() {
				defer close(flushed)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = eng.Flush(ctx)
			}()
			defer func() { <-flushed }()
			select {
			case <-epoch: // a flusher started an epoch inside the gap
			case <-time.After(5 * time.Second):
				t.Error("no flusher epoch started within 5s")
			}
			for range 100 {
				log.Info("in the gap")
			}
		}
		defer func() { engine.TestHooks.EpochStart, engine.TestHooks.ShutdownAfterClose = nil, nil }()
		// Hooks are set before New: flushers read them.
		mem := sinks.NewMemory(sinks.MemoryOptions{})
		e, err := engine.New(engine.WithQueue(q), engine.WithShards(1), engine.WithSink(mem))
		require.NoError(t, err)
		log, eng = e.Logger(), e
		for range 100 {
			log.Info("before")
		}
		time.Sleep(20 * time.Millisecond) // let the flusher drain them and park

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rep, err := e.Shutdown(ctx)
		require.NoError(t, err)
		s := rep.Sinks[0]
		require.Equal(t, uint64(200), s.Accepted)
		require.Zero(t, s.Pending, "%+v", s)
		require.Equal(t, s.Accepted, s.Written+s.Dropped.Total(), "%+v", s)
		require.Equal(t, uint64(mem.Len()), s.Written)
		require.Equal(t, uint64(100), s.Dropped.Closed, "events logged after the queue closed are refused as closed")
	})
}
