package engine

import (
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/shardlog/shardlog/core"
)

// flusher owns one shard: it is the shard's only consumer. It drains the
// shard in batches, runs enrichers and filters, sorts each batch by Mono,
// encodes every event once per encoder that some interested sink uses,
// hands the batch to the lanes of the interested sinks, and publishes the
// shard's watermark.
//
// Watermark: the flusher works in epochs. An epoch starts by reading the
// clock (t0) and then the shard's Produced position (target). A producer
// that claims a slot after that load reads its clock later, so its event
// has Mono >= t0. The flusher drains batch after batch; once it has
// drained up to target (Consumed >= target) and pushed those events to
// the lanes, no event with Mono < t0 can ever come from this shard again:
// it stores watermark = t0 and starts the next epoch. Sink writers emit
// only events below every shard's watermark, which makes the merge exact:
// no grace period, no event overtaken by a later one.
//
// The argument orders a clock read against an atomic load, which the Go
// memory model does not promise. (Linux's vDSO fences its counter reads,
// lfence or rdtscp on amd64 and isb on arm64, so in practice they are
// ordered; the engine does not rely on that alone.) The watermark is
// therefore conservative: the epoch publishes
//
//	W = max(t0 of the previous epoch, t0 - watermarkSlack)
//
// so a reordering would have to exceed both the slack (far beyond any
// processor's reorder window) and the whole previous epoch to matter.
// Stragglers of an epoch (claimed before its target was read, stamped
// after its t0) are drained before the next epoch starts, so their Mono is
// below the next t0 and the watermark of the epoch after it releases them:
// batches that wait on their own shard's watermark span at most three
// epochs, which heldLimit provides for.
//
// An epoch covers at most the shard's backlog at its start (one ring's
// capacity) plus what arrives while it drains, so under any load the
// watermark advances at least once per ring's worth of events. Re-reading
// target every batch instead would never catch up under sustained load
// and starve the writers.
type flusher struct {
	e     *Engine
	shard int
	free  *freeList     // batches ready for reuse (refcount reached 0)
	kick  chan struct{} // Flush, Shutdown, writers and refused calls wake the flusher early
	// pacing is set while the flusher waits for room in a lane (pace);
	// room is how the writer that made room says so.
	pacing atomic.Bool
	room   chan struct{}
	wm     atomic.Int64 // the shard's watermark; math.MaxInt64 when done
	timer  *time.Timer

	queued []int // shed's scratch: batches queued per writer

	// carried[i] is the highest watermark of a batch dropped for writer i,
	// or of one writer i wanted none of, not yet handed to it on a later
	// lane entry (flusher-private).
	carried []int64

	// The current epoch and the batch being filled (flusher-private).
	cur          *batch
	inEpoch      bool
	epochT0      int64 // the epoch's clock reading
	epochWM      int64 // the watermark it publishes (see above)
	epochTarget  uint64
	epochClosing bool     // the epoch began after Shutdown closed the queue
	spilled      []*batch // batches taken from the shard's spill this round (reused)
	// ready is the watermark of the last completed epoch while it waits
	// for the batch it covers to be pushed (see hold); noWatermark when
	// none waits.
	ready int64
}

// watermarkSlack is how far behind its clock reading an epoch's watermark
// is set (see flusher).
const watermarkSlack = 10 * time.Microsecond

func newFlusher(e *Engine, shard int) *flusher {
	// The free list keeps what a sink that keeps up cycles through (a
	// batch or two in its lane and in its merge, one being filled);
	// batches beyond it, made while a sink is behind, are left to the
	// collector when released, so a stall does not pin memory after it
	// ends.
	keep := (lanePace+heldLimit(e))*len(e.writers) + 1
	f := &flusher{
		e:     e,
		shard: shard,
		kick:  make(chan struct{}, 1),
		room:  make(chan struct{}, 1),
		ready: noWatermark,
	}
	f.free = &freeList{ch: make(chan *batch, keep), kick: f.kick}
	f.wm.Store(noWatermark)
	f.carried = make([]int64, len(e.writers))
	for i := range f.carried {
		f.carried[i] = noWatermark
	}
	return f
}

