package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardlog/shardlog/breaker"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/hist"
)

// sinkWriter owns one sink: it alone calls the sink's methods, so a sink
// that blocks or fails holds up only its own writer. It merges the batches
// that the shards' flushers put in its lanes, emits events in Mono order
// below the minimum of the shards' watermarks, writes them in batches and
// counts every outcome.
type sinkWriter struct {
	e     *Engine
	index int
	name  string
	sink  core.Sink
	class int            // lowest level class this sink accepts
	level *core.LevelVar // run-time level (SinkLevelVar), or nil
	enc   int            // encoder index in e.encoders, -1 when the sink has none

	lanes []*lane       // one per shard; the flusher pushes, we pop
	wake  chan struct{} // flushers signal new batches or watermarks
	// urgent ends a coalescing wait (coalesce) early: a flusher has a
	// full batch, a second batch in one lane, a spill batch, a pacing
	// wait, or its last watermark for us.
	urgent  chan struct{}
	flushes chan flushRequest
	exited  chan struct{}

	// waitingForWatermark is set while events wait for a watermark to
	// pass them, so idle flushers wake this writer when theirs moves.
	waitingForWatermark atomic.Bool
	// abandoned is set by Shutdown when its deadline passes; inCall by the
	// writer around every sink call. Each side stores its flag and then
	// loads the other's (Dekker): either the writer sees abandoned before
	// it calls the sink, or Shutdown sees it inside a call. So Shutdown
	// can wait for every writer that is not stuck in a sink call to settle
	// its accounting, and never waits on a hung sink.
	abandoned atomic.Bool
	inCall    atomic.Bool
	// callStart is when the last Write attempt began (e.mono()), for shed
	// to tell a sink that has hung with Block events from one still
	// writing; writeOnce's own clock reading.
	callStart atomic.Int64
	// writeAvg is a moving average of the Write calls' durations (ns),
	// updated by the writer alone (writeOnce).
	writeAvg atomic.Int64
	settled  chan struct{} // closed once the writer has counted everything it held
	flushed  chan struct{} // closed once its last Flush returned (or was skipped)
	// discarding is set by an Immediate shutdown: the writer counts what
	// it holds and what its lanes hold as dropped (shutdown), the call in
	// progress is cut short, and the sink is flushed and closed with the
	// drain's context (unlike abandoned, which closes with a canceled one).
	discarding atomic.Bool
	halt       chan struct{} // closed by discard or abandon: retries stop waiting
	haltOnce   sync.Once
	// lagging is set by a flusher that found us stalled (no write
	// completed for stallAfter while it waited for room; flusher.push) or
	// dropped batches of ours; while set, flushers queue our batches
	// without waiting, within the memory budget. We clear it when a write
	// completes (writeOnce) or every lane is empty again.
	lagging  atomic.Bool
	frontier atomic.Int64 // all events with Mono < frontier are written

	counters   sinkCounters
	latency    *hist.Recorder // Write latency, ns
	batchSizes *hist.Recorder // events per Write
	lastErr    atomic.Pointer[errRecord]

	// Loss markers (lossmarker.go); writer-private but for markers.
	marker        bool
	markerEvent   core.Event
	markerLine    []byte
	markerSeen    Drops // drops reported by the last marker written
	markerPending Drops // drops the marker in this write reports

	ctx    context.Context // for sink calls; canceled when Shutdown gives up
	cancel context.CancelFunc
	call   *callContext // Write's context: the write timeout (calldeadline.go)

	// The circuit breaker and fallback (resilience.go).
	br       *breaker.Breaker // nil: SinkWithoutBreaker
	retry    RetryPolicy
	fallback core.Sink
	fbEnc    core.Encoder // the fallback's encoder, or nil
	// fbReencode: the fallback encodes differently from the sink, so its
	// lines are made when a batch is diverted.
	fbReencode bool
	fbBuf      []byte
	fbOffs     []int
	fbEntries  []core.Entry

	// Writer-private state.
	merge     cursorHeap // cursors into held batches that have events left, by next Mono
	held      []int      // per shard, batches popped from its lane and not yet released
	heldSpill []int      // of which spill batches (not limited: see heldLimit)
	bound     []int64    // per shard, the watermark covering every batch taken (see collect)
	spent     []*batch   // exhausted batches, released after the Write that used them
	entries   []core.Entry
	pending   []flushRequest
	wm        []int64
	timer     *time.Timer
	closeErr  error
}

