package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
)

var queues = []engine.QueueKind{engine.LockFree, engine.MutexQueue}

func forEachQueue(t *testing.T, f func(t *testing.T, q engine.QueueKind)) {
	for _, q := range queues {
		t.Run(q.String(), func(t *testing.T) { f(t, q) })
	}
}

func newEngine(t *testing.T, opts ...engine.Option) *engine.Engine {
	t.Helper()
	e, err := engine.New(opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = e.Shutdown(ctx)
	})
	return e
}

func flush(t *testing.T, e *engine.Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, e.Flush(ctx))
}

// requireBalanced checks accepted = written + diverted + failed + dropped
// + pending with nothing pending, for every sink.
func requireBalanced(t *testing.T, r engine.Report) {
	t.Helper()
	for _, s := range r.Sinks {
		require.Zero(t, s.Pending, "sink %s: %+v", s.Name, s)
		require.Equal(t, s.Accepted, s.Written+s.Diverted+s.Failed+s.Dropped.Total(), "sink %s: %+v", s.Name, s)
	}
}

func TestLogReachesSinkAndIsAccounted(t *testing.T) {
	forEachQueue(t, func(t *testing.T, q engine.QueueKind) {
		mem := sinks.NewMemory(sinks.MemoryOptions{})
		e := newEngine(t, engine.WithSink(mem, engine.SinkName("mem")), engine.WithQueue(q))
		log := e.Logger()
		for i := range 100 {
			log.Info("hello", core.Int("i", i), core.String("k", "v"))
		}
		log.Debug("not enabled")
		flush(t, e)
		require.Equal(t, 100, mem.Len())
		evs := mem.Events()
		for i, ev := range evs {
			require.Equal(t, "hello", ev.Message)
			require.Equal(t, int64(i), ev.Fields()[0].Int64())
		}
		require.Contains(t, mem.Lines()[0], `"msg":"hello"`)
		st := e.Stats()
		require.Equal(t, uint64(100), st.Sinks[0].Accepted)
		require.Equal(t, uint64(100), st.Sinks[0].Written)
		requireBalanced(t, st)
	})
}