func (f *flusher) run() {
	defer f.e.flusherWG.Done()
	if f.e.cfg.pinThreads {
		runtime.LockOSThread()
		bound := false
		if f.e.cfg.affinity {
			if _, err := pinToCPU(f.shard); err != nil {
				f.e.errs.report(fmt.Errorf("engine: flusher %d: %w", f.shard, err))
			} else {
				bound = true
			}
		}
		if !bound {
			defer runtime.UnlockOSThread()
		} // a bound thread stays locked, so Go retires it when we exit
	}
	f.timer = time.NewTimer(time.Hour)
	f.timer.Stop()
	idle, stalls := 0, 0
	for {
		drained, caughtUp := f.round()
		if caughtUp && f.epochClosing {
			// Close happened before this round's Produced load, so every
			// accepted event has been drained and pushed (ring.Close).
			f.wm.Store(math.MaxInt64)
			f.wakeWriters(true)
			return
		}
		if f.cur != nil && f.cur.n > 0 {
			// Holding a batch for writers that are behind or gathering a
			// write (hold): never park with events in hand; look again
			// within the interval. Writers that coalesce hold batches
			// most of the time: then look again as an idle shard does,
			// so the drains stay small and regular while the batch fills.
			if drained > 0 {
				idle = 0
			} else if f.e.cfg.coalesce > 0 {
				f.timedSleep(f.idleDelay(idle))
				idle++
			} else {
				idle = 0
				f.timedSleep(f.e.cfg.flushEvery)
			}
			continue
		}
		if drained > 0 || !caughtUp {
			idle = 0
			if drained > 0 {
				stalls = 0
			} else {
				// A producer is between claim and publish; let it run, and
				// stop spinning if it was descheduled there.
				stalls++
				if stalls < 64 {
					runtime.Gosched()
				} else {
					time.Sleep(50 * time.Microsecond)
				}
			}
			continue
		}
		f.sleep(idle)
		idle++
	}
}

// sleep waits for work. While the shard has been idle for fewer than
// parkAfter rounds, it sleeps on a timer that backs off from 20µs to the
// flush interval (on an idle Linux machine a Go timer under about 1ms
// fires after about 1ms; on a busy one it fires on time), waking early
// for a producer that found the shard full or a kick from Flush,
// Shutdown or a sink writer. After that it parks: no timer at
// all, woken by the first producer that publishes (ring.Queue.Park), by a
// kick, or by a rare safety timer. A steady stream of events therefore
// never pays a wake-up on the caller's path, and an idle engine costs
// nothing.
func (f *flusher) sleep(idle int) {
	if idle >= parkAfter {
		f.park()
		return
	}
	f.timedSleep(f.idleDelay(idle))
}

// idleDelay is the timed sleep after idle empty rounds: 20µs, doubling,
// at most the flush interval.
func (f *flusher) idleDelay(idle int) time.Duration {
	d := f.e.cfg.flushEvery
	if idle < 16 {
		d = min(d, time.Duration(20_000<<idle)*time.Nanosecond)
	}
	return d
}

// timedSleep waits for a producer's nudge, a kick, or d.
func (f *flusher) timedSleep(d time.Duration) {
	f.timer.Reset(d)
	select {
	case <-f.e.q.Notify(f.shard):
	case <-f.kick:
	case <-f.timer.C:
	}
	f.timer.Stop()
}