// cursor is a position in a held batch's Mono order.
type cursor struct {
	b     *batch
	i     int
	shard int
}

// mono is the Mono of the event at the cursor.
func (c *cursor) mono() int64 { return c.b.keys[c.i] }

type flushRequest struct {
	ctx  context.Context
	upTo int64
	done chan error
}

func newSinkWriter(e *Engine, index int, sc sinkConfig, enc, shards int) *sinkWriter {
	w := &sinkWriter{
		e:          e,
		index:      index,
		name:       sc.name,
		sink:       sc.sink,
		class:      e.classes.of(sc.minLevel),
		level:      sc.levelVar,
		marker:     sc.lossMarker,
		enc:        enc,
		wake:       make(chan struct{}, 1),
		urgent:     make(chan struct{}, 1),
		flushes:    make(chan flushRequest),
		exited:     make(chan struct{}),
		settled:    make(chan struct{}),
		flushed:    make(chan struct{}),
		halt:       make(chan struct{}),
		latency:    hist.NewLatencyRecorder(),
		batchSizes: mustRecorder(1, 1<<16, 2),
		held:       make([]int, shards),
		heldSpill:  make([]int, shards),
		bound:      make([]int64, shards),
		wm:         make([]int64, shards),
	}
	for s := range shards {
		w.lanes = append(w.lanes, newLane(e.cfg.laneDepth))
		w.bound[s] = noWatermark
	}
	w.frontier.Store(noWatermark)
	w.ctx, w.cancel = context.WithCancel(context.Background())
	timeout := sc.timeout
	if timeout == 0 {
		timeout = e.cfg.writeFor
	}
	w.call = newCallContext(w.ctx, timeout)
	w.br = newSinkBreaker(e, sc)
	w.retry = DefaultRetryPolicy
	if sc.retry != nil {
		w.retry = *sc.retry
	}
	if sc.fallback != nil {
		w.fallback = sc.fallback
		w.fbEnc = fallbackEncoder(sc.fallback)
		w.fbReencode = w.fbEnc != nil && !identical(w.fbEnc, w.ownEncoder())
	}
	return w
}

func (w *sinkWriter) run() {
	defer close(w.exited)
	defer w.cancel()
	w.timer = time.NewTimer(time.Hour)
	w.timer.Stop()
	for {
		if w.abandoned.Load() {
			w.giveUp()
			return
		}
		if w.discarding.Load() {
			w.dropHeld()
			w.finish()
			return
		}
		progress, done := w.round()
		fresh := w.serveFlushes()
		if done {
			w.finish()
			return
		}
		// A request taken after round decided whether this writer waits
		// for watermarks was not seen by that decision: go round again,
		// or no flusher would wake us for it (and a parked one would not
		// wake at all).
		switch {
		case !progress && !fresh:
			w.sleep()
		case !fresh && w.light():
			w.coalesce()
		}
	}
}

// light reports whether the writer should gather its next write
// (coalesce): coalescing is on, and the round just done wrote a partial
// batch (some events, fewer than a batch) with no flush waiting and the
// queue open.
func (w *sinkWriter) light() bool {
	n := len(w.entries)
	return w.e.cfg.coalesce > 0 && n > 0 && n < w.e.cfg.batchSize && len(w.pending) == 0 && !w.e.q.Closed()
}

// coalesce waits up to the coalescing interval (WithWriteCoalescing)
// before the next round, so that under a light input the sink gets one
// write per interval rather than one per flusher wake-up (at 200 000
// events/s to a file, about 62 000 write calls a second of 3 events each,
// and as many writer rounds and half-empty batches). Meanwhile
// waitingForWatermark is clear, so each flusher, finding a batch of its
// in our lane, keeps filling the next (flusher.hold) instead of pushing
// one per epoch. The wait ends early for a flush request, a shutdown, or
// what a flusher marks urgent (push): a full batch, so a saturated
// pipeline never waits here. In steady state a write carries what
// arrived over one interval, and an event reaches the sink within about
// two of them.
func (w *sinkWriter) coalesce() {
	w.waitingForWatermark.Store(false)
	w.timer.Reset(w.e.cfg.coalesce)
	select {
	case <-w.urgent:
	case r := <-w.flushes:
		w.pending = append(w.pending, r)
	case <-w.halt:
	case <-w.timer.C:
	}
	w.timer.Stop()
}

