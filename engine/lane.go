package engine

import "sync/atomic"

// lane is a bounded single-producer single-consumer queue of batches from
// one shard's flusher to one sink's writer. The producer writes a slot and
// then publishes it by storing tail; the consumer reads the slot after
// loading tail, and frees it by storing head, which the producer loads
// before reusing the slot. Lamport's classic SPSC ring, on Go's
// sequentially consistent atomics.
//
// Each entry carries the watermark this writer may use once it has taken
// the batch: the batch's own (when it completes an epoch), raised to any
// watermark whose batch was dropped for this writer since the previous
// entry (see flusher.publish). A dropped batch therefore never takes its
// watermark with it.
type lane struct {
	slots []laneEntry
	mask  uint64
	_     [128]byte
	tail  atomic.Uint64 // written by the flusher
	_     [128]byte
	head  atomic.Uint64 // written by the sink writer
	_     [128]byte
}

type laneEntry struct {
	b  *batch
	wm int64 // noWatermark when none
}

func newLane(depth int) *lane {
	n := 1
	for n < depth {
		n <<= 1
	}
	return &lane{slots: make([]laneEntry, n), mask: uint64(n - 1)}
}

// push adds b with watermark wm; false when the lane holds depth batches
// already.
func (l *lane) push(b *batch, wm int64, depth int) bool {
	t := l.tail.Load()
	if t-l.head.Load() >= uint64(depth) {
		return false
	}
	l.slots[t&l.mask] = laneEntry{b: b, wm: wm}
	l.tail.Store(t + 1)
	return true
}

// pop removes the oldest batch and its watermark, or returns nil.
func (l *lane) pop() (*batch, int64) {
	h := l.head.Load()
	if h == l.tail.Load() {
		return nil, noWatermark
	}
	e := l.slots[h&l.mask]
	l.slots[h&l.mask] = laneEntry{}
	l.head.Store(h + 1)
	return e.b, e.wm
}
