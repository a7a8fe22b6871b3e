package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/ring"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
)

// A lane shallower than lanePace (WithLaneDepth(2)) paces Block batches
// at its own depth: a slow sink that is still writing loses nothing of
// Block events; the callers wait. Mutation caught: pacing at lanePace
// only (the lane filled first, and 300 000 Block events were dropped
// sink-lagging against 20 000 written).
func TestSmallLaneDepthStillPacesBlock(t *testing.T) {
	out, err := sinks.NewWriter(slowWriter{delay: 2 * time.Millisecond}, format.JSON{})
	require.NoError(t, err)
	e := newEngine(t, engine.WithShards(1), engine.WithLaneDepth(2), engine.WithOverflow(ring.Block),
		engine.WithBlockTimeout(time.Minute), engine.WithSink(out, engine.SinkName("slow")))
	wg := flood(e, "paced", 4, 200*time.Millisecond)
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, e.Flush(ctx))
	rep := e.Stats()
	requireBalanced(t, rep)
	t.Logf("%d written, dropped %+v", rep.Sinks[0].Written, rep.Sinks[0].Dropped)
	require.Zero(t, rep.Sinks[0].Dropped.Total(), "Block events of a working sink were dropped: %+v", rep.Sinks[0].Dropped)
}
