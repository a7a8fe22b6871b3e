package engine

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/ring"
)

// The memory budget: a bound in bytes on what queued events keep alive.
// What is charged, when, and the constant outside it are in
// docs/DESIGN.md ("Memory budget").

// DefaultMaxQueueBytes is the memory budget when WithMaxQueueBytes is not
// given: 128 MiB. A queued event costs about 1 KiB (its ~700-byte slot in
// a batch, its strings, its JSON line), so this absorbs a sink that stalls
// for half a second under 200 000 events/s, or a full second at half that,
// without losing anything; it is a ceiling, not a reservation: an engine
// whose sinks keep up holds a few hundred KiB.
const DefaultMaxQueueBytes = 128 << 20

// DefaultMaxEventBytes is the largest event (message plus field keys and
// values) logged whole when WithMaxEventBytes is not given: 1 MiB, the
// usual ceiling of log shippers and brokers (Kafka's message.max.bytes,
// for one).
const DefaultMaxEventBytes = 1 << 20

// minMaxEventBytes is the smallest WithMaxEventBytes accepted: it must
// hold a small event whole, so that only large ones are cut or refused
// (largeEvent).
const minMaxEventBytes = largeEvent

// minMaxQueueBytes is the smallest budget accepted: a few batches.
const minMaxQueueBytes = 256 << 10

// largeEvent is the footprint above which an event charges the budget
// itself at the call, before it takes a ring slot. Smaller ones are
// charged in bulk by the flusher that drains them, so the common call
// makes no shared write for the budget; what they pin while in a ring is
// bounded by slots × largeEvent, part of the documented constant.
const largeEvent = 1024

// DefaultCapacity is the engine's slots per shard unless WithCapacity
// says otherwise: 1024, 10ms of events at 100 000 events/s per shard.
// Neither a sink's stall nor a flusher that is not running needs a bigger
// ring: the memory budget absorbs the first (lanes) and the spill the
// second (what a full ring evicts is kept, spill.go); the default load
// generator run lost nothing in 10 of 10 runs at 1024 slots. A bigger
// ring costs tail latency: every slot holds pointers the collector scans,
// and at 4096 slots the call's p99.9 at 100 000 events/s and -cpu 1 was
// 115–139µs against 3–4µs at 1024 (docs/bench/engine.md). A slot is about
// 700 bytes: 0.7 MiB per shard, outside the budget.
const DefaultCapacity = 1024

// maxLaneDepth bounds WithLaneDepth.
const maxLaneDepth = 1 << 16

// OversizeAction says what happens to an event larger than
// WithMaxEventBytes.
type OversizeAction uint8

const (
	// Truncate cuts the event's largest string values (each marked
	// "…[truncated N bytes]") and, when keys alone are too many, its last
	// fields (marked by a "!TRUNCATED" field), and logs it; counted in
	// Truncated. The default: the event still says what happened.
	Truncate OversizeAction = iota
	// Refuse drops the event at the call (too-large).
	Refuse
)

// String names the action.
func (a OversizeAction) String() string {
	switch a {
	case Truncate:
		return "truncate"
	case Refuse:
		return "refuse"
	}
	return fmt.Sprintf("OversizeAction(%d)", uint8(a))
}

// WithMaxQueueBytes sets the memory budget: the most bytes that queued
// events may keep alive (in the queue, in batches waiting for a sink, in
// their encodings), DefaultMaxQueueBytes by default. Within it, a sink
// that stalls is absorbed in memory; beyond its trim mark (7/8 of it),
// the oldest batches queued for the sinks that are behind are dropped
// (budget); at the limit itself new events are refused (budget) until
// there is room, a Block call waiting up to the block timeout first. 0
// turns the budget off: memory is then bounded by slots and lanes alone
// (WithCapacity, WithLaneDepth). Must be 0 or at least 256 KiB.
func WithMaxQueueBytes(n int64) Option { return optionFunc(func(c *config) { c.maxQueue = n }) }

