package engine

import (
	"sync/atomic"

	"github.com/shardlog/shardlog/budget"
	"github.com/shardlog/shardlog/core"
)

// batch is what a flusher hands to sink writers: the events it drained in
// one go, sorted by Mono through order, with each event's encoding for
// every distinct encoder, shared by reference among the sinks.
//
// Ownership: the flusher fills a batch alone, then publishes it by pushing
// it to lanes; from then on it is read-only until the last sink writer
// drops its reference, which returns it to its shard's free list.
type batch struct {
	shard  int
	events []core.Event
	n      int
	order  []uint16 // event indexes sorted by Mono
	// keys[k] is the Mono of events[order[k]]: the writers' merge keys,
	// dense, so that a writer merging many shards' batches reads 8 bytes
	// per event from here rather than a line of each event's 368. The
	// writer is one goroutine for all shards, the pipeline's serial part.
	keys  []int64
	class []uint8 // level class per event; filteredClass if filtered
	lines []encoded
	// blocking is set when an event of the batch was logged under the
	// Block policy (see flusher.push).
	blocking bool
	// spill is set on a batch of events the ring evicted and the spill
	// kept (spill.go); writers hold those beyond their limit (collect).
	spill bool
	// charged is what the batch holds of the memory budget (its slots,
	// its events' footprints, its encodings), released with it.
	charged int64
	budget  *budget.Budget // nil when there is none
	// wm is the shard's watermark when this batch completed an epoch,
	// noWatermark otherwise. It travels with the batch, in lane order, so
	// a writer knows exactly which watermark the batches it has taken
	// cover (see sinkWriter.collect).
	wm   int64
	refs atomic.Int32
	home *freeList // the shard's
	// top is the highest level among the first scanned events, which
	// flusher.hold scans as the batch fills (flusher-private).
	top     core.Level
	scanned int
	// stale is how many of the first events may still hold what an
	// earlier use of the batch referenced: the last release does not
	// clear them, the flusher does, on its own processor (see freeList).
	stale int
}

// freeList is a shard's batches ready for reuse. A batch's last release
// (most often a sink writer's) returns it without clearing its events,
// which would write every event once more on the releasing processor,
// only for the flusher's next drain to pull the lines back: at 16
// processors that clear was the sink writer's largest cost. Instead:
//   - the flusher's drain overwrites whole events, and before it pushes
//     a batch it clears what an earlier use left beyond them (clearStale);
//   - a batch taken for the spill, which fills events field by field, is
//     cleared when taken (getBatch);
//   - so that an idle engine keeps nothing alive, a flusher about to park
//     stores parked and then clears the batch in its hand and every
//     batch in its free list (flusher.sweep), and a release that returns
//     a stale batch loads parked after the send and kicks the flusher
//     when it is set. Either the flusher's sweep comes after the send and
//     finds the batch, or the release sees parked (both are sequentially
//     consistent), and the kicked flusher sweeps again before it parks
//     again;
//   - Shutdown sweeps every flusher the same way once the flushers and
//     writers have exited (closeSinks), so a shut-down engine keeps
//     nothing either.
type freeList struct {
	ch     chan *batch
	parked atomic.Bool
	kick   chan struct{} // the flusher's
}

// filteredClass marks an event rejected by a filter: no sink receives it.
const filteredClass = 0xff

// encoded holds one encoder's output for a batch: event i's line is
// buf[off[i]:off[i+1]], empty when no sink needed it. bad[i] is set when
// the encoder panicked on event i: its line is empty, and the writers
// count the event as failed for their sink instead of handing the sink a
// record that holds nothing (flusher.encode).
type encoded struct {
	buf []byte
	off []int32
	bad []bool
}

// maxRetainedLineBuf caps the encode buffer a batch keeps between uses, so
// one burst of huge events does not pin memory for ever.
const maxRetainedLineBuf = 256 << 10

func newBatch(shard, size, encoders int, home *freeList, bu *budget.Budget) *batch {
	b := &batch{
		budget: bu,
		shard:  shard,
		events: make([]core.Event, size),
		order:  make([]uint16, 0, size),
		keys:   make([]int64, 0, size),
		class:  make([]uint8, size),
		lines:  make([]encoded, encoders),
		home:   home,
	}
	for i := range b.lines {
		b.lines[i].off = make([]int32, size+1)
		b.lines[i].bad = make([]bool, size)
	}
	return b
}

// line returns event i's encoding by encoder enc.
func (b *batch) line(enc, i int) []byte {
	l := &b.lines[enc]
	return l.buf[l.off[i]:l.off[i+1]]
}

// release drops one reference; the last one returns the batch to its
// shard, its events left for the flusher to clear (freeList).
func (b *batch) release() {
	if b.refs.Add(-1) != 0 {
		return
	}
	b.stale = max(b.stale, b.n)
	stale := b.stale > 0
	b.n, b.scanned = 0, 0
	b.blocking = false
	b.spill = false
	b.order = b.order[:0]
	b.keys = b.keys[:0]
	if b.budget != nil {
		b.budget.Release(b.charged)
	}
	b.charged = 0
	for i := range b.lines {
		if cap(b.lines[i].buf) > maxRetainedLineBuf {
			b.lines[i].buf = nil
		}
		b.lines[i].buf = b.lines[i].buf[:0]
	}
	home := b.home
	select {
	case home.ch <- b:
	default: // the free list is full (cannot happen when sized right); let GC have it
		return
	}
	if stale && home.parked.Load() {
		signal(home.kick) // sweep again before parking (freeList)
	}
}

// clearStale clears what an earlier use left beyond the events in use
// (all of it for a free batch, whose n is 0): the drain overwrites whole
// events, so a batch being filled needs only its tail cleared.
func (b *batch) clearStale() {
	if b.stale > b.n {
		clear(b.events[b.n:b.stale])
	}
	b.stale = 0
}

// drop is release at shutdown (sinkWriter.dropHeld): the last reference
// returns the batch's charge to the budget, but the batch is neither
// cleared nor returned to its free list. Nothing will reuse it, and
// clearing every event (about 700 bytes each) was most of an Immediate
// shutdown's time (10ms of 11 for 100 000 queued events); the collector
// takes the batch and what its events reference together.
func (b *batch) drop() {
	if b.refs.Add(-1) != 0 {
		return
	}
	if b.budget != nil {
		b.budget.Release(b.charged)
	}
	b.charged = 0
}

// sortByMono orders the batch's events by Mono. Events of one goroutine are
// already in order, and different goroutines' events are out of order only
// within the few nanoseconds between claiming a slot and reading the clock,
// so insertion sort runs in close to linear time. It sorts the keys
// beside the indexes.
func (b *batch) sortByMono() {
	o, k := b.order[:0], b.keys[:0]
	for i := 0; i < b.n; i++ {
		m := b.events[i].Mono
		j := len(o)
		o, k = append(o, uint16(i)), append(k, m)
		for j > 0 && k[j-1] > m {
			o[j], k[j] = o[j-1], k[j-1]
			j--
		}
		o[j], k[j] = uint16(i), m
	}
	b.order, b.keys = o, k
}
