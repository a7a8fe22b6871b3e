package engine

import (
	"testing"

	"github.com/shardlog/shardlog/budget"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/ring"
	"github.com/shardlog/shardlog/sinks"
)

// writerRig is a sink writer with two shards and no goroutines: the test
// plays the flushers, pushing batches and publishing watermarks by hand.
type writerRig struct {
	e   *Engine
	w   *sinkWriter
	mem *sinks.Memory
}

func newWriterRig(t *testing.T, capacity, batchSize, laneDepth int) *writerRig {
	t.Helper()
	q, err := ring.New(ring.Config[core.Event]{Shards: 2, Capacity: capacity})
	require.NoError(t, err)
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	sc := sinkConfig{sink: mem, name: "mem", minLevel: core.LevelTrace}
	e := &Engine{cfg: defaultConfig(), q: q, lf: q, classes: newLevelClasses([]sinkConfig{sc})}
	e.cfg.batchSize, e.cfg.laneDepth, e.cfg.capacity, e.cfg.shards = batchSize, laneDepth, capacity, 2
	e.flushers = []*flusher{newFlusher(e, 0), newFlusher(e, 1)}
	w := newSinkWriter(e, 0, sc, -1, 2)
	t.Cleanup(w.cancel)
	return &writerRig{e: e, w: w, mem: mem}
}

// push hands the writer a batch of events with the given Monos from shard
// s, carrying watermark wm (noWatermark for none), as a flusher would.
func (r *writerRig) push(t *testing.T, s int, wm int64, monos ...int64) {
	t.Helper()
	b := r.batch(s, wm, monos...)
	b.refs.Store(1)
	require.True(t, r.w.lanes[s].push(b, wm, r.e.cfg.laneDepth), "lane %d full", s)
}

// batch makes a prepared batch of shard s holding events with the given
// Monos, carrying watermark wm.
func (r *writerRig) batch(s int, wm int64, monos ...int64) *batch {
	b := newBatch(s, r.e.cfg.batchSize, 0, &freeList{ch: make(chan *batch, 8), kick: make(chan struct{}, 1)}, nil)
	for i, m := range monos {
		b.events[i].Mono = m
		b.class[i] = uint8(r.e.classes.of(b.events[i].Level))
	}
	b.n = len(monos)
	b.wm = wm
	b.sortByMono()
	return b
}

func (r *writerRig) publish(s int, wm int64) { r.e.flushers[s].wm.Store(wm) }

// drain runs writer rounds until one makes no progress (a round writes at
// most batchSize events).
func (r *writerRig) drain() {
	for i := 0; i < 1000; i++ {
		if progress, _ := r.w.round(); !progress {
			return
		}
	}
}

func (r *writerRig) written() (out []int64) {
	for _, ev := range r.mem.Events() {
		out = append(out, ev.Mono)
	}
	return out
}

// A writer that holds as many batches of a shard as it may must not use
// that shard's published watermark while batches below it still wait in
// the lane: another shard's later event would overtake them.
func TestWriterBoundIgnoresWatermarkBeyondUnpoppedBatches(t *testing.T) {
	// A round writes up to 8 events, so one round can empty every held
	// batch (one event each) and go on to other shards.
	r := newWriterRig(t, 16, 8, 2)
	limit := heldLimit(r.e)
	r.publish(1, 0) // shard 1 lags: nothing can be emitted yet

	// Shard 0: one-batch epochs, until the writer holds all it may.
	mono := int64(1)
	for range limit {
		r.push(t, 0, mono+1, mono)
		r.publish(0, mono+1)
		mono++
		r.w.round()
	}
	require.Empty(t, r.written(), "shard 1's watermark holds everything back")

	// Two more epochs wait in the lane: the writer is at its limit. Shard 0
	// then goes idle and its watermark moves far ahead.
	for range 2 {
		r.push(t, 0, mono+1, mono)
		r.publish(0, mono+1)
		mono++
	}
	r.publish(0, 1000)

	// The goroutine moved to shard 1 and logged event 500.
	r.push(t, 1, 600, 500)
	r.publish(1, 600)

	r.drain()
	var want []int64
	for m := int64(1); m < mono; m++ {
		want = append(want, m)
	}
	require.Equal(t, append(want, 500), r.written())
}

// The batches of a shard that wait on its own watermark span at most two
// epochs; with the held limit above that, the writer can always take the
// batch carrying the next watermark, and never stalls with work in hand.
func TestWriterNeverStallsAtItsLimit(t *testing.T) {
	r := newWriterRig(t, 16, 8, 64)
	const epoch = 16/8 + 1 // batches per epoch at most: ceil(capacity/batch) + 1
	r.publish(1, 1<<40)    // shard 1 is idle and far ahead

	// Every batch of epoch k holds one straggler stamped after the epoch's
	// t0, so nothing of epoch k can leave before epoch k+1's watermark.
	// All epochs are queued before the writer runs, so it must work
	// through them at its limit.
	t0 := int64(1000)
	var want []int64
	for k := 0; k < 6; k++ {
		for i := 0; i < epoch; i++ {
			wm := int64(noWatermark)
			if i == epoch-1 {
				wm = t0
			}
			r.push(t, 0, wm, t0-500+int64(i), t0+int64(i))
			want = append(want, t0-500+int64(i), t0+int64(i))
		}
		r.publish(0, t0)
		t0 += 1000
	}
	r.drain()
	require.Len(t, r.written(), len(want)-epoch, "all but the last epoch's stragglers are written: the writer did not stall")
	r.publish(0, 1<<40)
	r.drain()
	got := r.written()
	require.Len(t, got, len(want), "every event written: the writer did not stall")
	require.IsIncreasing(t, got)
}