// WithMaxEventBytes sets the largest event logged whole, measured as the
// memory a queued event keeps (core.Footprint): its message, its fields'
// keys and values, and 40 bytes for each field and group member (the
// Field itself), in bytes. So a 1 KiB limit holds at most 25 fields,
// however small. A larger event is cut or refused
// (WithOversizedEvents). Must be at least 1 KiB, and at most the budget
// when there is one. The default is DefaultMaxEventBytes, or a quarter of
// a budget smaller than 4 MiB, so that a small WithMaxQueueBytes needs no
// WithMaxEventBytes beside it.
func WithMaxEventBytes(n int) Option {
	return optionFunc(func(c *config) { c.maxEvent, c.setMaxEvent = n, true })
}

// WithOversizedEvents says what happens to an event larger than
// WithMaxEventBytes: Truncate (the default) or Refuse.
func WithOversizedEvents(a OversizeAction) Option {
	return optionFunc(func(c *config) { c.oversize = a })
}

// LimitExceeded is what WithOnLimitExceeded's hook receives.
type LimitExceeded struct {
	Time  time.Time
	Usage int64 // bytes charged now
	Limit int64 // the budget
	// Dropped counts the events lost to the budget (reason budget, over
	// the engine and every sink) since the previous call of the hook.
	Dropped uint64
}

// limitHookInterval is the least time between two calls of the
// WithOnLimitExceeded hook.
const limitHookInterval = time.Second

// WithOnLimitExceeded sets a hook called when the memory budget sheds or
// refuses events: at most once a second, on a goroutine of its own (never
// on a logging caller's, never on a flusher's), one call at a time. A hook
// that is slow only delays its own later calls. It must not log through
// the same engine at a rate that could feed back.
func WithOnLimitExceeded(f func(LimitExceeded)) Option {
	return optionFunc(func(c *config) { c.onLimit = f })
}

func (c *config) validateBudget() error {
	if c.maxQueue < 0 || (c.maxQueue > 0 && c.maxQueue < minMaxQueueBytes) {
		return fmt.Errorf("engine: WithMaxQueueBytes: must be 0 (off) or at least %d, got %d", minMaxQueueBytes, c.maxQueue)
	}
	if !c.setMaxEvent && c.maxQueue > 0 {
		c.maxEvent = int(min(int64(DefaultMaxEventBytes), c.maxQueue/4))
	}
	if c.maxEvent < minMaxEventBytes {
		return fmt.Errorf("engine: WithMaxEventBytes: must be at least %d, got %d", minMaxEventBytes, c.maxEvent)
	}
	if c.maxQueue > 0 && int64(c.maxEvent) > c.maxQueue {
		return fmt.Errorf("engine: WithMaxEventBytes: %d is more than WithMaxQueueBytes (%d)", c.maxEvent, c.maxQueue)
	}
	if c.oversize > Refuse {
		return fmt.Errorf("engine: WithOversizedEvents: unknown action %d", c.oversize)
	}
	return nil
}

// batchBytes is the memory a batch pins whatever it holds: its events'
// slots, its index arrays and its encodings' offsets. A batch in use is
// charged this much plus its events' footprints and encoded bytes.
func (e *Engine) batchBytes() int64 {
	n := int64(e.cfg.batchSize)
	// Per event: its slot, order (2), class (1) and merge key (8); per
	// event and encoder: its offset (4) and bad flag (1); and the lines'
	// headers.
	enc := int64(len(e.encoders))
	return n*int64(unsafe.Sizeof(core.Event{})+2+1+8) + enc*((n+1)*4+n+int64(unsafe.Sizeof(encoded{}))) +
		int64(unsafe.Sizeof(batch{}))
}

