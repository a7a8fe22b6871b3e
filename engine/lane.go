package engine

import "sync/atomic"

// lane is a bounded single-producer single-consumer queue of batches from
// one shard's flusher to one sink's writer. The producer writes a slot and
// then publishes it by storing tail; the consumer reads the slot after
// loading tail, and frees it by storing head, which the producer loads
// before reusing the slot. Lamport's classic SPSC ring, on Go's
// sequentially consistent atomics.
type lane struct {
	slots []*batch
	mask  uint64
	_     [128]byte
	tail  atomic.Uint64 // written by the flusher
	_     [128]byte
	head  atomic.Uint64 // written by the sink writer
	_     [128]byte
}

func newLane(depth int) *lane {
	n := 1
	for n < depth {
		n <<= 1
	}
	return &lane{slots: make([]*batch, n), mask: uint64(n - 1)}
}

// push adds b; false when the lane holds depth batches already.
func (l *lane) push(b *batch, depth int) bool {
	t := l.tail.Load()
	if t-l.head.Load() >= uint64(depth) {
		return false
	}
	l.slots[t&l.mask] = b
	l.tail.Store(t + 1)
	return true
}

// pop removes the oldest batch, or returns nil.
func (l *lane) pop() *batch {
	h := l.head.Load()
	if h == l.tail.Load() {
		return nil
	}
	b := l.slots[h&l.mask]
	l.slots[h&l.mask] = nil
	l.head.Store(h + 1)
	return b
}
