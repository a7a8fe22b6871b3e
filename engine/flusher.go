package engine

import (
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/shardlog/shardlog/engine/event"
)

// flusher owns one shard: it is the shard's only consumer. It drains the
// shard in batches, runs enrichers and filters, sorts each batch by Mono,
// encodes every event once per encoder that some interested sink uses,
// hands the batch to the lanes of the interested sinks, and publishes the
// shard's watermark.
//
// Watermark: before a round the flusher reads the clock (t0) and then the
// shard's Produced position (target). A producer that claims a slot after
// that load reads its clock later, so its event has Mono >= t0. Once the
// flusher has drained up to target (Consumed >= target) and pushed those
// events to the lanes, no event with Mono < t0 can ever come from this
// shard again, and it stores watermark = t0. Sink writers emit only events
// below every shard's watermark, which makes the merge exact: no grace
// period, no event overtaken by a later one.
type flusher struct {
	e     *Engine
	shard int
	free  chan *batch   // batches ready for reuse (refcount reached 0)
	made  int           // batches allocated so far
	limit int           // most batches this shard can have out at once
	kick  chan struct{} // Flush and Shutdown wake the flusher early
	wm    atomic.Int64  // the shard's watermark; math.MaxInt64 when done
	timer *time.Timer
}

func newFlusher(e *Engine, shard int) *flusher {
	// Each sink holds at most laneDepth batches of this shard in its lane
	// and laneDepth more in its merge; one more is being filled. With
	// this many batches the flusher never waits for a free one.
	limit := 2*e.cfg.laneDepth*len(e.writers) + 1
	f := &flusher{
		e:     e,
		shard: shard,
		free:  make(chan *batch, limit),
		limit: limit,
		kick:  make(chan struct{}, 1),
	}
	f.wm.Store(noWatermark)
	return f
}

func (f *flusher) run() {
	defer f.e.flusherWG.Done()
	if f.e.cfg.pinThreads {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	f.timer = time.NewTimer(time.Hour)
	f.timer.Stop()
	idle := 0
	for {
		closing := f.e.state.Load() != stateRunning
		drained, caughtUp := f.round()
		if closing && caughtUp {
			// Close happened before this round's Produced load, so every
			// accepted event has been drained and pushed (ring.Close).
			f.wm.Store(math.MaxInt64)
			f.wakeWriters(true)
			return
		}
		if drained > 0 || !caughtUp {
			idle = 0
			if !caughtUp && drained == 0 {
				// A producer is between claim and publish; let it run.
				runtime.Gosched()
			}
			continue
		}
		f.sleep(idle)
		idle++
	}
}

// sleep waits for work: a nudge from a producer that found the shard
// full, a kick from Flush or Shutdown, or a timer that backs off from
// 20µs to the flush interval while the shard stays idle.
func (f *flusher) sleep(idle int) {
	d := f.e.cfg.flushEvery
	if idle < 16 {
		d = min(d, time.Duration(20_000<<idle)*time.Nanosecond)
	}
	f.timer.Reset(d)
	select {
	case <-f.e.q.Notify(f.shard):
	case <-f.kick:
	case <-f.timer.C:
	}
	f.timer.Stop()
}

// round drains up to one batch and pushes it. caughtUp reports whether the
// shard was drained up to the Produced position loaded at the start, in
// which case the watermark advanced.
func (f *flusher) round() (drained int, caughtUp bool) {
	e := f.e
	t0 := e.mono()
	target := e.q.Produced(f.shard)
	b := f.getBatch()
	for b.n < len(b.events) {
		n, _ := e.q.Drain(f.shard, b.events[b.n:])
		b.n += n
		if n == 0 {
			break
		}
	}
	caughtUp = int64(e.q.Consumed(f.shard)-target) >= 0
	drained = b.n
	if b.n > 0 {
		f.prepare(b)
		f.publish(b)
	} else {
		b.refs.Store(1)
		b.release()
	}
	if caughtUp && t0 > f.wm.Load() {
		f.wm.Store(t0)
		f.wakeWriters(false)
	}
	return drained, caughtUp
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
	for i := 0; i < b.n; i++ {
		ev := &b.events[i]
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
func (f *flusher) appendSafely(buf []byte, enc int, ev *event.Event) (out []byte) {
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
// A sink whose lane is full loses the batch (its lane cannot wait: that
// would let one slow sink stall the shard for all), counted as
// queue-full-newest for that sink alone.
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
		if w.lanes[f.shard].push(b, e.cfg.laneDepth) {
			signal(w.wake)
			continue
		}
		lost := 0
		for c := w.class; c <= maxClass; c++ {
			lost += perClass[c]
		}
		w.counters.dropped[QueueFullNewest].Add(uint64(lost))
		b.release()
	}
	b.release()
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