// sleep waits for a batch, a watermark, a flush request, or a safety
// timer. Flushers signal wake whenever they push a batch, and when a
// watermark moves while this writer waits for one (waitingForWatermark,
// a Dekker pair checked in round), so the timer only guards against a
// missed signal: at writerSafety it costs an idle engine one wake-up per
// sink every 10s.
func (w *sinkWriter) sleep() {
	w.timer.Reset(writerSafety)
	select {
	case <-w.wake:
	case r := <-w.flushes:
		w.pending = append(w.pending, r)
	case <-w.timer.C:
	}
	w.timer.Stop()
}

// writerSafety bounds a writer's sleep (see sleep).
const writerSafety = 10 * time.Second

// collect takes batches from every shard's lane and returns the bound
// below which every event of every shard is in hand, and whether every
// shard has finished.
//
// The bound of a shard only grows. It is the watermark carried by the last
// lane entry taken (a flusher puts an epoch's watermark on the entry of
// the batch that completes it, raised to any watermark whose batch was
// dropped for this sink since; see lane), or the shard's published
// watermark when the lane was empty after that watermark was loaded: a flusher pushes a batch
// before it publishes the watermark that covers it, so an empty lane means
// every batch below the loaded watermark has been taken. A writer at its
// held limit may leave batches in the lane; it then keeps the last
// watermark it took rather than one that would pass them.
func (w *sinkWriter) collect() (bound int64, done bool) {
	defer w.clearLagging()
	bound, done = math.MaxInt64, true
	depth := heldLimit(w.e)
	for s, f := range w.e.flushers {
		wm := f.wm.Load()
		w.wm[s] = wm
		for w.held[s]-w.heldSpill[s] < depth || w.waitsOnItsOwnBound(s) {
			b, bwm := w.lanes[s].pop()
			if b == nil {
				break
			}
			w.held[s]++
			if b.spill {
				w.heldSpill[s]++ // beyond the limit (heldLimit)
			}
			if f.pacing.Load() {
				signal(f.room) // f waits for room in one of its lanes (flusher.pace)
			}
			w.bound[s] = max(w.bound[s], bwm)
			if c := w.skip(cursor{b: b, shard: s}); c.i < b.n {
				w.merge.push(c)
			} else {
				w.retire(c)
			}
		}
		empty := w.lanes[s].empty()
		if empty {
			w.bound[s] = max(w.bound[s], wm)
		}
		bound = min(bound, w.bound[s])
		if w.bound[s] != math.MaxInt64 || w.held[s] > 0 || !empty {
			done = false
		}
	}
	return bound, done
}

// waitsOnItsOwnBound reports whether none of the events w holds from
// shard s can go before s's bound rises: then w takes more of s's lane
// past the held limit, until an entry raises the bound or the lane is
// empty. heldLimit's argument (three epochs) holds while every epoch's
// watermark reaches w within them; a watermark that rides on a later
// entry (its batch dropped for w, the lane being full) can arrive past
// the limit, and w would have waited for it for good. Only a writer at
// its limit asks, so the scan of the merge is off the common path; the
// batches it takes are the lane's already, so memory stays bounded by
// the lane and the budget.
func (w *sinkWriter) waitsOnItsOwnBound(s int) bool {
	if w.lanes[s].empty() {
		return false
	}
	for i := range w.merge {
		if c := &w.merge[i]; c.shard == s && c.mono() < w.bound[s] {
			return false // it can go once the other shards allow
		}
	}
	return true
}

// clearLagging lets flushers wait for us again once we have caught up.
func (w *sinkWriter) clearLagging() {
	if !w.lagging.Load() {
		return
	}
	for _, l := range w.lanes {
		if !l.empty() {
			return
		}
	}
	w.lagging.Store(false)
}

