package engine_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/drain"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
)

// failOnceSink fails its first Write with a transient error and
// writes every later one to its inner sink.
type failOnceSink struct {
	inner core.Sink
	calls atomic.Int32
}

func (s *failOnceSink) Write(ctx context.Context, b []core.Entry) (int, error) {
	if s.calls.Add(1) == 1 {
		return 0, errors.New("transient: connection reset")
	}
	return s.inner.Write(ctx, b)
}
func (s *failOnceSink) Flush(ctx context.Context) error { return s.inner.Flush(ctx) }
func (s *failOnceSink) Close(ctx context.Context) error { return s.inner.Close(ctx) }

// A batch whose first Write failed and that waits for its retry is held
// by the writer; a shutdown that ends the wait (Immediate, or a deadline)
// loses it to the shutdown: counted shutdown, not failed, as everything
// else the writer holds. The failed attempt itself still counts in
// Errors. Mutation caught: counting the rest failed, as the previous
// attempt's error said (Failed 1, Shutdown 0, before the fix).
func TestRetryCutByShutdownCountsShutdownNotFailed(t *testing.T) {
	for _, s := range []drain.Strategy{drain.Immediate, drain.Graceful(50 * time.Millisecond)} {
		t.Run(s.String(), func(t *testing.T) {
			mem := sinks.NewMemory(sinks.MemoryOptions{})
			sink := &failOnceSink{inner: mem}
			retry := engine.RetryPolicy{MaxAttempts: 3, InitialBackoff: 10 * time.Second, MaxBackoff: 10 * time.Second,
				Multiplier: 1, MaxElapsed: time.Minute}
			e := newEngine(t, engine.WithShards(2), engine.WithSink(sink, engine.SinkName("flaky"), engine.SinkRetry(retry)),
				engine.WithErrorHandler(func(error) {}))
			e.Logger().Info("held for a retry")
			require.Eventually(t, func() bool { return sink.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
			// The writer now waits 10s to retry; the shutdown halts it.
			_, _ = e.Shutdown(context.Background(), s)
			rep := settledStats(t, e)
			st := rep.Sinks[0]
			requireBalanced(t, rep)
			require.Zero(t, st.Failed, "a retry the shutdown cut short is not a sink failure: %+v", st.Dropped)
			require.Equal(t, uint64(1), st.Dropped.Shutdown, "%+v", st)
		})
	}
}

// A call after Shutdown is dropped closed whatever its size: the slow
// path (admit) checks the queue before the size limit and the budget.
// Mutation caught: the closed check after the size check (counted
// too-large, before the fix).
func TestCallAfterShutdownIsClosedWhateverItsSize(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	e := newEngine(t, engine.WithSink(mem), engine.WithMaxEventBytes(1024), engine.WithOversizedEvents(engine.Refuse))
	_, err := e.Shutdown(context.Background())
	require.NoError(t, err)
	e.Logger().Info("after the shutdown", core.String("big", strings.Repeat("x", 4096)))
	st := e.Stats().Sinks[0]
	require.Equal(t, uint64(1), st.Dropped.Closed, "logged after Shutdown: closed, %+v", st.Dropped)
	require.Zero(t, st.Dropped.TooLarge, "%+v", st.Dropped)
}

// An event a filter (or a sink's level) excludes during the drain is
// withheld, not lost: a drain that delivered everything else is Clean
// and has lost nothing, so drain.HandleSignals with Exit does not exit 1
// for it. Mutation caught: every drop reason in the drain's Dropped
// (Lost 1, Clean false, before the fix).
func TestFilteredEventIsNotALossOfTheDrain(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	e := newEngine(t, engine.WithSink(mem),
		engine.WithFilter(func(ev *core.Event) bool { return ev.Message != "noise" }))
	// A handler logs during the drain (its events are delivered), one
	// line of it noise the application filters out on purpose.
	require.NoError(t, e.OnShutdown("goodbye", func(context.Context) error {
		e.Logger().Info("noise")
		e.Logger().Info("closing the listener")
		return nil
	}))
	rep, err := e.Shutdown(context.Background())
	require.NoError(t, err)
	requireBalanced(t, rep)
	require.Equal(t, 1, mem.Len())
	require.Zero(t, rep.Drain.Lost(), "a filtered event is not lost: %s", rep.Drain)
	require.True(t, rep.Drain.Clean(), "nothing went wrong: %s", rep.Drain)
}
