//go:build shardlog_hooks

package engine_test

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
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

// parkWaitSink writes nothing, and its Write returns only once a flusher
// has parked (or after a second), so the batch it was handed is released
// after that flusher swept its free list.
type parkWaitSink struct {
	parked       chan struct{}
	parkedInside atomic.Bool // a park happened while a Write waited
}

func (s *parkWaitSink) Write(_ context.Context, b []core.Entry) (int, error) {
	select {
	case <-s.parked:
		s.parkedInside.Store(true)
	case <-time.After(time.Second):
	}
	return len(b), nil
}
func (s *parkWaitSink) Flush(context.Context) error { return nil }
func (s *parkWaitSink) Close(context.Context) error { return nil }

// A batch released after its flusher parked is swept all the same: the
// release sees the flusher parked and kicks it, and it sweeps its free
// list again before it parks again (batch.go, freeList). The sink's Write
// holds the writer until the flusher has parked, so the batch goes back
// to the free list after the sweep; the event's text must still be
// collected within 3s, well before the parked flusher's 10s safety
// timer. Mutation caught: a release that does not kick a parked flusher
// (the text stays reachable until that timer fires).
func TestBatchReleasedAfterTheFlusherParkedIsCleared(t *testing.T) {
	sink := &parkWaitSink{parked: make(chan struct{}, 1)}
	engine.TestHooks.FlusherParked = func(int) {
		select {
		case sink.parked <- struct{}{}:
		default:
		}
	}
	t.Cleanup(func() { engine.TestHooks.FlusherParked = nil })
	e := newEngine(t, engine.WithSink(sink), engine.WithShards(1))

	// The writer may be waiting for a watermark when the event comes, and
	// then the flusher does not park during the Write: try again.
	var events []*atomic.Bool
	for len(events) < 10 && !sink.parkedInside.Load() {
		select { // a park from before this event does not count
		case <-sink.parked:
		default:
		}
		events = append(events, logTracked(e.Logger()))
		require.Eventually(t, func() bool {
			return e.Metrics(false).Sinks[0].Written == uint64(len(events))
		}, 5*time.Second, time.Millisecond)
	}
	require.True(t, sink.parkedInside.Load(), "no Write saw its flusher park in %d attempts", len(events))
	requireCollected(t, 3*time.Second, "a released event's text is still reachable from the parked engine", events...)
}

// The batch a flusher holds to fill next may be one released with its
// events uncleared (it takes the oldest free batch as soon as it has
// pushed the last): parking clears it too. The hook delays the flusher
// before it takes that batch, so the writer has written the event and
// released its batch first. Mutation caught: a park that sweeps only the
// free list (the event stays reachable from the batch in hand).
func TestBatchInTheFlushersHandIsClearedWhenItParks(t *testing.T) {
	var logged atomic.Bool
	engine.TestHooks.FlusherTakesBatch = func(int) {
		if logged.Load() {
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Cleanup(func() { engine.TestHooks.FlusherTakesBatch = nil })
	sink, err := sinks.NewWriter(io.Discard, format.JSON{})
	require.NoError(t, err)
	e := newEngine(t, engine.WithSink(sink), engine.WithShards(1))
	time.Sleep(20 * time.Millisecond) // the flusher takes its first batch

	logged.Store(true)
	collected := logTracked(e.Logger())
	requireCollected(t, 3*time.Second, "the event's text is still reachable from the parked engine", collected)
}