// skip advances c past events this sink does not take.
func (w *sinkWriter) skip(c cursor) cursor {
	for c.i < c.b.n {
		if k := int(c.b.class[c.b.order[c.i]]); k != filteredClass && k >= w.class {
			break
		}
		c.i++
	}
	return c
}

// round emits and writes one batch of events below the watermark bound.
// progress reports whether another round may find work at once (events
// were written, or a watermark moved meanwhile); done, that every shard
// has finished and nothing is left.
func (w *sinkWriter) round() (progress, done bool) {
	bound, done := w.collect()
	limit := w.e.cfg.batchSize
	w.entries = w.entries[:0]
	next := int64(math.MaxInt64) // Mono of the first event left unemitted
	// The run-time level is read once per round, and an event's own
	// Level only when there is one: otherwise the merge never touches an
	// event (its keys, classes and lines are in dense arrays), and an
	// event's line cache stays with the flusher that encoded it.
	levelled, minLevel := w.level != nil, core.Level(math.MinInt)
	if levelled {
		minLevel = w.level.Level()
	}
	below, unencoded := 0, 0
	for len(w.entries) < limit && len(w.merge) > 0 {
		c := &w.merge[0]
		m := c.mono()
		if m >= bound {
			next = m
			break
		}
		// The top cursor's events below the bound and below every other
		// cursor's next event are a run: emit it, then restore the heap
		// once. Batches of one shard rarely overlap, so on one processor
		// a run is most of a batch.
		end := bound
		if len(w.merge) > 1 {
			end = min(end, w.merge.runnerUp())
		}
		for {
			idx := int(c.b.order[c.i])
			switch ev := &c.b.events[idx]; {
			case levelled && ev.Level < minLevel:
				below++
			case w.enc >= 0 && c.b.lines[w.enc].bad[idx]:
				unencoded++ // the encoder panicked on it (reported)
			default:
				ent := core.Entry{Event: ev}
				if w.enc >= 0 {
					ent.Line = c.b.line(w.enc, idx)
				}
				w.entries = append(w.entries, ent)
			}
			c.i++
			*c = w.skip(*c)
			if c.i == c.b.n || len(w.entries) == limit || c.mono() >= end {
				break
			}
		}
		if c.i < c.b.n {
			w.merge.fix()
		} else {
			w.retire(w.merge.pop())
		}
	}
	if len(w.entries) == limit && len(w.merge) > 0 {
		next = w.merge[0].mono()
	}
	if below > 0 {
		w.counters.dropped[BelowSinkLevel].Add(uint64(below))
	}
	if unencoded > 0 {
		w.counters.failed.Add(uint64(unencoded))
	}
	if len(w.entries) > 0 {
		w.write()
	}
	for _, b := range w.spent {
		b.release()
	}
	clear(w.spent)
	w.spent = w.spent[:0]
	w.frontier.Store(min(bound, next))
	waiting := next != math.MaxInt64 || len(w.pending) > 0
	w.waitingForWatermark.Store(waiting)
	took := len(w.entries) > 0 || below > 0 || unencoded > 0 // emitted or accounted events
	if waiting && !took {
		// Dekker with the flushers (store W, then load our flag): if a
		// watermark moved after collect, go round again at once.
		for s, f := range w.e.flushers {
			if f.wm.Load() != w.wm[s] {
				return true, false
			}
		}
		// A parked flusher publishes no watermark until something wakes
		// it: kick the flushers whose bound holds our events back (a
		// flusher that is not parked takes the kick as one early epoch).
		// Only those, so a busy shard's long epoch does not set an idle
		// one and this writer chasing each other. A flusher that looks
		// at our flag after we stored it does not park (flusher.park).
		target := w.flushWant()
		if next != math.MaxInt64 {
			target = max(target, next)
		}
		for s, f := range w.e.flushers {
			if w.bound[s] <= target {
				signal(f.kick)
			}
		}
	}
	return took, done && !took && next == math.MaxInt64
}

// flushWant is the highest upTo among pending flush requests (each needs
// the frontier past it), or math.MinInt64 when there are none.
func (w *sinkWriter) flushWant() int64 {
	want := int64(math.MinInt64)
	for _, r := range w.pending {
		want = max(want, r.upTo)
	}
	return want
}