// parkAfter is how many idle rounds (each a timed sleep of up to the flush
// interval) a flusher waits before it parks: 8 is about 4.5ms of idleness
// at the defaults (20µs doubling, capped at 2ms). A parked flusher is
// woken by the next producer, on that producer's call (a CAS and a
// channel send to a sleeping goroutine), so parking after short gaps
// puts that cost on callers: with 4 (0.3ms), the open loop at 100k
// events/s and -cpu 2 parked ~6 500 times a second, and 8 lowered its
// call p99 by 6–8% and its service p99 at -cpu 2 by 32%
// (bench/engine.md, item 18). An idle engine parks all the same.
const parkAfter = 8

// parkSafety bounds a parked flusher's sleep: a wake-up is never lost by
// design, and this bounds the cost if one ever were. Each wake-up of an
// idle goroutine costs the runtime a few hundred microseconds of
// scheduler work, so at one a second 16 parked flushers alone cost 0.3%
// of a core (BenchmarkIdleEngine); at one per 10s, a few hundredths.
const parkSafety = 10 * time.Second

// park sleeps until a producer publishes into the shard, a kick, or the
// safety timer. While a sink writer waits for a watermark, the flusher
// does not park but sleeps on its timer: the writer kicks the flushers
// whose watermark holds it back (sinkWriter.round), and the timer covers
// a writer that began to wait after that. (Declining to park and looping
// at once instead was a livelock on small machines: two flushers spinning
// through empty epochs kept both processors busy, and the writer they
// were waiting to wake did not run until the scheduler preempted one, ~20
// ms per Flush.)
func (f *flusher) park() {
	q := f.e.q
	if !q.Park(f.shard) {
		return // entries are waiting
	}
	for _, w := range f.e.writers {
		if w.waitingForWatermark.Load() {
			q.Unpark(f.shard)
			f.timedSleep(f.e.cfg.flushEvery)
			return
		}
	}
	f.free.parked.Store(true)
	f.sweep()
	hookFlusherParked(f.shard)
	f.timer.Reset(parkSafety)
	select {
	case <-q.Notify(f.shard):
	case <-f.kick:
	case <-f.timer.C:
	}
	f.timer.Stop()
	f.free.parked.Store(false)
	q.Unpark(f.shard)
}

// sweep clears what the batch in hand and the batches in the free list
// may still hold of earlier uses, so that a parked flusher, or one that
// has exited, keeps nothing alive (freeList). The batch in hand may be
// one released uncleared: a flusher takes the oldest free batch as soon
// as it has pushed the last.
func (f *flusher) sweep() {
	if f.cur != nil {
		f.cur.clearStale() // its events below n, if any, are pending
	}
	f.sweepFree()
}

// sweepFree clears the events that the batches in the free list may
// still hold. A batch the spill takes meanwhile is cleared by getBatch;
// one that finds the list full on its way back is left to the collector.
func (f *flusher) sweepFree() {
	for range len(f.free.ch) {
		var b *batch
		select {
		case b = <-f.free.ch:
		default:
			return
		}
		b.clearStale()
		select {
		case f.free.ch <- b:
		default:
			return
		}
	}
}

