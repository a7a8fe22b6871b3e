package engine

import (
	"sync"
	"sync/atomic"

	"github.com/shardlog/shardlog/core"
)

// spill keeps, per shard, the events that a full ring evicts (DropOldest,
// or a Block call shedding an unprotected entry) instead of losing them,
// as long as the memory budget has room: the evicting producer copies the
// event into a batch here, inside the ring's OnEvict hook, and the
// shard's flusher takes the batches and prepares and pushes them like
// the ones it drains. So a flusher that falls behind for a moment (on 2
// processors, one that waits 10-30ms for a processor while the kernel
// writes back a log file) costs memory, not events; only when the budget
// is full is the oldest event lost (queue-full-oldest), as before.
//
// Order: the ring's Consumed does not pass an evicted position until its
// hook has returned (ring.Queue.Consumed), and the flusher takes the
// spill after it has read Consumed for its epoch (flusher.round). So an
// epoch's watermark is published only after every event evicted below
// its target has been pushed, like every event drained below it; the
// writers' merge orders them by Mono as any other.
//
// The mutex is taken only on the overflow path (a producer that found
// its shard full) and once per flusher round that finds pending set.
type spill struct {
	mu      sync.Mutex
	cur     *batch   // being filled; nil when none
	full    []*batch // filled, waiting for the flusher
	started int      // batches begun since the flusher last completed an epoch
	// begun is started > 0, readable without the mutex: a flusher
	// completing an epoch must reset started even when nothing is
	// pending (takeSpill).
	begun atomic.Bool
	// closed is set when the bound on batches per epoch refused an
	// event, and cleared when the flusher completes the epoch
	// (takeSpill): under sustained overload most evictions find the
	// spill closed, and this lets them skip the mutex and the footprint.
	// A stale value costs one event the spill could have kept (counted
	// lost, like any refusal) or one trip through the mutex.
	closed  atomic.Bool
	pending atomic.Bool
	kept    atomic.Uint64 // events kept since New (metrics)
	_       [128]byte
}

// spillBatches bounds the batches a shard's spill begins between two
// completed epochs of its flusher: four rings' worth of events, and at
// least minSpillBatches. An epoch
// completes only when the flusher has caught up with its target, and a
// writer can emit a shard's events only once it holds the batch carrying
// that epoch's watermark; so what an epoch may carry must be bounded
// (heldLimit), or a writer at its limit would wait for ever. Past the
// bound, a flusher that has not run for that long loses the oldest
// events again (queue-full-oldest): four rings, and at least
// minSpillBatches, are 160ms of 100 000 events/s per shard at the default
// batch size.
func spillBatches(e *Engine) int {
	return max(4*((e.q.Capacity()+e.cfg.batchSize-1)/e.cfg.batchSize), minSpillBatches)
}

// minSpillBatches: at least 64 batches (16 384 events at the default
// batch size) between two epochs, whatever the ring's size.
const minSpillBatches = 64

