package engine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/breaker"
	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
)

// stallingFallback rejects the first entry of the first batch of two
// or more it gets (core.ErrRejected), then holds the next call (the rest
// of that batch) until released.
type stallingFallback struct {
	*sinks.Memory
	mu       sync.Mutex
	rejected bool
	held     bool
	entered  chan struct{}
	release  chan struct{}
}

func (s *stallingFallback) Write(ctx context.Context, es []core.Entry) (int, error) {
	s.mu.Lock()
	switch {
	case !s.rejected && len(es) >= 2:
		s.rejected = true
		s.mu.Unlock()
		return 0, fmt.Errorf("too large: %w", core.ErrRejected)
	case s.rejected && !s.held:
		s.held = true
		s.mu.Unlock()
		close(s.entered)
		<-s.release
	default:
		s.mu.Unlock()
	}
	return s.Memory.Write(ctx, es)
}

// Diverted = FallbackWritten + FallbackFailed in every reading, even in
// the middle of a divert that takes two fallback calls (its first entry
// rejected, core.ErrRejected). Mutation caught: a Diverted counter added
// after the last fallback call (Diverted 0 beside FallbackFailed 1,
// before the fix).
func TestDivertedEqualsFallbackOutcomesAtAnyMoment(t *testing.T) {
	down := &troubledSink{Memory: sinks.NewMemory(sinks.MemoryOptions{}), mode: func(int64) string { return "fail" }}
	fb := &stallingFallback{Memory: sinks.NewMemory(sinks.MemoryOptions{}),
		entered: make(chan struct{}), release: make(chan struct{})}
	e := newEngine(t, engine.WithSink(down, engine.SinkName("down"), engine.SinkFallback(fb), engine.SinkRetry(engine.NoRetry),
		engine.SinkBreaker(breaker.Config{FailureThreshold: 1, ResetTimeout: time.Hour})),
		engine.WithErrorHandler(func(error) {}))
	var once sync.Once
	releaseFb := func() { once.Do(func() { close(fb.release) }) }
	t.Cleanup(releaseFb) // before the engine's shutdown
	e.Logger().Info("trips the breaker")
	flush(t, e)
	for i := range 500 {
		e.Logger().Info("e", core.Int("i", i))
	}
	select {
	case <-fb.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no diverted batch of two or more events")
	}
	st := e.Stats().Sinks[0]
	releaseFb()
	require.Equal(t, st.Diverted, st.FallbackWritten+st.FallbackFailed,
		"Diverted = FallbackWritten + FallbackFailed broken mid-divert: %+v", st)
}
