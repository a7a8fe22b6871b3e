package engine

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/ring"
	"github.com/shardlog/shardlog/sinks"
)

// A batch is pushed only to the writers that want one of its events; the
// watermark of one a writer skips rides on the next entry that writer
// gets (flusher.publish). Without that, an errors-only sink beside a sink
// for everything, whose epochs end on INFO-only batches, never got a
// watermark on its lane: its bound moved only when it found its lane
// empty, and once it fell more than heldLimit batches behind (one slow
// Write) it held its limit of batches all waiting on that bound and
// stalled for good (0 of 20 errors, before the fix). Mutation caught:
// neither the carried watermark nor collect's taking past the limit
// (either one alone passes this; the next two tests tell them apart).
func TestAnUninterestedWriterGetsTheWatermark(t *testing.T) {
	const capacity, batchSize = 16, 8
	q, err := ring.New(ring.Config[core.Event]{Shards: 2, Capacity: capacity})
	require.NoError(t, err)
	memAll := sinks.NewMemory(sinks.MemoryOptions{})
	memErr := sinks.NewMemory(sinks.MemoryOptions{})
	scAll := sinkConfig{sink: memAll, name: "all", minLevel: core.LevelTrace}
	scErr := sinkConfig{sink: memErr, name: "errors", minLevel: core.LevelError}
	e := &Engine{cfg: defaultConfig(), q: q, lf: q, classes: newLevelClasses([]sinkConfig{scAll, scErr})}
	e.cfg.batchSize, e.cfg.laneDepth, e.cfg.capacity, e.cfg.shards = batchSize, 64, capacity, 2
	wAll := newSinkWriter(e, 0, scAll, -1, 2)
	wErr := newSinkWriter(e, 1, scErr, -1, 2)
	t.Cleanup(wAll.cancel)
	t.Cleanup(wErr.cancel)
	e.writers = []*sinkWriter{wAll, wErr}
	e.flushers = []*flusher{newFlusher(e, 0), newFlusher(e, 1)}
	f := e.flushers[0]
	e.flushers[1].wm.Store(1 << 40) // shard 1 is idle and far ahead

	free := &freeList{ch: make(chan *batch, 256), kick: make(chan struct{}, 1)}
	mk := func(wm int64, lvl core.Level, mono int64) *batch {
		b := newBatch(0, batchSize, 0, free, nil)
		b.events[0].Mono, b.events[0].Level = mono, lvl
		b.class[0] = uint8(e.classes.of(lvl))
		b.n, b.wm = 1, wm
		b.sortByMono()
		return b
	}
	drain := func(w *sinkWriter) {
		for range 1000 {
			if progress, _ := w.round(); !progress {
				return
			}
		}
	}
	// Epoch k: an ERROR at 1000k+1, then the epoch's last batch, INFO at
	// 1000k+2, carrying the epoch's watermark 1000k+3; the flusher pushes
	// and then publishes. The sink for everything keeps up; the errors
	// sink is inside one slow Write for the first 12 epochs.
	epochs := 0
	run := func(n int, errorsToo bool) {
		for range n {
			epochs++
			base := int64(1000 * epochs)
			f.publish(mk(noWatermark, core.LevelError, base+1))
			f.publish(mk(base+3, core.LevelInfo, base+2))
			f.wm.Store(base + 3)
			drain(wAll)
			if errorsToo {
				drain(wErr)
			}
		}
	}
	run(12, false)
	drain(wErr) // the Write returns
	run(8, true)
	f.wm.Store(1 << 40) // the shard goes idle, its watermark far ahead
	drain(wAll)
	drain(wErr)

	require.Len(t, memAll.Events(), 2*epochs, "the sink for everything got every event")
	t.Logf("errors writer: held %d (limit %d), lane %d, bound %d", wErr.held[0], heldLimit(e), wErr.lanes[0].len(), wErr.bound[0])
	require.Len(t, memErr.Events(), epochs,
		"the errors sink gets every ERROR once the shard's watermark is far ahead; it stalled at its held limit instead")
}

// The watermark of a batch a writer skips is on the next entry that
// writer gets. Mutation caught: skipping without carrying it (the next
// entry of the errors writer's lane carried none).
func TestASkippedBatchsWatermarkRidesOnTheNextEntry(t *testing.T) {
	q, err := ring.New(ring.Config[core.Event]{Shards: 1, Capacity: 16})
	require.NoError(t, err)
	scAll := sinkConfig{sink: sinks.NewMemory(sinks.MemoryOptions{}), name: "all", minLevel: core.LevelTrace}
	scErr := sinkConfig{sink: sinks.NewMemory(sinks.MemoryOptions{}), name: "errors", minLevel: core.LevelError}
	e := &Engine{cfg: defaultConfig(), q: q, lf: q, classes: newLevelClasses([]sinkConfig{scAll, scErr})}
	e.cfg.batchSize, e.cfg.laneDepth, e.cfg.capacity, e.cfg.shards = 8, 64, 16, 1
	wAll, wErr := newSinkWriter(e, 0, scAll, -1, 1), newSinkWriter(e, 1, scErr, -1, 1)
	t.Cleanup(wAll.cancel)
	t.Cleanup(wErr.cancel)
	e.writers = []*sinkWriter{wAll, wErr}
	e.flushers = []*flusher{newFlusher(e, 0)}
	f := e.flushers[0]
	free := &freeList{ch: make(chan *batch, 8), kick: make(chan struct{}, 1)}
	mk := func(wm int64, lvl core.Level, mono int64) *batch {
		b := newBatch(0, 8, 0, free, nil)
		b.events[0].Mono, b.events[0].Level = mono, lvl
		b.class[0] = uint8(e.classes.of(lvl))
		b.n, b.wm = 1, wm
		b.sortByMono()
		return b
	}
	f.publish(mk(noWatermark, core.LevelError, 1))
	f.publish(mk(100, core.LevelInfo, 2)) // the epoch's last batch: INFO only
	f.publish(mk(noWatermark, core.LevelError, 101))
	_, wm1 := wErr.lanes[0].pop()
	_, wm2 := wErr.lanes[0].pop()
	require.Equal(t, int64(noWatermark), wm1)
	require.Equal(t, int64(100), wm2, "the skipped batch's watermark rides on the errors writer's next entry")
}