// spillEvicted keeps ev, which a producer is evicting from shard's ring,
// if the budget can pay for it (and for a new batch's slots when one is
// needed); it reports whether it did. The event's own charge (Charged,
// for a large event) moves with it.
func (e *Engine) spillEvicted(shard int, ev *core.Event) bool {
	sp := &e.spills[shard]
	if !e.spillOpen(sp) {
		return false
	}
	var size int64
	if ev.Charged == 0 {
		size = int64(ev.Footprint())
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	b := e.spillRoom(shard, sp, size)
	if b == nil {
		return false
	}
	// A copy: the slot is overwritten by the next producer (the ring does
	// not clear an evicted slot), and every reference the event holds is
	// its own (core.Event.SetFields copies; a scope is immutable).
	b.events[b.n] = *ev
	sp.added(b, size+ev.Charged)
	return true
}

// spillOpen reports whether the spill sp may keep an event at all, from
// what can be read without its mutex. Without a budget nothing would
// bound it. Above the trim mark the flushers shed queued batches anyway,
// and the room left below the limit is for the charges they make late
// (encodings). Closed, it has reached its bound for the epoch.
func (e *Engine) spillOpen(sp *spill) bool {
	return e.budget != nil && !e.discarding.Load() && !e.budget.AboveTrimMark() && !sp.closed.Load()
}

// spillRoom returns the batch the next event goes into, having charged
// the budget size for it (and a new batch's slots), or nil when the
// budget or the bound per epoch refuses. Under sp.mu.
func (e *Engine) spillRoom(shard int, sp *spill, size int64) *batch {
	if b := sp.cur; b != nil {
		if size > 0 && !e.budget.TryCharge(size) {
			return nil
		}
		return b
	}
	if sp.started >= e.spillMax {
		sp.closed.Store(true)
		return nil
	}
	if !e.budget.TryCharge(size + e.batchBytes()) {
		return nil
	}
	sp.started++
	sp.begun.Store(true)
	b := e.flushers[shard].getBatch(true)
	b.charged = e.batchBytes()
	b.spill = true
	sp.cur = b
	return b
}

// added accounts for the event just put at b.events[b.n], which holds
// charged bytes of the budget. Under sp.mu.
func (sp *spill) added(b *batch, charged int64) {
	b.n++
	b.charged += charged
	if b.n == len(b.events) {
		sp.full = append(sp.full, b)
		sp.cur = nil
	}
	sp.kept.Add(1)
	sp.pending.Store(true)
}

// takeSpill hands the flusher of shard the full batches kept so far, in
// the order they were filled, and with all the one being filled too; all
// also completes the spill's epoch, so it may begin batches again.
//
// A take before the epoch completes can empty the spill while its count
// of batches begun stays at the bound: the epoch's final take must reset
// the count then too, though nothing is pending, or the spill stays
// closed for good (TestSpillReopensAfterEachEpoch).
func (e *Engine) takeSpill(shard int, out []*batch, all bool) []*batch {
	sp := &e.spills[shard]
	if !sp.pending.Load() && !(all && sp.begun.Load()) {
		return out
	}
	sp.mu.Lock()
	out = append(out, sp.full...)
	clear(sp.full)
	sp.full = sp.full[:0]
	if all {
		if sp.cur != nil {
			out = append(out, sp.cur)
			sp.cur = nil
		}
		sp.started = 0 // the flusher completes an epoch with these
		sp.begun.Store(false)
		sp.closed.Store(false)
	}
	sp.pending.Store(sp.cur != nil)
	sp.mu.Unlock()
	return out
}

// spillNewest keeps the event of a DropOldest call that the ring refused
// because it could not evict (the oldest entry was still being written by
// a producer that was descheduled between its claim and its publish, or
// its slot was still being released), by filling it in the spill instead
// of a slot; it reports whether it did (the fill counted it accepted).
//
// Order: the fill reads the clock (Mono) under the spill's mutex, after
// setting pending, and the flusher takes the whole spill under the same
// mutex when an epoch completes, after it read that epoch's t0 and then
// pending. So an event filled here with a Mono before t0 had set pending
// before that reading (the clock is read with a barrier, as the ring's
// watermark argument uses it), the flusher sees it and waits for the
// mutex: the event is in that take, or else was filled after it, and so
// after t0. The epoch's watermark never passes an event still in the
// spill. (With pending set after the fill, a flusher could skip the spill
// between the two and pass the event: TestSpilledCallIsNotPassedByItsEpoch.)
// Events of one goroutine keep their order: one it logs later has a later
// Mono, and the writers merge by Mono below the watermarks.
//
// Close: checked under the mutex. A fill that saw the queue open holds the
// mutex before the flusher's final take (which follows its reading the
// queue closed), so it is in that take; one after sees it closed and is
// refused as closed would be.
func (e *Engine) spillNewest(shard int, fill func(*core.Event)) bool {
	sp := &e.spills[shard]
	if !e.spillOpen(sp) {
		return false
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if e.q.Closed() {
		return false
	}
	b := e.spillRoom(shard, sp, 0) // the size is known only after the fill
	if b == nil {
		return false
	}
	// pending before the fill's clock read: a flusher that reads its
	// epoch's t0 after this Mono then finds pending set and waits on the
	// mutex for the event (takeSpill), instead of completing the epoch,
	// and publishing a watermark past the event, without it.
	sp.pending.Store(true)
	ev := &b.events[b.n]
	fill(ev)
	hookSpillFilled(shard)
	var size int64
	if ev.Charged == 0 { // a large event charged itself at the call
		size = int64(ev.Footprint())
		e.budget.Charge(size) // small (at most largeEvent), and below the trim mark
	}
	sp.added(b, size+ev.Charged)
	return true
}