// round drains what is published into the batch being filled, and pushes
// the batch when it is full or completes the epoch; drained counts the
// events this round took. caughtUp reports whether the epoch completed.
//
// A batch that is neither full nor final stays with the flusher for the
// next round, so an epoch reaches the writers in at most
// capacity/batchSize + 1 batches: a writer can always take a whole epoch
// (heldLimit) and see the watermark that ends it. When every writer is
// still busy with batches queued before (hold), a completed epoch's batch
// is kept and filled further instead of being pushed half empty: a sink
// that is behind then queues full batches, which is what the memory
// budget pays for, not one nearly empty batch per epoch. The epoch's
// watermark waits with it (ready): a watermark is published only after
// every batch it covers has been pushed.
func (f *flusher) round() (drained int, caughtUp bool) {
	e := f.e
	if !f.inEpoch {
		// The queue's own closed flag, read before Produced: if set, every
		// accepted event is below the target (ring.Queue.Closed). The
		// engine's state would not do: it may say closing before the queue
		// is closed, and events accepted in between would be stranded.
		f.epochClosing = e.q.Closed()
		hookEpochStart(f.shard, f.epochClosing)
		t0 := e.mono()
		f.epochWM = max(f.epochT0, t0-int64(watermarkSlack))
		f.epochT0 = t0
		f.epochTarget = e.q.Produced(f.shard)
		f.inEpoch = true
	}
	if f.cur == nil {
		hookFlusherTakesBatch(f.shard)
		f.cur = f.getBatch(false)
	}
	b := f.cur
	start := b.n
	for b.n < len(b.events) {
		n, _ := e.q.Drain(f.shard, b.events[b.n:])
		b.n += n
		if n == 0 {
			break
		}
	}
	drained = b.n - start
	if drained > 0 {
		f.charge(b, start)
	}
	caughtUp = int64(e.q.Consumed(f.shard)-f.epochTarget) >= 0
	if caughtUp {
		f.inEpoch = false
		f.ready = max(f.ready, f.epochWM)
	}
	// After Consumed: every event it counts as evicted has been kept by
	// then, so the epoch's watermark covers nothing still in the spill.
	// Full batches only, but for the epoch's end (heldLimit counts on it).
	f.spilled = e.takeSpill(f.shard, f.spilled[:0], caughtUp)
	for _, sb := range f.spilled {
		drained += sb.n
	}
	if e.discarding.Load() {
		// An Immediate shutdown (or a drain past its deadline): nothing
		// drained now reaches a sink, so skip enriching and encoding and
		// count it at once; writers count what they hold (dropHeld).
		f.cur = nil
		f.discard(b)
		for _, sb := range f.spilled {
			f.discard(sb)
		}
		clear(f.spilled)
		return drained, caughtUp
	}
	for _, sb := range f.spilled {
		sb.wm = noWatermark
		f.prepare(sb)
		f.publish(sb)
	}
	clear(f.spilled)
	switch {
	case b.n == len(b.events) || (b.n > 0 && f.ready != noWatermark && !f.hold(b)):
		f.cur = nil
		b.wm = f.ready // travels with the batch; see sinkWriter.collect
		b.clearStale()
		f.prepare(b)
		f.publish(b)
		f.publishReady() // after the push: writers rely on the order
	case b.n == 0:
		f.publishReady() // nothing drained is held back
	}
	if e.budget != nil && e.budget.AboveTrimMark() {
		f.shed()
	}
	return drained, caughtUp
}

// discard counts b's events as dropped (shutdown) for the sinks of their
// level class, and releases b. Enrichers and filters have not run: an
// event a filter would have dropped counts as shutdown too.
func (f *flusher) discard(b *batch) {
	e := f.e
	byClass := make([]uint64, e.classes.count()) // shutdown only
	for i := 0; i < b.n; i++ {
		byClass[e.classes.of(b.events[i].Level)]++
	}
	for k, n := range byClass {
		if n > 0 {
			e.counters[f.shard].dropped[Shutdown][k].Add(n)
		}
	}
	b.refs.Store(1)
	b.release()
}

