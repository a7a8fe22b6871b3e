package engine_test

import (
	"context"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
)

// An engine that has written an event and gone idle keeps nothing of it
// alive: not in its ring slots (cleared by the drain), not in its
// batches (a flusher clears its free batches before it parks; see
// freeList in batch.go), not in its writers. A field's text is collected
// once the caller drops it. Mutation caught: a parking flusher that does
// not sweep its free list (TestBatchReleasedAfterTheFlusherParkedIsCleared
// covers a batch released after the sweep).
func TestIdleEngineKeepsNoEventAlive(t *testing.T) {
	sink, err := sinks.NewWriter(io.Discard, format.JSON{})
	require.NoError(t, err)
	e := newEngine(t, engine.WithSink(sink), engine.WithShards(1))

	collected := logTracked(e.Logger())
	flush(t, e)
	requireCollected(t, 10*time.Second, "the event's text is still reachable from the idle engine", collected)
}

// An engine kept after its Shutdown keeps nothing of the events it wrote:
// the last batches the writers released are swept once every flusher and
// writer has exited (closeSinks). Mutation caught: no sweep there (the
// flushers have exited, so none parks again to sweep).
func TestShutDownEngineKeepsNoEventAlive(t *testing.T) {
	sink, err := sinks.NewWriter(io.Discard, format.JSON{})
	require.NoError(t, err)
	e, err := engine.New(engine.WithSink(sink), engine.WithShards(1))
	require.NoError(t, err)

	collected := logTracked(e.Logger())
	_, err = e.Shutdown(context.Background())
	require.NoError(t, err)
	requireCollected(t, 3*time.Second, "the event's text is still reachable from the shut-down engine", collected)
	runtime.KeepAlive(e)
}

// logTracked logs a small event (the common path: inline fields, no
// truncation) whose one field's text is a fresh 512-byte buffer, and
// returns a flag the collector sets once nothing references that buffer.
func logTracked(l *engine.Logger) *atomic.Bool {
	collected := new(atomic.Bool)
	buf := new([512]byte)
	for i := range buf {
		buf[i] = 'x'
	}
	runtime.AddCleanup(buf, func(c *atomic.Bool) { c.Store(true) }, collected)
	l.Info("big", core.String("payload", unsafe.String(&buf[0], len(buf))))
	return collected
}

// requireCollected collects until every flag is set, or fails with msg
// after within.
func requireCollected(t *testing.T, within time.Duration, msg string, flags ...*atomic.Bool) {
	t.Helper()
	require.Eventually(t, func() bool {
		runtime.GC()
		for _, f := range flags {
			if !f.Load() {
				return false
			}
		}
		return true
	}, within, 20*time.Millisecond, msg)
}