// retire marks c's batch as fully emitted: it is released after the
// Write that may still reference its events.
func (w *sinkWriter) retire(c cursor) {
	w.held[c.shard]--
	if c.b.spill {
		w.heldSpill[c.shard]--
	}
	w.spent = append(w.spent, c.b)
}

// enterCall marks the writer as inside a sink call, unless Shutdown has
// abandoned it (then the call must not be made; see abandoned).
func (w *sinkWriter) enterCall() bool {
	w.inCall.Store(true)
	if w.abandoned.Load() {
		w.inCall.Store(false)
		return false
	}
	return true
}

func (w *sinkWriter) leaveCall() { w.inCall.Store(false) }

// hungInCall reports whether the writer has been inside one sink call
// for longer than hungAfter and than sixteen of its usual calls
// (writeAvg): a sink that has hung, as opposed to one whose calls are
// slow but complete (a 2ms write took over 20ms now and then under the
// race detector on 2 busy cores).
func (w *sinkWriter) hungInCall() bool {
	if !w.inCall.Load() {
		return false
	}
	limit := max(int64(hungAfter), 16*w.writeAvg.Load())
	return w.e.mono()-w.callStart.Load() > limit
}

// hungAfter is the least time one sink call must last for shed to take
// the sink for hung: half the default block timeout, so that the other
// sinks' Block callers are not all timed out first, and ten times
// stallAfter, so that a slow call of a working sink under a loaded
// machine is not taken for a hang.
const hungAfter = 10 * stallAfter

// isSettled reports whether the writer has counted everything it held
// (it finished, or gave up after Shutdown abandoned it).
func (w *sinkWriter) isSettled() bool {
	select {
	case <-w.settled:
		return true
	default:
		return false
	}
}

// write hands the entries to the sink and counts the outcome. Entries of
// a writer abandoned before the call are dropped (shutdown).
func (w *sinkWriter) write() {
	// Inside the call this writer waits for nothing: flushers need not
	// wake it, and may hold a half-empty batch to fill it further
	// (flusher.hold). round sets the flag again after the call.
	w.waitingForWatermark.Store(false)
	if !w.enterCall() || w.discarding.Load() {
		w.leaveCall()
		w.counters.dropped[Shutdown].Add(uint64(len(w.entries)))
		clear(w.entries)
		return
	}
	defer w.leaveCall()
	ticket, ok := w.admit()
	if !ok {
		clear(w.entries)
		return // diverted or dropped (breaker-open)
	}
	markers := 0
	if w.prepareMarker() {
		markers = 1
	}
	all := w.entries
	events := len(all) - markers
	w.batchSizes.Record(int64(events))
	// Write, and retry what failed (resilience.go); out.done counts the
	// entries of all written or rejected so far, a prefix. Rejected
	// events are counted failed there.
	out := w.writeWithRetries(all, ticket, markers)
	done, err := out.done, out.err
	if markers == 1 && done > 0 && !out.markerRejected { // the marker is first: it was written
		w.counters.markers.Add(1)
		w.markerSeen = w.markerPending
	}
	written := max(0, done-markers) - out.rejected
	w.counters.written.Add(uint64(written))
	rest := events - written - out.rejected
	switch {
	case rest == 0:
	case out.refused:
		// The breaker opened between attempts: the rest goes the way of
		// a refused batch (fallback, or breaker-open), the marker aside.
		w.entries = all[max(done, markers):]
		w.divert()
	case errors.Is(err, core.ErrNotAttempted):
		// Not tried: dropped for this sink, not a failure of it.
		w.counters.dropped[NotAttempted].Add(uint64(rest))
		err = nil
	case out.halted || w.canceledByShutdown(err):
		// The shutdown cut the call short (Immediate, or its deadline
		// passed) or ended the wait for its retry: what it did not write
		// is lost to the shutdown, like the rest of the queue, not a
		// failure of the sink.
		w.counters.dropped[Shutdown].Add(uint64(rest))
		err = nil
	default:
		w.counters.failed.Add(uint64(rest))
		if err == nil {
			err = errShortWrite(written, events)
		}
	}
	if err != nil && !errors.Is(err, core.ErrNotAttempted) {
		w.callFailed(err)
	}
	w.entries = all
	clear(w.entries) // drop references into batches before they are reused
}