// hold reports whether a completed epoch's batch b may be kept to fill
// further: no writer is waiting for a watermark or a flush, and every
// writer that would take any of b's events still has batches of this
// shard queued. Never while closing.
//
// A writer none of whose events are in b (a sink for errors beside one
// for everything) does not stop the hold while it waits for nothing:
// when it comes to need this shard's watermark, it says so
// (waitingForWatermark) and kicks this flusher (sinkWriter.round). Before
// this, such a sink's empty lane stopped every hold, so a slow sink
// beside it got one nearly empty batch per epoch: at ~50 000 events/s
// into a sink taking 2ms a write, the budget's peak was 744–3 258 KiB
// with an idle errors sink beside it (6 runs) against 465–744 KiB
// without, and 465–1 491 KiB with it under this rule (11 runs)
// (TestHoldIgnoresAnIdleSinkThatWantsNoneOfTheBatch).
//
// Interest is judged by the events' levels as drained; an enricher may
// raise a level later (prepare), so with enrichers every writer counts.
func (f *flusher) hold(b *batch) bool {
	if f.epochClosing {
		return false
	}
	e := f.e
	// idle is the lowest level class wanted by a writer with nothing of
	// this shard queued. The batch's levels are read only when it is
	// above the lowest class of all writers: a writer that takes every
	// level any sink takes wants any batch, so with one sink (or an idle
	// writer for everything) the answer needs no scan.
	idle, lowest := filteredClass, filteredClass
	for _, w := range e.writers {
		if w.waitingForWatermark.Load() {
			return false
		}
		lowest = min(lowest, w.class)
		if w.lanes[f.shard].empty() {
			idle = min(idle, w.class)
		}
	}
	switch {
	case idle == filteredClass:
		return true // every writer is busy with this shard's batches
	case idle == lowest || len(e.cfg.enrichers) > 0:
		return false
	}
	for ; b.scanned < b.n; b.scanned++ {
		if l := b.events[b.scanned].Level; b.scanned == 0 || l > b.top {
			b.top = l
		}
	}
	return e.classes.of(b.top) < idle
}

// publishReady publishes the watermark of the completed epochs whose
// batches have all been pushed.
func (f *flusher) publishReady() {
	if f.ready == noWatermark {
		return
	}
	if f.ready > f.wm.Load() {
		f.wm.Store(f.ready)
		f.wakeWriters(false)
	}
	f.ready = noWatermark
}

// charge adds to the budget what the events drained into b from index
// start on keep alive (and b's own slots, with its first events). Events
// that charged themselves at the call (Charged) are not charged twice;
// all of it is released with the batch.
func (f *flusher) charge(b *batch, start int) {
	bu := f.e.budget
	if bu == nil {
		return
	}
	var n int64
	if start == 0 {
		n = f.e.batchBytes()
	}
	for i := start; i < b.n; i++ {
		ev := &b.events[i]
		if ev.Charged > 0 {
			b.charged += ev.Charged // already in the budget
		} else {
			n += int64(ev.Footprint())
		}
	}
	b.charged += n
	bu.Charge(n)
}

// shed drops, for the sink that is furthest behind, the oldest batches
// this shard has queued for it, until the budget is back under its trim
// mark. The victim is the sink with the most batches queued over all
// shards, among those that are behind: more than one batch per shard in
// all (a sink that keeps up has at most about that many in flight), more
// than one in this shard's lane, or two or more, and more than one beyond
// the sink with the fewest (a stalled sink whose few batches are large,
// spread one per shard: counted by the first rule alone, they were never
// shed, and the budget stayed full for every sink). So a sink that keeps up loses nothing to one that
// stalls. Each dropped batch counts as budget for that sink alone; its
// memory returns once every sink is done with it. Batches a writer has
// already taken are not shed: when they alone fill the budget, new events
// are refused instead (admit).
//
// A batch of Block events is not shed for a sink that is still writing
// (not lagging): shed stops, and Block callers wait at admission, as the
// policy promises (GUARANTEES, "Isolation"). Shed for a working sink, a
// paced sink's backlog never reached the pacing depth, and nearly all of
// its Block events were dropped.
func (f *flusher) shed() {
	e := f.e
	for e.budget.AboveTrimMark() {
		var victim *sinkWriter
		most, least := 0, math.MaxInt
		queued := f.queued[:0]
		for _, w := range e.writers {
			n := 0
			for _, l := range w.lanes {
				n += l.len()
			}
			queued = append(queued, n)
			least = min(least, n)
		}
		f.queued = queued
		for i, w := range e.writers {
			n := queued[i]
			behind := n > len(e.flushers) || w.lanes[f.shard].len() > 1 ||
				(len(e.writers) > 1 && n >= 2 && n > least+1) // behind the others
			if behind && n > most {
				victim, most = w, n
			}
		}
		if victim == nil {
			return
		}
		if victim.lanes[f.shard].oldestBlocking() && !victim.lagging.Load() {
			if !victim.hungInCall() {
				return // still writing: its Block callers wait at admission
			}
			// Hung in a call with its Block backlog, which pacing never
			// saw (the budget stopped the callers first): stalled.
			victim.lagging.Store(true)
		}
		b, wm := victim.lanes[f.shard].pop()
		if b == nil {
			return
		}
		f.carried[victim.index] = max(f.carried[victim.index], wm)
		f.dropFor(victim, b, Budget)
		e.noteLimit()
	}
}