// With conservative watermarks (an epoch publishes the previous epoch's
// t0 when that is later than its own t0 less the slack; see flusher), an
// epoch's stragglers are released only by the watermark two epochs on, so
// the batches waiting on their own shard span three epochs. Mutation
// caught: a held limit of 2E+1 (enough only for two epochs) leaves the
// writer stalled at its limit with the releasing batch still in the lane.
func TestWriterNeverStallsWithConservativeWatermarks(t *testing.T) {
	r := newWriterRig(t, 16, 8, 64)
	const epoch = 16/8 + 1 // batches per epoch at most: ceil(capacity/batch) + 1
	r.publish(1, 1<<40)    // shard 1 is idle and far ahead

	// Epoch k reads t0 = 1000k and publishes W = t0 of epoch k-1; each of
	// its batches holds an event before W and a straggler at t0+i.
	var want []int64
	prevT0 := int64(0)
	for k := 1; k <= 6; k++ {
		t0 := int64(1000 * k)
		for i := 0; i < epoch; i++ {
			wm := int64(noWatermark)
			if i == epoch-1 {
				wm = prevT0
			}
			r.push(t, 0, wm, prevT0-500+int64(i), t0+int64(i))
			want = append(want, prevT0-500+int64(i), t0+int64(i))
		}
		r.publish(0, prevT0)
		prevT0 = t0
	}
	r.drain()
	r.publish(0, 1<<40)
	r.drain()
	got := r.written()
	require.Len(t, got, len(want), "every event written: the writer did not stall")
	require.IsIncreasing(t, got)
}

// A batch dropped for a sink, because its lane was full or to shed memory
// for the budget, hands its watermark to the next entry the sink gets: a
// dropped batch that carried an epoch's watermark must not hold the
// sink's merge back (or, worse, let it wait for a watermark that never
// comes). Mutations caught: pushing b's own watermark instead of the
// maximum with the evicted one's, and shed forgetting the carried
// watermark.
func TestDroppedBatchHandsItsWatermarkOn(t *testing.T) {
	r := newWriterRig(t, 16, 8, 1)
	r.e.writers = []*sinkWriter{r.w}
	f := newFlusher(r.e, 0)
	mk := func(wm int64, monos ...int64) *batch { return r.batch(0, wm, monos...) }
	// Lane full (depth 1): the oldest batch is dropped to make room.
	f.publish(mk(40, 1, 2))
	f.publish(mk(noWatermark, 50, 60))
	require.Equal(t, uint64(2), r.w.counters.dropped[SinkLagging].Load())
	b, wm := r.w.lanes[0].pop()
	require.NotNil(t, b)
	require.Equal(t, int64(40), wm, "the evicted batch's watermark rides on the batch that took its place")
	require.Equal(t, int64(50), b.events[b.order[0]].Mono)

	// Shedding for the budget: above the trim mark, the oldest of two
	// queued batches is dropped, and its watermark rides on the next push.
	r.e.cfg.laneDepth = 4
	r.w.lanes[0] = newLane(4)
	bu, err := budget.New(1 << 20)
	require.NoError(t, err)
	bu.Charge(bu.TrimMark() + 1)
	r.e.budget = bu
	f.publish(mk(70, 61, 62))
	f.publish(mk(noWatermark, 71, 72))
	f.publish(mk(noWatermark, 73))
	f.shed()
	require.Equal(t, uint64(4), r.w.counters.dropped[Budget].Load(), "the two oldest batches, four events")
	require.Equal(t, 1, r.w.lanes[0].len(), "shedding stops at one batch in the lane (one per shard in all: the rig has two)")
	f.publish(mk(noWatermark, 80))
	_, wm = r.w.lanes[0].pop()
	require.Equal(t, int64(noWatermark), wm)
	_, wm = r.w.lanes[0].pop()
	require.Equal(t, int64(70), wm, "the shed batch's watermark rides on the next entry")
}

// The writer emits runs of one batch between heap fixes (round): a run
// must stop at the next event of every other cursor, the heap's second
// child included. Two overlapping batches of shard 0 (a straggler's) and
// one of shard 1 make three cursors that interleave. Mutations caught: a
// run that looks only at the root's first child, and a run that ignores
// the other cursors (both emit out of Mono order).
func TestWriterRunsStopAtEveryOtherCursor(t *testing.T) {
	r := newWriterRig(t, 16, 8, 64)
	// The heap starts as [1, 2, 3]; after 1 it is [2, 5, 3], where the
	// run of 2 must stop at 3, the second child, not at 5.
	r.push(t, 0, noWatermark, 1, 5, 7, 10, 11, 12)
	r.push(t, 0, 100, 2, 4, 8)
	r.push(t, 1, 100, 3, 6, 9, 13)
	r.publish(0, 100)
	r.publish(1, 100)
	r.drain()
	require.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, r.written())
}

// Events of one batch are out of Mono order when a goroutine claimed its
// slot before another but read the clock after it; sortByMono orders the
// batch's indexes and its merge keys together, and the writer merges by
// the keys. Two batches whose stragglers interleave with each other's
// events check both. Mutation caught: keys left behind when their indexes
// move (the writer then emits 4 before 3 and 7 before 6).
func TestWriterMergesBatchesWithStragglers(t *testing.T) {
	r := newWriterRig(t, 16, 8, 64)
	b := r.batch(0, 100, 1, 4, 2, 7, 5, 9)
	for k, idx := range b.order {
		require.Equal(t, b.events[idx].Mono, b.keys[k], "key %d", k)
	}
	r.push(t, 0, 100, 1, 4, 2, 7, 5, 9)
	r.push(t, 1, 100, 3, 8, 6, 10)
	r.publish(0, 100)
	r.publish(1, 100)
	r.drain()
	require.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, r.written())
}