// errShortWrite is the error of a sink call that wrote n of total events
// and returned no error of its own.
func errShortWrite(n, total int) error {
	return fmt.Errorf("wrote %d of %d events without an error", n, total)
}

// callFailed counts and reports a sink call that failed or panicked.
func (w *sinkWriter) callFailed(err error) {
	w.counters.errors.Add(1)
	w.noteError(err)
	w.e.errs.report(fmt.Errorf("engine: sink %s: write: %w", w.name, err))
}

// writeOnce hands w.entries to the sink once, under the write timeout,
// and counts the call; it reports the outcome to the breaker.
func (w *sinkWriter) writeOnce(ticket breaker.Ticket) (n int, err error) {
	var nbytes int
	for _, en := range w.entries {
		nbytes += len(en.Line)
	}
	start := w.e.mono()
	w.callStart.Store(start)
	n, late, err := w.safeWrite(w.sink, w.entries)
	took := time.Duration(w.e.mono() - start)
	if w.lagging.Load() {
		// A write completed: the sink works again, so Block batches pace
		// to it again (flusher.push), even with a backlog queued; left
		// set until the lanes emptied, a sink that hiccuped once under
		// producers that never let up stayed "stalled" for good, and its
		// Block events were shed at the trim mark.
		w.lagging.Store(false)
	}
	w.report(ticket, err, late, took)
	w.latency.Record(int64(took))
	avg := w.writeAvg.Load()
	w.writeAvg.Store(avg + (int64(took)-avg)/8)
	if late {
		w.counters.timeouts.Add(1)
	}
	w.counters.writes.Add(1)
	w.counters.bytes.Add(uint64(nbytes))
	return max(0, min(n, len(w.entries))), err
}

// noteError keeps err as the sink's last error (Metrics).
func (w *sinkWriter) noteError(err error) {
	w.lastErr.Store(&errRecord{msg: err.Error(), at: time.Now()})
}

// mustRecorder makes a recorder of a geometry fixed in the source.
func mustRecorder(lowest, highest int64, sigfigs int) *hist.Recorder {
	r, err := hist.NewRecorder(lowest, highest, sigfigs)
	if err != nil {
		panic("engine: " + err.Error()) // a programming error, caught by every test
	}
	return r
}

// safeWrite calls s's Write (the sink's, or its fallback's) with the
// write timeout, turning a panic into an error; late reports a call that
// ran past its timeout.
func (w *sinkWriter) safeWrite(s core.Sink, entries []core.Entry) (n int, late bool, err error) {
	w.call.begin()
	defer func() {
		late = w.call.end()
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("panic: %v", r)
		}
	}()
	n, err = s.Write(w.call, entries)
	return n, false, err
}

func (w *sinkWriter) safeCall(what string, f func(context.Context) error, ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
		if err != nil {
			w.counters.errors.Add(1)
			w.noteError(err)
			w.e.errs.report(fmt.Errorf("engine: sink %s: %s: %w", w.name, what, err))
		}
	}()
	return f(ctx)
}

// serveFlushes answers flush requests whose point in time has been
// written, after flushing the sink.
//
// fresh reports whether it took new requests from the channel.
func (w *sinkWriter) serveFlushes() (fresh bool) {
	for {
		select {
		case r := <-w.flushes:
			w.pending = append(w.pending, r)
			fresh = true
			continue
		default:
		}
		break
	}
	if len(w.pending) == 0 {
		return fresh
	}
	f := w.frontier.Load()
	keep := w.pending[:0]
	var flushed bool
	var ferr error
	for _, r := range w.pending {
		// Every event with Mono < f is written; the request covers events
		// with Mono <= upTo (one logged in the same nanosecond as the
		// Flush call is before it), so it needs f > upTo.
		if f <= r.upTo {
			keep = append(keep, r)
			continue
		}
		if !flushed {
			ferr = ErrClosed
			if w.enterCall() {
				ctx, cancel := w.callerContext(r.ctx)
				ferr = w.safeCall("flush", w.sink.Flush, ctx)
				w.flushFallback(ctx)
				cancel()
				w.leaveCall()
			}
			flushed = true
		}
		r.done <- ferr
	}
	w.pending = keep
	return fresh
}

