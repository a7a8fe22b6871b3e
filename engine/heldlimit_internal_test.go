package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// heldLimit's argument (three epochs' batches) assumes an epoch's
// watermark reaches the writer within them. A batch dropped for a
// lagging sink (its lane full) hands its watermark to an entry up to a
// lane depth further on, past the batches of the next epoch, which wait
// too. With the straggler pattern of
// TestWriterNeverStallsWithConservativeWatermarks and a writer inside a
// sink Write for four pushes, the writer reached its limit holding
// batches that all waited on a watermark it could not pop, and stalled
// for good (18 of 38 events, before the fix). collect now takes past the
// limit while nothing it holds of the shard can go (waitsOnItsOwnBound).
// Mutation caught: no taking past the limit.
func TestADroppedCarrierDoesNotStallTheWriterAtItsLimit(t *testing.T) {
	const laneDepth = 3
	r := newWriterRig(t, 16, 8, laneDepth)
	r.e.writers = []*sinkWriter{r.w}
	f := newFlusher(r.e, 0)
	const epoch = 16/8 + 1 // E: batches per epoch at most
	limit := heldLimit(r.e)
	require.Equal(t, 3*epoch+1, limit)
	r.publish(1, 1<<40) // shard 1 is idle and far ahead

	// Epoch k reads t0 = 1000k and publishes W = t0 of epoch k-1 (the
	// conservative watermark); each of its batches holds an event before W
	// and a straggler at t0+i (released two epochs on), as in
	// TestWriterNeverStallsWithConservativeWatermarks.
	total := 0
	prevT0 := int64(0)
	push := func(k, i int) {
		t0 := int64(1000 * k)
		wm := int64(noWatermark)
		if i == epoch-1 {
			wm = prevT0
		}
		f.publish(r.batch(0, wm, prevT0-500+int64(i), t0+int64(i)))
		total += 2
		if i == epoch-1 {
			r.publish(0, prevT0) // the flusher publishes after the push
			prevT0 = t0
		}
	}
	k := 1
	// A sink that keeps up: the writer runs after every push.
	for ; k <= 4; k++ {
		for i := range epoch {
			push(k, i)
			r.drain()
		}
	}
	// Epoch 5: the writer takes two batches, then spends the next four
	// pushes inside a slow Write; the lane (depth 3) fills and the batch
	// carrying epoch 5's watermark is dropped for the sink (sink-lagging).
	push(k, 0)
	r.drain()
	push(k, 1)
	r.drain()
	push(k, 2)
	k++
	for i := range epoch {
		push(k, i)
	}
	k++
	dropped := int(r.w.counters.dropped[SinkLagging].Load())
	require.Positive(t, dropped, "the batch carrying epoch 5's watermark was dropped for the lagging sink")
	// The Write returns: the writer pops the lane up to its limit, two
	// batches of epoch 6, and cannot reach the third, which carries the
	// watermark it needs. The sink keeps up again; a few more epochs, then
	// the shard goes idle and its watermark moves far ahead.
	r.drain()
	for ; k <= 9; k++ {
		for i := range epoch {
			push(k, i)
			r.drain()
		}
	}
	r.publish(0, 1<<40)
	r.drain()

	t.Logf("held %d of shard 0 (limit %d), lane %d, written %d of %d, dropped %d",
		r.w.held[0], limit, r.w.lanes[0].len(), len(r.written()), total, int(r.w.counters.dropped[SinkLagging].Load()))
	dropped = int(r.w.counters.dropped[SinkLagging].Load())
	require.Equal(t, total-dropped, len(r.written()),
		"every event not dropped is written once the shard's watermark is far ahead: the writer must not stall at its limit")
}
