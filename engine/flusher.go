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
	free  chan *batch   // batches ready for reuse (refcount reached 0)
	made  int           // batches allocated so far
	limit int           // most batches this shard can have out at once
	kick  chan struct{} // Flush and Shutdown wake the flusher early
	wm    atomic.Int64  // the shard's watermark; math.MaxInt64 when done
	timer *time.Timer

	// carried[i] is the highest watermark of a batch dropped for writer i
	// and not yet handed to it on a later lane entry (flusher-private).
	carried []int64

	// The current epoch and the batch being filled (flusher-private).
	cur          *batch
	inEpoch      bool
	epochT0      int64 // the epoch's clock reading
	epochWM      int64 // the watermark it publishes (see above)
	epochTarget  uint64
	epochClosing bool // the epoch began after Shutdown closed the queue
}

// watermarkSlack is how far behind its clock reading an epoch's watermark
// is set (see flusher).
const watermarkSlack = 10 * time.Microsecond

func newFlusher(e *Engine, shard int) *flusher {
	// Each sink holds at most laneDepth batches of this shard in its lane
	// and heldLimit more in its merge; one more is being filled. With this
	// many batches the flusher never waits for a free one.
	limit := (e.cfg.laneDepth+heldLimit(e))*len(e.writers) + 1
	f := &flusher{
		e:     e,
		shard: shard,
		free:  make(chan *batch, limit),
		limit: limit,
		kick:  make(chan struct{}, 1),
	}
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
// flush interval (on Linux a Go timer under about 1ms fires after about
// 1ms), waking early for a producer that found the shard full or a kick
// from Flush, Shutdown or a sink writer. After that it parks: no timer at
// all, woken by the first producer that publishes (ring.Queue.Park), by a
// kick, or by a rare safety timer. A steady stream of events therefore
// never pays a wake-up on the caller's path, and an idle engine costs
// nothing.
func (f *flusher) sleep(idle int) {
	if idle >= parkAfter {
		f.park()
		return
	}
	d := f.e.cfg.flushEvery
	if idle < 16 {
		d = min(d, time.Duration(20_000<<idle)*time.Nanosecond)
	}
	f.timedSleep(d)
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
// interval) a flusher waits before it parks.
const parkAfter = 4

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
	f.timer.Reset(parkSafety)
	select {
	case <-q.Notify(f.shard):
	case <-f.kick:
	case <-f.timer.C:
	}
	f.timer.Stop()
	q.Unpark(f.shard)
}

// round drains what is published into the batch being filled, and pushes
// the batch when it is full or completes the epoch; drained counts the
// events this round took. caughtUp reports whether the epoch completed,
// in which case the watermark advanced.
//
// A batch that is neither full nor final stays with the flusher for the
// next round, so an epoch reaches the writers in at most
// capacity/batchSize + 1 batches: a writer can always take a whole epoch
// (heldLimit) and see the watermark that ends it.
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
		f.cur = f.getBatch()
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
	caughtUp = int64(e.q.Consumed(f.shard)-f.epochTarget) >= 0
	if caughtUp || b.n == len(b.events) {
		f.cur = nil
		if b.n > 0 {
			b.wm = noWatermark
			if caughtUp {
				b.wm = f.epochWM // travels with the batch; see sinkWriter.collect
			}
			f.prepare(b)
			f.publish(b)
		} else {
			b.refs.Store(1)
			b.release()
		}
	}
	if caughtUp {
		f.inEpoch = false
		if f.epochWM > f.wm.Load() {
			f.wm.Store(f.epochWM) // after the push: writers rely on the order
			f.wakeWriters(false)
		}
	}
	return drained, caughtUp
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
// the batch carrying its next watermark. That shard can always progress, so the writer never
// deadlocks on its limit; and since the limit bounds what a writer holds,
// the batch pool bounds the memory.
func heldLimit(e *Engine) int {
	epoch := (e.q.Capacity()+e.cfg.batchSize-1)/e.cfg.batchSize + 1
	return 3*epoch + 1
}

// getBatch returns a free batch, allocating up to the limit.
func (f *flusher) getBatch() *batch {
	select {
	case b := <-f.free:
		return b
	default:
	}
	if f.made >= f.limit {
		// Cannot happen with the limit above; report it rather than
		// waiting on a sink.
		f.e.errs.report(fmt.Errorf("engine: shard %d: batch pool exhausted (%d); allocating", f.shard, f.limit))
	}
	f.made++
	return newBatch(f.shard, f.e.cfg.batchSize, len(f.e.encoders), f.free)
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
		if c := int(b.class[i]); c != filteredClass && c >= minClass {
			buf = f.appendSafely(buf, enc, &b.events[i])
		}
	}
	l.off[b.n] = int32(len(buf))
	l.buf = buf
}

