package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/breaker"
	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/drain"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
)

// scriptedSink answers each Write call as its script says: "fail"
// (an error), "na" (nothing attempted: core.ErrNotAttempted, as a sink
// whose own inner breaker or load shedder is refusing) or "ok".
type scriptedSink struct {
	calls  atomic.Int64
	script func(call int64) string
}

var errDestinationDown = errors.New("destination down")

func (s *scriptedSink) Write(_ context.Context, es []core.Entry) (int, error) {
	switch s.script(s.calls.Add(1)) {
	case "fail":
		return 0, errDestinationDown
	case "na":
		return 0, fmt.Errorf("inner breaker open: %w", core.ErrNotAttempted)
	}
	return len(es), nil
}
func (s *scriptedSink) Flush(context.Context) error { return nil }
func (s *scriptedSink) Close(context.Context) error { return nil }

// manualClock is a settable clock for breaker.Config.Clock.
type manualClock struct{ ns atomic.Int64 }

func (c *manualClock) now() time.Time { return time.Unix(1_700_000_000, c.ns.Load()) }

// A Write that attempted nothing (core.ErrNotAttempted, as from a sink's
// own inner breaker or load shedder) says nothing about the destination:
// a half-open probe answered so is handed back (breaker.Release), and the
// breaker does not close. Mutation caught: reporting it to the breaker as
// a success (the probe closed the breaker, before the fix).
func TestNotAttemptedProbeDoesNotCloseTheBreaker(t *testing.T) {
	s := &scriptedSink{script: func(c int64) string {
		if c == 1 {
			return "fail"
		}
		return "na"
	}}
	clk := &manualClock{}
	e := newEngine(t, engine.WithBatchSize(1),
		engine.WithSink(s, engine.SinkName("inner-breaker"), engine.SinkRetry(engine.NoRetry),
			engine.SinkBreaker(breaker.Config{FailureThreshold: 1, ResetTimeout: time.Second, Clock: clk.now})),
		engine.WithErrorHandler(func(error) {}))
	e.Logger().Info("first")
	flush(t, e)
	require.Equal(t, breaker.Open, e.Metrics(false).Sinks[0].Breaker.State, "one failure opens it")
	clk.ns.Add(int64(2 * time.Second))
	e.Logger().Info("probe")
	flush(t, e)
	require.Equal(t, int64(2), s.calls.Load(), "the probe reached the sink")
	st := e.Stats().Sinks[0]
	require.Equal(t, uint64(1), st.Dropped.NotAttempted)
	m := e.Metrics(false).Sinks[0].Breaker
	require.NotEqual(t, breaker.Closed, m.State,
		"a probe that attempted nothing closed the breaker (transitions %v)", m.Transitions)
}

// Nor does a not-attempted call end a closed breaker's run of failures:
// failures with only not-attempted calls between them trip it (threshold
// 2: fail, not attempted, fail). Mutation caught: reporting it as a
// success (10 failures never opened the breaker, before the fix).
func TestNotAttemptedDoesNotEndTheFailureRun(t *testing.T) {
	s := &scriptedSink{script: func(c int64) string {
		if c%2 == 1 {
			return "fail"
		}
		return "na"
	}}
	e := newEngine(t, engine.WithBatchSize(1),
		engine.WithSink(s, engine.SinkName("alternating"), engine.SinkRetry(engine.NoRetry),
			engine.SinkBreaker(breaker.Config{FailureThreshold: 2, ResetTimeout: time.Hour})),
		engine.WithErrorHandler(func(error) {}))
	for i := range 20 {
		e.Logger().Info("e", core.Int("i", i))
		flush(t, e)
	}
	m := e.Metrics(false).Sinks[0].Breaker
	require.Equal(t, uint64(1), m.Transitions[breaker.Open], "fail, not attempted, fail: open")
	require.Equal(t, int64(3), s.calls.Load(), "the open breaker (an hour) kept the writer from calling the sink again")
	st := e.Stats().Sinks[0]
	require.Equal(t, uint64(17), st.Dropped.BreakerOpen)
	requireBalanced(t, e.Stats())
}

// A Write the shutdown cancels (its deadline passed, the sink honouring
// its context) tells the breaker nothing: it does not open during the
// drain. Mutation caught: reporting the cancellation as a failure (with
// threshold 1 the breaker opened, and said so, in every such drain).
func TestAWriteCanceledByShutdownIsNoBreakerFailure(t *testing.T) {
	s := &troubledSink{Memory: sinks.NewMemory(sinks.MemoryOptions{}), mode: func(int64) string { return "hang" }}
	e := newEngine(t, engine.WithSink(s, engine.SinkName("hangs"), engine.SinkRetry(engine.NoRetry),
		engine.SinkBreaker(breaker.Config{FailureThreshold: 1, ResetTimeout: time.Hour})),
		engine.WithErrorHandler(func(error) {}))
	e.Logger().Info("held by a hung write")
	require.Eventually(t, func() bool { return s.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	_, err := e.Shutdown(context.Background(), drain.Graceful(20*time.Millisecond))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	rep := settledStats(t, e)
	requireBalanced(t, rep)
	require.Equal(t, uint64(1), rep.Sinks[0].Dropped.Shutdown, "%+v", rep.Sinks[0])
	m := e.Metrics(false).Sinks[0].Breaker
	require.Zero(t, m.Transitions[breaker.Open], "a canceled write is not a failure of the sink")
}

// settledStats waits until no sink of e is stuck or has events pending
// (a writer canceled at Shutdown's deadline gets 2ms to come back before
// Shutdown returns; on a loaded machine it may take longer) and returns
// the stats then.
func settledStats(t *testing.T, e *engine.Engine) engine.Report {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, s := range e.Stats().Sinks {
			if s.Stuck || s.Pending != 0 {
				return false
			}
		}
		return true
	}, 5*time.Second, time.Millisecond, "the canceled calls came back")
	return e.Stats()
}