// dropFor accounts for b's events that w takes as dropped for w (reason
// r), and releases w's reference to b. The caller hands b's watermark on.
func (f *flusher) dropFor(w *sinkWriter, b *batch, r Reason) {
	if r != Budget { // a shed is no sign of a stall (and would end pacing)
		w.lagging.Store(true)
	}
	w.counters.dropped[r].Add(uint64(w.countRemaining(w.skip(cursor{b: b, shard: f.shard}))))
	b.release()
}

// heldLimit is how many batches of one shard a sink writer may hold.
//
// An epoch reaches the writers in at most E = ceil(capacity/batch) + 1
// batches (round). Batches of a shard that wait on that shard's own
// watermark belong to at most three epochs: epoch k's stragglers (events
// claimed before its target was read but stamped after its t0) have Mono
// below t0 of epoch k+1, which the conservative watermark of epoch k+2
// covers (see flusher); so epochs k, k+1 and k+2, the one being taken.
// So 3E + 1 leaves room, for the shard whose bound is the lowest, to take
// the batch carrying its next watermark. A watermark can arrive later
// than that: its batch dropped for the sink (the lane full), it rides on
// an entry up to a lane depth further on. So a writer that holds nothing
// of a shard that can go before the shard's bound rises takes past the
// limit (sinkWriter.waitsOnItsOwnBound); that shard can always progress,
// so the writer never deadlocks on its limit. The limit bounds what a
// writer holds in the common case, and the lanes (the budget) always.
//
// The limit counts the batches the flusher drained. An epoch also carries
// the batches of events the ring evicted and the spill kept (spill.go), at
// most spillBatches of them (the spill begins no more until the epoch
// completes); a writer takes those beyond the limit (sinkWriter.collect),
// so the argument above holds as it is, and the limit still bounds what a
// writer holds of Block events, which are never evicted: the flusher's
// pacing for a slow sink relies on that (push).
func heldLimit(e *Engine) int {
	epoch := (e.cfg.capacity+e.cfg.batchSize-1)/e.cfg.batchSize + 1
	return 3*epoch + 1
}

// getBatch returns a free batch, or a new one. Unless clean, what an
// earlier use left in its events stays for clearStale: the drain
// overwrites whole events, so only the rest needs clearing.
func (f *flusher) getBatch(clean bool) *batch {
	select {
	case b := <-f.free.ch:
		if clean {
			b.clearStale()
		}
		return b
	default:
	}
	return newBatch(f.shard, f.e.cfg.batchSize, len(f.e.encoders), f.free, f.e.budget)
}