// appendSafely encodes one event, turning an encoder panic into an error
// report and an empty line (the writer counts the event as failed).
func (f *flusher) appendSafely(buf []byte, enc int, ev *core.Event) (out []byte) {
	start := len(buf)
	defer func() {
		if r := recover(); r != nil {
			f.e.errs.report(fmt.Errorf("engine: encoder %T panicked: %v", f.e.encoders[enc], r))
			out = buf[:start]
		}
	}()
	return f.e.encoders[enc].Append(buf, ev)
}

// publish hands b to the lanes of the sinks that want any of its events.
// A sink whose lane stays full loses the batch (its lane cannot wait for
// ever: that would let one slow sink stall the shard for all), counted
// for that sink alone: sink-lagging, or shutdown once Shutdown has given
// up on the sink.
func (f *flusher) publish(b *batch) {
	e := f.e
	// How many events of each class the batch holds, for lane-full drops.
	var perClass [256]int
	maxClass := -1
	for i := 0; i < b.n; i++ {
		if c := int(b.class[i]); c != filteredClass {
			perClass[c]++
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
			continue
		}
		// A watermark travels on the lane entry; one whose batch was
		// dropped for w rides on the next entry w gets (see lane).
		wm := max(b.wm, f.carried[w.index])
		ok, reason := f.push(w, b, wm)
		if ok {
			f.carried[w.index] = noWatermark
			continue
		}
		f.carried[w.index] = wm
		lost := 0
		for c := w.class; c <= maxClass; c++ {
			lost += perClass[c]
		}
		w.counters.dropped[reason].Add(uint64(lost))
		b.release()
	}
	b.release()
}

// push hands b to w's lane, waiting a bounded time when the lane is full:
// up to the lag timeout, or the block timeout if that is longer and b
// holds Block-policy events; not at all while w is marked lagging or
// abandoned. The lagging check comes first whatever the batch holds, so a
// hung sink costs the other sinks one bounded wait in all, not one per
// batch. While the flusher waits it does not drain, so the ring absorbs
// the burst and its own overflow policy applies to callers. The wait
// polls: a writer that pops signals nobody, and a poll every few tens of
// microseconds to a millisecond costs nothing next to a sink that is
// behind. On failure, reason says why.
func (f *flusher) push(w *sinkWriter, b *batch, wm int64) (ok bool, reason Reason) {
	depth := f.e.cfg.laneDepth
	if w.lanes[f.shard].push(b, wm, depth) {
		signal(w.wake)
		return true, 0
	}
	signal(w.wake)
	if w.abandoned.Load() {
		return false, Shutdown
	}
	if w.lagging.Load() {
		return false, SinkLagging
	}
	wait := f.e.cfg.lagFor
	if b.blocking {
		wait = max(wait, f.e.cfg.blockFor)
	}
	deadline := time.Now().Add(wait)
	for pause := time.Microsecond; ; pause = min(2*pause, time.Millisecond) {
		if w.abandoned.Load() {
			return false, Shutdown
		}
		if w.lanes[f.shard].push(b, wm, depth) {
			signal(w.wake)
			return true, 0
		}
		if w.lagging.Load() {
			return false, SinkLagging // another shard's flusher gave up on w
		}
		left := time.Until(deadline)
		if left <= 0 {
			w.lagging.Store(true)
			return false, SinkLagging
		}
		time.Sleep(min(pause, left))
	}
}

// wakeWriters tells sink writers that the watermark moved. When the round
// pushed nothing (idle), only writers waiting on watermarks are woken.
func (f *flusher) wakeWriters(all bool) {
	for _, w := range f.e.writers {
		if all || w.waitingForWatermark.Load() {
			signal(w.wake)
		}
	}
}
