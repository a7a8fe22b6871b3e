package engine_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/breaker"
	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
)

// troubledSink fails, hangs or panics on the calls its mode picks, and
// otherwise writes to its Memory.
type troubledSink struct {
	*sinks.Memory
	calls atomic.Int64
	mode  func(call int64) string // "ok", "fail", "hang" (until ctx ends), "panic"
}

var errFlap = errors.New("flap")

func (s *troubledSink) Write(ctx context.Context, es []core.Entry) (int, error) {
	switch s.mode(s.calls.Add(1)) {
	case "fail":
		return 0, errFlap
	case "hang":
		<-ctx.Done()
		return 0, ctx.Err()
	case "panic":
		panic("sink exploded")
	}
	return s.Memory.Write(ctx, es)
}

// logSlowly logs n events, one every interval, so that the sink sees
// many small batches (and its breaker many calls).
func logSlowly(e *engine.Engine, n int, interval time.Duration) {
	for i := range n {
		e.Logger().Info("e", core.Int("i", i))
		time.Sleep(interval)
	}
}

// requireFallbackExact checks the two-sided accounting of a sink with a
// fallback: the fallback got exactly what was diverted, and every event
// the sink accepted has one outcome.
func requireFallbackExact(t *testing.T, s engine.SinkStats, fallback *sinks.Memory) {
	t.Helper()
	require.Zero(t, s.Pending, "%+v", s)
	require.Equal(t, s.Accepted, s.Written+s.Diverted+s.Failed+s.Dropped.Total(), "%+v", s)
	require.Equal(t, s.Diverted, s.FallbackWritten+s.FallbackFailed, "%+v", s)
	require.Equal(t, int(s.FallbackWritten), fallback.Len(), "the fallback holds exactly what it was said to write")
}

// A sink that fails in bursts: its breaker opens, its batches go to the
// fallback while it is open, it is probed and closes again when it
// recovers. Every event is accounted for once on each side, and a healthy
// sink beside it receives everything. Mutation caught: counting a diverted
// batch also as written or failed breaks the equations.
func TestFlappingSinkFallsBackExactly(t *testing.T) {
	s := &troubledSink{Memory: sinks.NewMemory(sinks.MemoryOptions{}), mode: func(c int64) string {
		if (c/10)%2 == 1 { // calls 10-19, 30-39, ... fail
			return "fail"
		}
		return "ok"
	}}
	fb := sinks.NewMemory(sinks.MemoryOptions{})
	healthy := sinks.NewMemory(sinks.MemoryOptions{})
	e := newEngine(t, engine.WithBatchSize(1),
		engine.WithSink(s, engine.SinkName("flappy"), engine.SinkFallback(fb),
			engine.SinkBreaker(breaker.Config{FailureThreshold: 3, ResetTimeout: 20 * time.Millisecond})),
		engine.WithSink(healthy, engine.SinkName("healthy")),
		engine.WithErrorHandler(func(error) {}))
	const n = 300
	logSlowly(e, n, 500*time.Microsecond)
	flush(t, e)
	rep := e.Stats()
	st := rep.Sinks[0]
	requireFallbackExact(t, st, fb)
	require.Positive(t, st.Diverted, "the breaker opened and the fallback took batches")
	require.Positive(t, st.Written, "the sink wrote while closed")
	require.Zero(t, st.Dropped.BreakerOpen, "with a fallback nothing is dropped for the breaker")
	m := e.Metrics(false).Sinks[0]
	require.NotNil(t, m.Breaker)
	require.Positive(t, m.Breaker.Transitions[breaker.Open], "it opened")
	require.Positive(t, m.Breaker.Transitions[breaker.Closed], "and closed again after a probe")
	require.Equal(t, uint64(n), rep.Sinks[1].Written, "the healthy sink got everything")
	requireBalanced(t, engine.Report{Sinks: rep.Sinks[1:]})
}

// Without a fallback, what the open breaker refuses is dropped
// (breaker-open) for that sink alone.
func TestOpenBreakerWithoutFallbackDrops(t *testing.T) {
	s := &troubledSink{Memory: sinks.NewMemory(sinks.MemoryOptions{}), mode: func(int64) string { return "fail" }}
	e := newEngine(t, engine.WithBatchSize(1),
		engine.WithSink(s, engine.SinkName("down"), engine.SinkBreaker(breaker.Config{FailureThreshold: 3, ResetTimeout: time.Hour})),
		engine.WithErrorHandler(func(error) {}))
	logSlowly(e, 50, 200*time.Microsecond)
	flush(t, e)
	st := e.Stats().Sinks[0]
	requireBalanced(t, e.Stats())
	require.Equal(t, uint64(3), st.Failed, "three failures trip it")
	require.Equal(t, uint64(47), st.Dropped.BreakerOpen, "the rest are refused while it is open")
	require.Equal(t, int64(3), s.calls.Load(), "an open breaker keeps the writer from calling the sink")
}

// A sink that hangs in Write (until its context ends) or panics: each
// call is a failure (a timeout, a recovered panic), the breaker opens,
// the fallback takes over, and a healthy sink beside it is not delayed.
// Mutation caught: not reporting outcomes to the breaker (a hung sink is
// then called, and waited for, every time).
func TestHangingAndPanickingSinksFallBack(t *testing.T) {
	for _, mode := range []string{"hang", "panic"} {
		t.Run(mode, func(t *testing.T) {
			s := &troubledSink{Memory: sinks.NewMemory(sinks.MemoryOptions{}), mode: func(int64) string { return mode }}
			fb := sinks.NewMemory(sinks.MemoryOptions{})
			healthy := sinks.NewMemory(sinks.MemoryOptions{})
			e := newEngine(t, engine.WithBatchSize(1),
				engine.WithSink(s, engine.SinkName("bad"), engine.SinkFallback(fb), engine.SinkWriteTimeout(20*time.Millisecond),
					engine.SinkBreaker(breaker.Config{FailureThreshold: 2, ResetTimeout: time.Hour})),
				engine.WithSink(healthy, engine.SinkName("healthy")),
				engine.WithErrorHandler(func(error) {}))
			start := time.Now()
			logSlowly(e, 100, 100*time.Microsecond)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			require.NoError(t, healthy.Wait(ctx, 100))
			require.Less(t, time.Since(start), 2*time.Second, "the healthy sink is not held up")
			flush(t, e)
			st := e.Stats().Sinks[0]
			requireFallbackExact(t, st, fb)
			require.Equal(t, uint64(2), st.Failed, "two failed calls open the breaker")
			require.Equal(t, uint64(98), st.Diverted)
			require.Equal(t, int64(2), s.calls.Load())
			if mode == "hang" {
				require.Equal(t, uint64(2), st.Timeouts)
			}
		})
	}
}
