package engine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/ring"
	"github.com/shardlog/shardlog/sinks"
)

// A loss marker takes the time of the first event of its batch, so the
// sink's printed times keep the order it receives records in. Mutation
// caught: the marker stamped with the clock at write time (it ran ahead
// of the events after it by the pipeline's latency, 30ms here).
func TestLossMarkerTimeDoesNotRunAheadOfTheBatch(t *testing.T) {
	marked := sinks.NewMemory(sinks.MemoryOptions{})
	entered, release := make(chan struct{}), make(chan struct{})
	e := newEngine(t, engine.WithShards(1), engine.WithCapacity(2), engine.WithBatchSize(1),
		engine.WithOverflow(ring.DropNewest),
		engine.WithEnricher(func(ev *core.Event) {
			if ev.Message == "first" {
				close(entered)
				<-release
			}
		}),
		engine.WithSink(marked, engine.SinkName("marked"), engine.SinkLossMarker(true)))
	log := e.Logger()
	log.Info("first")
	<-entered // the flusher is held: the shard fills, later calls are lost
	for range 20 {
		log.Info("lost or kept")
	}
	time.Sleep(30 * time.Millisecond) // the kept events wait in the ring
	close(release)
	flush(t, e)

	evs := marked.Events()
	require.Equal(t, uint64(1), e.Stats().Sinks[0].Markers, "the test must produce a marker")
	for i := 1; i < len(evs); i++ {
		require.False(t, evs[i].Time.Before(evs[i-1].Time),
			"printed time goes backwards: record %d %q at %s after record %d %q at %s",
			i, evs[i].Message, evs[i].Time.Format(time.RFC3339Nano),
			i-1, evs[i-1].Message, evs[i-1].Time.Format(time.RFC3339Nano))
	}
}
