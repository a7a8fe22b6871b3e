package engine_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
)

// callSink counts the events and the Write calls it receives.
type callSink struct {
	countSink
	calls atomic.Int64
}

func (s *callSink) Write(ctx context.Context, b []core.Entry) (int, error) {
	s.calls.Add(1)
	return s.countSink.Write(ctx, b)
}

// waitForCount waits until s has received n events, or fails after d.
func waitForCount(t *testing.T, s *callSink, n int64, d time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool { return s.n.Load() == n }, d, time.Millisecond,
		"the sink received %d of %d events", s.n.Load(), n)
}

// A light input, one event a millisecond, reaches a coalescing writer's
// sink in about one write per interval, and every event arrives. Without
// coalescing each event is a write of its own (a flusher drains it within
// 20µs, and the writer writes at once). Mutation caught: the writer never
// coalescing (light always false) makes about one write per event.
func TestWriteCoalescingGathersALightInput(t *testing.T) {
	const events, interval = 60, 20 * time.Millisecond
	sink := &callSink{}
	e, err := engine.New(engine.WithSink(sink), engine.WithWriteCoalescing(interval))
	require.NoError(t, err)
	defer func() { _, _ = e.Shutdown(context.Background()) }()
	l := e.Logger()
	start := time.Now()
	for i := range events {
		l.Info("light", core.Int("i", i))
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, e.Flush(ctx))
	require.EqualValues(t, events, sink.n.Load())
	// About one write per interval; twice that, and a few for the first
	// write (made at once) and the Flush, leave room for a slow machine.
	bound := 2*int64(elapsed/interval) + 4
	require.LessOrEqual(t, sink.calls.Load(), bound,
		"%d writes for %d events over %v with %v coalescing", sink.calls.Load(), events, elapsed, interval)
}

// A coalescing wait ends at once when a flusher pushes a full batch, so a
// burst is not held back by the interval: with an interval of a second,
// three batches' worth logged after a light write all arrive well within
// it. Mutation caught: no urgent signal from flusher.push holds the
// burst until the interval ends.
func TestWriteCoalescingDoesNotHoldAFullBatch(t *testing.T) {
	const batch = 64
	sink := &callSink{}
	e, err := engine.New(engine.WithSink(sink), engine.WithWriteCoalescing(time.Second),
		engine.WithBatchSize(batch), engine.WithShards(1))
	require.NoError(t, err)
	defer func() { _, _ = e.Shutdown(context.Background()) }()
	l := e.Logger()
	l.Info("first") // a light write: the writer then waits up to a second
	waitForCount(t, sink, 1, 5*time.Second)
	start := time.Now()
	for i := range 3 * batch {
		l.Info("burst", core.Int("i", i))
	}
	// The three full batches arrive; the last partial epoch may wait for
	// the next interval, so only full batches are counted on.
	require.Eventually(t, func() bool { return sink.n.Load() >= 1+2*batch }, 5*time.Second, time.Millisecond)
	require.Less(t, time.Since(start), 500*time.Millisecond, "a full batch waited for the coalescing interval")
}

// Flush and Shutdown end a coalescing wait: with an interval of a second,
// both return within a fraction of it and everything logged is written.
// Mutations caught: no flush request in coalesce's select (Flush waits
// for the interval), no urgent signal with a flusher's last watermark
// (Shutdown waits for it).
func TestFlushAndShutdownEndAWriteCoalescingWait(t *testing.T) {
	for _, end := range []string{"flush", "shutdown"} {
		t.Run(end, func(t *testing.T) {
			sink := &callSink{}
			e, err := engine.New(engine.WithSink(sink), engine.WithWriteCoalescing(time.Second))
			require.NoError(t, err)
			var once sync.Once
			shutdown := func() { once.Do(func() { _, _ = e.Shutdown(context.Background()) }) }
			defer shutdown()
			l := e.Logger()
			l.Info("first")
			waitForCount(t, sink, 1, 5*time.Second)
			l.Info("second") // the writer is in its coalescing wait
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			if end == "flush" {
				require.NoError(t, e.Flush(ctx))
			} else {
				_, err := e.Shutdown(ctx)
				require.NoError(t, err)
			}
			took := time.Since(start)
			require.EqualValues(t, 2, sink.n.Load())
			require.Less(t, took, 500*time.Millisecond, "%s waited for the coalescing interval", end)
		})
	}
}