// prepare enriches, filters, classifies, sorts and encodes a drained batch.
func (f *flusher) prepare(b *batch) {
	e := f.e
	wall := e.wall.anchor(e)
	for i := 0; i < b.n; i++ {
		ev := &b.events[i]
		if ev.WallFromMono {
			ev.Time = wall.at(ev.Mono)
			ev.WallFromMono = false
		}
		class := e.classes.of(ev.Level)
		for _, en := range e.cfg.enrichers {
			e.safely("enricher", func() { en(ev) })
		}
		keep := true
		for _, fl := range e.cfg.filters {
			e.safely("filter", func() { keep = keep && fl(ev) })
			if !keep {
				break
			}
		}
		if !keep {
			e.counters[f.shard].dropped[Filtered][class].Add(1)
			class = filteredClass
		} else if ev.Blocking {
			b.blocking = true
		}
		b.class[i] = uint8(class)
	}
	b.sortByMono()
	for enc := range e.encoders {
		f.encode(b, enc)
	}
	if bu := e.budget; bu != nil {
		var n int64
		for i := range b.lines {
			n += int64(cap(b.lines[i].buf)) // the buffer's memory, reused or not
		}
		b.charged += n
		bu.Charge(n)
	}
}

// encode fills b.lines[enc] for the events some sink of that encoder wants.
func (f *flusher) encode(b *batch, enc int) {
	e := f.e
	minClass := filteredClass
	for _, w := range e.writers {
		if w.enc == enc && w.class < minClass {
			minClass = w.class
		}
	}
	l := &b.lines[enc]
	buf := l.buf[:0]
	for i := 0; i < b.n; i++ {
		l.off[i] = int32(len(buf))
		l.bad[i] = false
		if c := int(b.class[i]); c != filteredClass && c >= minClass {
			var ok bool
			if buf, ok = appendEncoded(e.encoders[enc], buf, &b.events[i], e); !ok {
				l.bad[i] = true // the writers count it failed (round)
			}
		}
	}
	l.off[b.n] = int32(len(buf))
	l.buf = buf
}

// appendEncoded encodes ev with enc; an encoder panic is reported and
// leaves buf as it was, with ok false. The flushers encode with it, and a
// writer encoding for its fallback.
func appendEncoded(enc core.Encoder, buf []byte, ev *core.Event, e *Engine) (out []byte, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			e.errs.report(fmt.Errorf("engine: encoder %T panicked: %v", enc, r))
			out, ok = buf, false
		}
	}()
	return enc.Append(buf, ev), true
}

// publish hands b to the lanes of the sinks that want any of its events
// (push). A sink that Shutdown gave up on loses the batch, counted for
// that sink alone (shutdown).
func (f *flusher) publish(b *batch) {
	e := f.e
	maxClass := -1
	for i := 0; i < b.n; i++ {
		if c := int(b.class[i]); c != filteredClass {
			maxClass = max(maxClass, c)
		}
	}
	interested := 0
	for _, w := range e.writers {
		if maxClass >= w.class {
			interested++
		}
	}
	b.refs.Store(int32(interested) + 1) // +1 for the flusher until the loop ends
	for _, w := range e.writers {
		if maxClass < w.class {
			// w wants none of b: b's watermark rides on the next entry w
			// gets, as a dropped batch's does. Left behind, it never
			// reached a writer whose lane stayed non-empty (an errors-only
			// sink that fell behind once), which then stalled for good at
			// its held limit.
			f.carried[w.index] = max(f.carried[w.index], b.wm)
			continue
		}
		// A watermark travels on the lane entry; one whose batch was
		// dropped for w rides on the next entry w gets (see lane).
		wm := max(b.wm, f.carried[w.index])
		if f.push(w, b, wm) {
			f.carried[w.index] = noWatermark
			continue
		}
		f.carried[w.index] = wm
		f.dropFor(w, b, Shutdown)
	}
	b.release()
}