// callerContext is the context of a sink call made for a caller's Flush
// or Sync: the caller's, also canceled when Shutdown abandons the writer
// or discards its queue, as the writer's own calls are. Otherwise a sink
// that honours its context, caught in a slow Flush when the deadline
// passes, would be left to run: reported stuck, with every event queued
// behind it pending after Shutdown returned.
func (w *sinkWriter) callerContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	stop := context.AfterFunc(w.ctx, cancel)
	go func() { // flushes are rare: a goroutine for each is cheap
		select {
		case <-w.halt:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() { stop(); cancel() }
}

// finish runs when every shard is finished and everything is written (or
// discarded): the accounting is settled before the sink's last calls. The
// shutdown's stages watch settled, flushed and exited in turn.
func (w *sinkWriter) finish() {
	close(w.settled)
	for _, r := range w.pending {
		r.done <- ErrClosed
	}
	w.pending = nil
	w.inCall.Store(true) // Flush and Close are sink calls too (Stats' Stuck)
	_ = w.safeCall("flush", w.sink.Flush, w.ctx)
	w.flushFallback(w.ctx)
	close(w.flushed)
	w.closeErr = w.safeCall("close", w.sink.Close, w.ctx)
	w.closeFallback(w.ctx)
	w.inCall.Store(false)
}

// abandon is called by Shutdown when its deadline passes: the writer stops
// at its next step, counts what it still holds as dropped (shutdown) and
// closes the sink with a canceled context.
func (w *sinkWriter) abandon() {
	w.abandoned.Store(true)
	w.cancel()
	w.call.stop(context.Canceled)
	w.haltOnce.Do(func() { close(w.halt) })
	signal(w.wake)
}

// discard is called by an Immediate shutdown: the writer stops at its next
// step (the call in progress, and every later one, sees its context
// canceled), counts what it holds as dropped (shutdown), and flushes and
// closes the sink (finish).
func (w *sinkWriter) discard() {
	w.discarding.Store(true)
	w.call.stop(context.Canceled)
	w.haltOnce.Do(func() { close(w.halt) })
	signal(w.wake)
}

func (w *sinkWriter) giveUp() {
	w.dropHeld()
	close(w.settled)
	close(w.flushed) // no Flush: the sink gets a canceled Close
	// Close with the canceled context, so the sink can release what it
	// holds; Shutdown does not wait for this call, but a Close that does
	// not return is a sink call that did not return (stuck).
	w.inCall.Store(true)
	w.closeErr = w.safeCall("close", w.sink.Close, w.ctx)
	w.closeFallback(w.ctx)
	w.inCall.Store(false)
}

// stuck reports whether Shutdown gave up on this writer while it still
// held events or was inside a sink call (a Write, Flush or Close that had
// not returned): one definition for Stats and the drain's report.
func (w *sinkWriter) stuck() bool {
	return w.abandoned.Load() && (!w.isSettled() || w.inCall.Load())
}

// dropHeld counts every event the writer holds or its lanes hold as
// dropped (shutdown) and releases the batches, once the flushers are done,
// and answers pending flush requests with ErrClosed.
func (w *sinkWriter) dropHeld() {
	// Flushers do no I/O and finish their final drain quickly (a push to
	// an abandoned writer's lane fails at once, and under an Immediate
	// shutdown they discard what they drain); once they have, nothing
	// more can enter our lanes.
	w.e.flusherWG.Wait()
	lost := 0
	for _, c := range w.merge {
		lost += w.countRemaining(c)
		c.b.drop()
	}
	w.merge = w.merge[:0]
	for s := range w.lanes {
		for b, _ := w.lanes[s].pop(); b != nil; b, _ = w.lanes[s].pop() {
			lost += w.countRemaining(w.skip(cursor{b: b, shard: s}))
			b.drop()
		}
	}
	w.counters.dropped[Shutdown].Add(uint64(lost))
	for _, r := range w.pending {
		r.done <- ErrClosed
	}
	w.pending = nil
}

func (w *sinkWriter) countRemaining(c cursor) int {
	n := 0
	for ; c.i < c.b.n; c = w.skip(cursor{b: c.b, i: c.i + 1, shard: c.shard}) {
		n++
	}
	return n
}
