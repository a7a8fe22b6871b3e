package engine

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/ring"
	"github.com/shardlog/shardlog/sinks"
)

// A flusher holds a completed epoch's batch while every writer that wants
// any of its events has batches of the shard still queued: a sink for
// errors only, idle beside a busy sink for everything, does not stop the
// hold of a batch of Info events, but does once the batch holds an error,
// once it waits for a watermark, and when an enricher may change levels.
// Mutation caught: the old rule (any writer with an empty lane stops the
// hold), which fails the first assertion.
func TestHoldIgnoresAnIdleSinkThatWantsNoneOfTheBatch(t *testing.T) {
	q, err := ring.New(ring.Config[core.Event]{Shards: 1, Capacity: 64})
	require.NoError(t, err)
	all := sinkConfig{sink: sinks.NewMemory(sinks.MemoryOptions{}), name: "all", minLevel: core.LevelTrace}
	errs := sinkConfig{sink: sinks.NewMemory(sinks.MemoryOptions{}), name: "errors", minLevel: core.LevelError}
	e := &Engine{cfg: defaultConfig(), q: q, lf: q, classes: newLevelClasses([]sinkConfig{all, errs})}
	e.cfg.laneDepth, e.cfg.capacity, e.cfg.shards = 8, 64, 1
	f := newFlusher(e, 0)
	e.flushers = []*flusher{f}
	wAll, wErrs := newSinkWriter(e, 0, all, -1, 1), newSinkWriter(e, 1, errs, -1, 1)
	t.Cleanup(wAll.cancel)
	t.Cleanup(wErrs.cancel)
	e.writers = []*sinkWriter{wAll, wErrs}

	// The busy sink has a batch of this shard queued; the errors sink has
	// none and waits for nothing.
	queued := newBatch(0, 4, 0, f.free, nil)
	require.True(t, wAll.lanes[0].push(queued, noWatermark, e.cfg.laneDepth))

	b := newBatch(0, 8, 0, f.free, nil)
	for i := range 3 {
		b.events[i].Level = core.LevelInfo
	}
	b.n = 3
	require.True(t, f.hold(b), "the errors sink wants none of these events: hold")

	b.events[3].Level = core.LevelError
	b.n = 4
	require.False(t, f.hold(b), "the errors sink wants the error and its lane is empty: push")

	b.n = 3
	b.scanned, b.top = 0, 0 // as a fresh batch of three Info events
	wErrs.waitingForWatermark.Store(true)
	require.False(t, f.hold(b), "a writer waiting for a watermark stops the hold")
	wErrs.waitingForWatermark.Store(false)

	e.cfg.enrichers = []Enricher{func(*core.Event) {}}
	require.False(t, f.hold(b), "with an enricher, a level may change: every writer counts")
	e.cfg.enrichers = nil

	// With the sink for everything idle too, the batch is pushed without
	// reading its levels: that writer wants any batch.
	got, _ := wAll.lanes[0].pop()
	require.Same(t, queued, got)
	b.scanned, b.top = 0, 0
	require.False(t, f.hold(b), "the sink for everything is idle: push")
	require.Zero(t, b.scanned, "no level was read to decide it")
}
