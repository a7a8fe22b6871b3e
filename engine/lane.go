package engine

import "sync/atomic"

// lane is a bounded queue of batches from one shard's flusher to one
// sink's writer: one producer (the flusher), and two parties that take
// from the head, the writer (pop) and the flusher itself when it sheds the
// oldest batch for a sink that fell behind (pop too).
//
// The producer writes a slot and then publishes it by storing tail. A
// taker loads head h, reads slot h, and owns the entry only if its CAS of
// head from h to h+1 succeeds; the producer reuses a slot only after
// loading a head past it, so a taker that read a slot being rewritten
// loses its CAS (head has moved) and discards what it read. Slots are
// atomic words for that reason. The winner clears the slot's batch pointer
// with a CAS (the producer may already have reused the slot; the CAS then
// fails and leaves the new entry alone), so a queued-then-taken batch is
// not kept alive by a stale slot. This is Lamport's SPSC ring with the
// consumer's store of head turned into a CAS, as the ring's evictors do
// (ring/shard.go).
//
// Each entry carries the watermark this writer may use once it has taken
// the batch: the batch's own (when it completes an epoch), raised to any
// watermark whose batch was dropped for this writer since the previous
// entry (see flusher.publish). A dropped batch therefore never takes its
// watermark with it.
type lane struct {
	slots []laneSlot
	mask  uint64
	_     [128]byte
	tail  atomic.Uint64 // written by the flusher
	_     [128]byte
	head  atomic.Uint64 // CASed by the writer and by the flusher shedding
	_     [128]byte
}

type laneSlot struct {
	b  atomic.Pointer[batch]
	wm atomic.Int64 // noWatermark when none
}

func newLane(depth int) *lane {
	n := laneSlots(depth)
	return &lane{slots: make([]laneSlot, n), mask: uint64(n - 1)}
}

// laneSlots is the slots a lane of depth batches has: depth rounded up to
// a power of two (New checks what the lanes allocate with it).
func laneSlots(depth int) int {
	n := 1
	for n < depth {
		n <<= 1
	}
	return n
}

// push adds b with watermark wm; false when the lane holds depth batches
// already. Only the flusher calls it.
func (l *lane) push(b *batch, wm int64, depth int) bool {
	t := l.tail.Load()
	if t-l.head.Load() >= uint64(depth) {
		return false
	}
	s := &l.slots[t&l.mask]
	s.wm.Store(wm)
	s.b.Store(b)
	l.tail.Store(t + 1)
	return true
}

// pop removes the oldest batch and its watermark, or returns nil. The
// writer calls it to take work, and the flusher to shed the oldest batch.
func (l *lane) pop() (*batch, int64) {
	for {
		h := l.head.Load()
		if h == l.tail.Load() {
			return nil, noWatermark
		}
		s := &l.slots[h&l.mask]
		b, wm := s.b.Load(), s.wm.Load()
		if l.head.CompareAndSwap(h, h+1) {
			s.b.CompareAndSwap(b, nil)
			return b, wm
		}
	}
}

// oldestBlocking reports whether the oldest batch queued holds events
// logged under Block. Only the lane's flusher calls it (it alone pushes,
// so the slot is not reused meanwhile); a pop racing it makes the answer
// about a batch just taken, which is as good.
func (l *lane) oldestBlocking() bool {
	h := l.head.Load()
	if h == l.tail.Load() {
		return false
	}
	b := l.slots[h&l.mask].b.Load()
	return b != nil && b.blocking
}

// len is the number of batches queued (a snapshot).
func (l *lane) len() int { return int(l.tail.Load() - l.head.Load()) }

// empty reports whether nothing is queued.
func (l *lane) empty() bool { return l.tail.Load() == l.head.Load() }