// push hands b to w's lane. A batch that holds events logged under Block
// paces the flusher to a sink that is slower than its input but working;
// otherwise, and once the sink has stalled, the backlog is absorbed in
// memory, within the budget.
//
// Pacing (Block): while w has lanePace or more batches of this shard
// queued, the flusher waits for room as long as the sink keeps
// completing writes. Meanwhile it does not drain, so the ring fills and
// Block callers wait at the door: sustained overload is pushed back with
// a small queue, as the caller asked, instead of filling the memory
// budget with a backlog the sink cannot work off (on 2 cores that cost
// 2.4x per event in BenchmarkCapacity, the collector marking 128 MiB of
// queued batches over and over).
//
// Absorbing: callers under the drop policies asked never to wait, so
// their batches never pace: memory is the only place their events can
// wait without loss. A sink that completes no write for stallAfter has
// stalled (a disk that stops for 40ms, a peer that hangs): the flusher
// marks it lagging and stops pacing for it too, until the sink completes
// a write again (or the writer has emptied its lanes). The budget sheds
// the oldest beyond its trim mark.
//
// When the lane is full nonetheless (it holds what the budget can pay
// for, or WithLaneDepth batches), its oldest batch is dropped for w
// (sink-lagging) to make room, and its watermark rides on b. An abandoned
// writer (Shutdown gave up on it) takes nothing more: push returns false.
func (f *flusher) push(w *sinkWriter, b *batch, wm int64) bool {
	if w.abandoned.Load() || w.discarding.Load() {
		return false
	}
	l := w.lanes[f.shard]
	// A lane shallower than lanePace paces at its depth: else it would
	// fill, and drop Block events sink-lagging, before pacing began.
	if pace := min(lanePace, f.e.cfg.laneDepth); b.blocking && l.len() >= pace && !w.lagging.Load() {
		f.pace(w, l, pace)
	}
	for !l.push(b, wm, f.e.cfg.laneDepth) {
		if old, owm := l.pop(); old != nil {
			wm = max(wm, owm)
			f.dropFor(w, old, SinkLagging)
		}
	}
	signal(w.wake)
	if f.e.cfg.coalesce > 0 && (b.n == f.e.cfg.batchSize || b.spill || l.len() > 1) {
		signal(w.urgent) // more than a light input: no coalescing wait
	}
	return true
}

// lanePace is how many batches of one shard a sink that is working may
// have queued before the flusher waits for it (push).
const lanePace = 4

// stallAfter is how long a sink may complete no write, with batches
// waiting, before it counts as stalled and its backlog is absorbed in
// memory (push). Far above a healthy write (microseconds to a
// millisecond), far below the stalls the budget is for (tens of
// milliseconds and up); the ring and the spill cover this much of the
// input (1024 slots are 10ms at 100 000 events/s per shard).
const stallAfter = 5 * time.Millisecond

// pace waits until w's lane l has room below depth (lanePace, or the
// lane's own depth when smaller), w has stalled (no
// write completed for stallAfter: marked lagging), or w is abandoned.
// The writer signals room when it takes a batch while we pace (a Dekker
// pair: we store pacing and then look at the lane, it pops and then looks
// at pacing), so the flusher resumes as soon as there is room, not after
// a sleep that on Linux lasts a millisecond whatever it asks for.
func (f *flusher) pace(w *sinkWriter, l *lane, depth int) {
	f.pacing.Store(true)
	defer f.pacing.Store(false)
	writes := w.counters.writes.Load()
	f.timer.Reset(stallAfter)
	defer f.timer.Stop()
	for l.len() >= depth {
		if w.abandoned.Load() || w.discarding.Load() || w.lagging.Load() {
			return
		}
		signal(w.wake)
		signal(w.urgent)
		select {
		case <-f.room:
		case <-f.timer.C:
			n := w.counters.writes.Load()
			if n == writes {
				w.lagging.Store(true)
				return
			}
			writes = n
			f.timer.Reset(stallAfter)
		}
	}
}

// wakeWriters tells sink writers that the watermark moved. When the round
// pushed nothing (idle), only writers waiting on watermarks are woken.
func (f *flusher) wakeWriters(all bool) {
	for _, w := range f.e.writers {
		if all || w.waitingForWatermark.Load() {
			signal(w.wake)
		}
		if all {
			signal(w.urgent) // a last watermark: the writer may finish
		}
	}
}