// MemoryOverhead is the most memory the engine keeps alive outside its
// memory budget, in bytes, for its configuration: per shard, the ring's
// slots with the strings of events too small to charge themselves
// (largeEvent each at most), the free list of batches with the
// encodings they keep (maxRetainedLineBuf per encoder) and the batch in
// the flusher's hand; and the lanes' slots. A process's heap attributable
// to the engine stays within MaxQueueBytes plus this (plus what the
// budget charges late: the flusher charges what it drains without
// asking, docs/DESIGN.md, "Memory budget").
func (e *Engine) MemoryOverhead() int64 {
	shards := int64(len(e.flushers))
	slot := int64(unsafe.Sizeof(core.Event{})) + 16 + largeEvent // sequence word and flag, padded
	ring := int64(e.q.Capacity()) * slot
	perBatch := e.batchBytes() + int64(len(e.encoders))*maxRetainedLineBuf
	batches := int64(cap(e.flushers[0].free.ch)+1) * perBatch
	lanes := int64(len(e.writers)) * int64(e.cfg.laneDepth) * int64(unsafe.Sizeof(laneSlot{}))
	return shards * (ring + batches + 2*lanes)
}

// defaultLaneDepth holds every batch the budget can pay for (each costs at
// least batchBytes), so that only the budget decides what a sink that is
// behind may queue, plus what a writer holds and the rings' overshoot.
func (e *Engine) defaultLaneDepth() int {
	if e.budget == nil {
		return 4
	}
	n := e.budget.Limit()/e.batchBytes() + int64(heldLimit(e)) + int64(e.cfg.capacity/e.cfg.batchSize) + 4
	return int(min(n, maxLaneDepth))
}

// admit is the slow path of a call whose event is large, has many or
// context fields, or finds the budget over its limit: it applies the event
// size limit and charges or checks the budget. size is the footprint of
// msg and fields. It returns the event to log (cut when too large) and the
// bytes charged for it, or ok false and the reason it is dropped. (Plain
// results, not a struct: escape analysis tracks a struct as one, and the
// caller's stack-allocated fields would then escape with the message.)
func (l *Logger) admit(ctx context.Context, shard, class int, policy ring.Policy, msg string, fields, extra []core.Field, size int) (
	outMsg string, outFields, outExtra []core.Field, charged int64, ok bool, reason Reason, waitUntil time.Time) {
	e := l.e
	if e.q.Closed() {
		// After Shutdown every call is dropped closed, whatever its size
		// or the budget (the fast path learns it from the queue).
		return "", nil, nil, 0, false, Closed, time.Time{}
	}
	// size counts every field's own bytes (core.Footprint): for a spilled
	// event that is its field slice; for one with inline fields, a slight
	// overestimate.
	size += core.Footprint("", extra)
	if size > e.cfg.maxEvent {
		if e.cfg.oversize == Refuse {
			return "", nil, nil, 0, false, TooLarge, time.Time{}
		}
		all := make([]core.Field, 0, len(fields)+len(extra))
		all = append(append(all, fields...), extra...)
		msg, fields, _ = core.Truncate(msg, all, e.cfg.maxEvent)
		extra = nil
		e.counters[shard].truncated[class].Add(1)
		size = core.Footprint(msg, fields)
	}
	b := e.budget
	if b == nil {
		return msg, fields, extra, 0, true, 0, time.Time{}
	}
	fits := func() bool {
		if size > largeEvent {
			if b.TryCharge(int64(size)) {
				charged = int64(size)
				return true
			}
			return false
		}
		return !b.Over()
	}
	if fits() {
		return msg, fields, extra, charged, true, 0, time.Time{}
	}
	// No room: ask this shard's flusher to shed. (The caller wakes the
	// limit hook once it has counted the loss, so the hook sees it.)
	signal(e.flushers[shard].kick)
	if policy != ring.Block {
		return "", nil, nil, 0, false, Budget, time.Time{}
	}
	deadline := time.Now().Add(e.cfg.blockFor)
	for {
		// A budget frees up as sinks write whole batches: a millisecond
		// (the shortest sleep Linux gives a Go program) is fine-grained
		// enough.
		time.Sleep(time.Millisecond)
		if fits() {
			// The ring's own wait ends at the same deadline: one block
			// timeout bounds the whole call (enqueue).
			return msg, fields, extra, charged, true, 0, deadline
		}
		if e.q.Closed() {
			return "", nil, nil, 0, false, Closed, time.Time{}
		}
		if time.Now().After(deadline) || (e.cfg.ctxBoundsWait && ctx.Err() != nil) {
			return "", nil, nil, 0, false, BlockTimeout, time.Time{}
		}
		signal(e.flushers[shard].kick)
	}
}

