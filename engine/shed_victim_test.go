package engine_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
)

// A stalled sink whose backlog fills the budget in a few large batches,
// spread one per shard, is shed (budget, for it alone): the sink that
// keeps up loses nothing. Mutation caught: a victim only past one batch
// per shard in all (nothing was shed, the budget stayed over its limit,
// and the fast sink's events were refused at the call).
func TestAStalledSinkWithFewLargeBatchesIsShed(t *testing.T) {
	fast := sinks.NewMemory(sinks.MemoryOptions{})
	out, err := sinks.NewWriter(io.Discard, format.JSON{})
	require.NoError(t, err)
	slow := newGatedSink(out)
	slow.stalled.Store(true)
	e := newEngine(t, engine.WithShards(8), engine.WithBatchSize(4), engine.WithMaxQueueBytes(1<<20),
		engine.WithSink(fast, engine.SinkName("fast")), engine.WithSink(slow, engine.SinkName("slow")))
	t.Cleanup(func() { slow.stalled.Store(false); close(slow.gate) }) // before the engine's Shutdown
	l := e.Logger()
	l.Info("first")
	<-slow.entered // the slow sink's writer is inside a Write that does not return
	body := strings.Repeat("x", 100<<10)
	const n = 30
	for i := range n {
		l.Info("large", core.Int("i", i), core.String("body", body))
		time.Sleep(2 * time.Millisecond) // let the flushers keep up: the test is about the sinks
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The fast sink settles every event it accepted (written or dropped).
	for {
		s := e.Stats().Sinks[0]
		if s.Pending == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("fast sink never settled: %+v", s)
		case <-time.After(time.Millisecond):
		}
	}
	rep := e.Stats()
	b := e.Metrics(false).Engine.Budget
	t.Logf("fast %+v\nslow dropped %+v\nbudget %+v", rep.Sinks[0].Dropped, rep.Sinks[1].Dropped, *b)
	// One batch here charges about a fifth of the budget, more than the
	// room between the trim mark and the limit: a charge can pass the
	// limit before the shed it sets off has freed room, and a call that
	// finds the budget over then is refused (seen once in 3 runs under the
	// race detector, whose shard choice spreads the events). Before the
	// fix the fast sink lost 25 of 31 for good.
	require.LessOrEqual(t, rep.Sinks[0].Dropped.Total(), uint64(2), "the fast sink lost events to the stalled one: %+v", rep.Sinks[0].Dropped)
	require.Equal(t, uint64(n+1), rep.Sinks[0].Written+rep.Sinks[0].Dropped.Budget)
	require.Positive(t, rep.Sinks[1].Dropped.Budget, "the stalled sink's backlog was never shed")
}
