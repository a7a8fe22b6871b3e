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
	"github.com/shardlog/shardlog/ring"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
)

// stalledBesideFast runs n large events (body bytes each, every pause)
// through an engine with a sink that keeps up ("fast", a Memory) and one
// whose writer is inside a Write that does not return ("slow"), and
// returns the report once the fast sink has settled every event.
func stalledBesideFast(t *testing.T, n, body int, pause time.Duration, opts ...engine.Option) engine.Report {
	t.Helper()
	fast := sinks.NewMemory(sinks.MemoryOptions{})
	out, err := sinks.NewWriter(io.Discard, format.JSON{})
	require.NoError(t, err)
	slow := newGatedSink(out)
	slow.stalled.Store(true)
	e := newEngine(t, append(opts, engine.WithSink(fast, engine.SinkName("fast")), engine.WithSink(slow, engine.SinkName("slow")))...)
	t.Cleanup(func() { slow.stalled.Store(false); close(slow.gate) }) // before the engine's Shutdown
	l := e.Logger()
	l.Info("first")
	<-slow.entered
	text := strings.Repeat("x", body)
	for i := range n {
		l.Info("large", core.Int("i", i), core.String("body", text))
		time.Sleep(pause)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
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
	t.Logf("fast written %d dropped %+v\nslow dropped %+v\nbudget %+v",
		rep.Sinks[0].Written, rep.Sinks[0].Dropped, rep.Sinks[1].Dropped, *e.Metrics(false).Engine.Budget)
	return rep
}

// A stalled sink whose backlog fills the budget in a few large batches,
// spread one per shard, is shed (budget, for it alone): the sink that
// keeps up loses nothing. Mutation caught: a victim only past one batch
// per shard in all (nothing was shed, the budget stayed over its limit,
// and the fast sink's events were refused at the call).
func TestAStalledSinkWithFewLargeBatchesIsShed(t *testing.T) {
	const n = 30
	// 8 shards, events of ~100 KiB: each batch charges 200 KiB or more
	// with its encoding, so the 1 MiB budget holds at most 5 of them.
	rep := stalledBesideFast(t, n, 100<<10, 2*time.Millisecond,
		engine.WithShards(8), engine.WithBatchSize(4), engine.WithMaxQueueBytes(1<<20))
	// One batch here charges about a fifth of the budget, more than the
	// room between the trim mark and the limit: a charge can pass the
	// limit before the shed it sets off has freed room, and a call that
	// finds the budget over then is refused (seen once in 3 runs under the
	// race detector, whose shard choice spreads the events; more when
	// other tests share the 2 cores). Before the fix the fast sink lost
	// 25 of 31 for good.
	require.LessOrEqual(t, rep.Sinks[0].Dropped.Total(), uint64(6), "the fast sink lost events to the stalled one: %+v", rep.Sinks[0].Dropped)
	require.Equal(t, uint64(n+1), rep.Sinks[0].Written+rep.Sinks[0].Dropped.Budget)
	require.Positive(t, rep.Sinks[1].Dropped.Budget, "the stalled sink's backlog was never shed")
}

// A sink hung in a Write with its Block backlog filling the budget (in
// fewer batches than pacing needs to see it stall) is taken for hung by
// the shed (in its call for longer than 50ms and sixteen of its usual
// calls) and shed, so the others' Block callers do not all time out.
// Mutation caught: shed stopping at any Block batch of a sink not marked
// lagging (the healthy sink got 3 of 21 events; a regression of this
// session's "a working Block sink is not shed", found by review).
func TestAHungBlockSinkDoesNotStarveTheOthers(t *testing.T) {
	const n = 20
	rep := stalledBesideFast(t, n, 250<<10, 10*time.Millisecond,
		engine.WithShards(1), engine.WithBatchSize(4), engine.WithMaxQueueBytes(1<<20),
		engine.WithOverflow(ring.Block), engine.WithBlockTimeout(500*time.Millisecond))
	require.Zero(t, rep.Sinks[0].Dropped.Total(), "the fast sink lost events to the hung one: %+v", rep.Sinks[0].Dropped)
	require.Equal(t, uint64(n+1), rep.Sinks[0].Written)
}