// noteLimit wakes the limit hook's goroutine, if there is one.
func (e *Engine) noteLimit() {
	if e.limitWake != nil {
		signal(e.limitWake)
	}
}

// runLimitHook calls the WithOnLimitExceeded hook when woken, at most once
// per limitHookInterval, until the shutdown has finished.
func (e *Engine) runLimitHook() {
	var reported uint64
	var last time.Time
	for {
		select {
		case <-e.limitWake:
		case <-e.ctrl.Done():
			return
		}
		if wait := limitHookInterval - time.Since(last); !last.IsZero() && wait > 0 {
			select {
			case <-time.After(wait):
			case <-e.ctrl.Done():
				return
			}
		}
		last = time.Now()
		total := e.budgetDrops()
		s := e.budget.Snapshot()
		ev := LimitExceeded{Time: last, Usage: s.Usage, Limit: s.Limit, Dropped: total - reported}
		reported = total
		e.safely("limit hook", func() { e.cfg.onLimit(ev) })
	}
}

// budgetDrops is every event lost to the budget so far: refused at calls
// (shard counters) and shed for sinks (sink counters).
func (e *Engine) budgetDrops() uint64 {
	var n uint64
	for _, c := range e.counters {
		for k := range c.dropped[Budget] {
			n += c.dropped[Budget][k].Load()
		}
	}
	for _, w := range e.writers {
		n += w.counters.dropped[Budget].Load()
	}
	return n
}

// maxUpFront bounds what New allocates before the first event: the rings'
// slots and the sinks' lanes (ring.MaxSlotBytes, 1 GiB, for both).
const maxUpFront = ring.MaxSlotBytes

// upFrontBytes is what New allocates for the rings and the lanes.
func (e *Engine) upFrontBytes() (rings, lanes uint64) {
	shards := uint64(e.cfg.shards)
	rings = shards * uint64(e.cfg.capacity) * ring.SlotBytes[core.Event]()
	lanes = shards * uint64(len(e.cfg.sinks)) * uint64(laneSlots(e.cfg.laneDepth)) * uint64(unsafe.Sizeof(laneSlot{}))
	return rings, lanes
}

// checkUpFront refuses a configuration whose rings and lanes would take
// more than maxUpFront, naming the options that set their sizes.
func (e *Engine) checkUpFront() error {
	rings, lanes := e.upFrontBytes()
	if rings+lanes <= maxUpFront {
		return nil
	}
	var named []string
	if e.cfg.setShards {
		named = append(named, "WithShards")
	}
	if e.cfg.setCapacity {
		named = append(named, "WithCapacity")
	}
	if e.cfg.setLaneDepth {
		named = append(named, "WithLaneDepth")
	} else if lanes > rings {
		named = append(named, "WithMaxQueueBytes") // the lanes' default depth
	}
	if len(named) == 0 {
		named = append(named, "WithSink") // only the number of sinks is left
	}
	return fmt.Errorf("engine: %s: %d shards of %d slots, with %d sinks' lanes %d batches deep, would allocate %d MiB up front (rings %d MiB, lanes %d MiB), more than %d MiB",
		strings.Join(named, ", "), e.cfg.shards, e.cfg.capacity, len(e.cfg.sinks), e.cfg.laneDepth,
		(rings+lanes)>>20, rings>>20, lanes>>20, uint64(maxUpFront)>>20)
}
