package engine_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/breaker"
	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
)

// pickySink writes to its Memory every entry up to the first whose
// message is "poison", which it rejects (core.ErrRejected) as a sink
// rejects a record too large for its destination.
type pickySink struct {
	*sinks.Memory
	calls atomic.Int64
}

func (s *pickySink) Write(ctx context.Context, es []core.Entry) (int, error) {
	s.calls.Add(1)
	for i := range es {
		if es[i].Event.Message == "poison" {
			n, err := s.Memory.Write(ctx, es[:i])
			if err != nil {
				return n, err
			}
			return i, fmt.Errorf("record too large: %w", core.ErrRejected)
		}
	}
	return s.Memory.Write(ctx, es)
}

// logWithPoison logs n events, every fifth one "poison", and returns how
// many were poison.
func logWithPoison(e *engine.Engine, n int) (poison int) {
	for i := range n {
		if i%5 == 2 {
			e.Logger().Info("poison", core.Int("i", i))
			poison++
			continue
		}
		e.Logger().Info("good", core.Int("i", i))
	}
	return poison
}

// An entry the sink rejects (core.ErrRejected) fails alone: the entries
// after it in its batch are written at once, nothing is retried, and the
// sink's breaker counts no failure. Mutations caught: treating the
// rejection as any other error (the rest of each batch is retried three
// times and fails, Retries > 0), and reporting it to the breaker as a
// failure (40 rejections in a row open it: breaker-open drops).
func TestARejectedEntryCostsOnlyItself(t *testing.T) {
	s := &pickySink{Memory: sinks.NewMemory(sinks.MemoryOptions{})}
	e := newEngine(t, engine.WithSink(s, engine.SinkName("picky"),
		engine.SinkBreaker(breaker.Config{FailureThreshold: 3, ResetTimeout: time.Hour})),
		engine.WithErrorHandler(func(error) {}))
	const n = 1000
	poison := logWithPoison(e, n)
	flush(t, e)
	st := e.Stats().Sinks[0]
	requireBalanced(t, e.Stats())
	require.Equal(t, uint64(n-poison), st.Written, "%+v", st)
	require.Equal(t, uint64(poison), st.Failed, "each rejected entry fails, alone")
	require.Equal(t, uint64(poison), st.Errors, "each is reported")
	require.Zero(t, st.Retries)
	require.Zero(t, st.Dropped.Total(), "the breaker stayed closed: %+v", st.Dropped)
	require.Equal(t, n-poison, s.Len())
	prev := -1
	for _, ev := range s.Events() { // in order, none twice
		require.Equal(t, "good", ev.Message)
		i := int(ev.Fields()[0].Int64())
		require.Greater(t, i, prev)
		prev = i
	}
}

// The same holds in a fallback: while the sink's breaker is open, an
// entry the fallback rejects fails alone and the rest of the diverted
// batch reaches the fallback. Mutation caught: stopping at the first
// rejection (the rest of each batch counted FallbackFailed).
func TestARejectedEntryInAFallbackCostsOnlyItself(t *testing.T) {
	down := &troubledSink{Memory: sinks.NewMemory(sinks.MemoryOptions{}), mode: func(int64) string { return "fail" }}
	fb := &pickySink{Memory: sinks.NewMemory(sinks.MemoryOptions{})}
	e := newEngine(t, engine.WithSink(down, engine.SinkName("down"), engine.SinkFallback(fb), engine.SinkRetry(engine.NoRetry),
		engine.SinkBreaker(breaker.Config{FailureThreshold: 1, ResetTimeout: time.Hour})),
		engine.WithErrorHandler(func(error) {}))
	e.Logger().Info("trips the breaker")
	flush(t, e)
	const n = 500
	poison := logWithPoison(e, n)
	flush(t, e)
	st := e.Stats().Sinks[0]
	requireBalanced(t, e.Stats())
	require.Equal(t, uint64(1), st.Failed, "the call that tripped the breaker")
	require.Equal(t, uint64(n), st.Diverted)
	require.Equal(t, uint64(poison), st.FallbackFailed)
	require.Equal(t, uint64(n-poison), st.FallbackWritten)
	require.Equal(t, n-poison, fb.Len())
}
