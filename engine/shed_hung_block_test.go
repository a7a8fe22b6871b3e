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

// A sink hung in a Write with its Block backlog filling the budget (in
// fewer batches than pacing needs to see it stall) is taken for hung by
// the shed (in its call for longer than 10ms and sixteen of its usual
// calls) and shed, so the others' Block callers do not all time out.
// Mutation caught: shed stopping at any Block batch of a sink not marked
// lagging (the healthy sink got 3 of 21 events; a regression of this
// session's "a working Block sink is not shed", found by review).
func TestAHungBlockSinkDoesNotStarveTheOthers(t *testing.T) {
	fast := sinks.NewMemory(sinks.MemoryOptions{})
	out, err := sinks.NewWriter(io.Discard, format.JSON{})
	require.NoError(t, err)
	slow := newGatedSink(out)
	slow.stalled.Store(true)
	e := newEngine(t, engine.WithShards(1), engine.WithBatchSize(4), engine.WithMaxQueueBytes(1<<20),
		engine.WithOverflow(ring.Block), engine.WithBlockTimeout(20*time.Millisecond),
		engine.WithSink(fast, engine.SinkName("fast")), engine.WithSink(slow, engine.SinkName("slow")))
	t.Cleanup(func() { slow.stalled.Store(false); close(slow.gate) }) // before the engine's Shutdown
	l := e.Logger()
	l.Info("first")
	<-slow.entered // the slow sink's writer is inside a Write that does not return
	body := strings.Repeat("x", 250<<10)
	const n = 20
	for i := range n {
		l.Info("large", core.Int("i", i), core.String("body", body))
		time.Sleep(10 * time.Millisecond) // well past stallAfter (5ms) each time
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
	b := e.Metrics(false).Engine.Budget
	t.Logf("fast written %d dropped %+v\nslow dropped %+v\nbudget %+v", rep.Sinks[0].Written, rep.Sinks[0].Dropped, rep.Sinks[1].Dropped, *b)
	require.Zero(t, rep.Sinks[0].Dropped.Total(), "the fast sink lost events to the hung one: %+v", rep.Sinks[0].Dropped)
	require.Equal(t, uint64(n+1), rep.Sinks[0].Written)
}
