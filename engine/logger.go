package engine

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/drain"
	"github.com/shardlog/shardlog/ring"
)

// Logger logs events into its engine. A Logger is immutable and safe for
// concurrent use; With, WithGroup, Named and WithPolicy return new
// loggers that share the engine.
//
// A call below the engine's level costs one atomic load and one branch,
// before any clock read. An enabled call copies its fields into a ring
// slot (up to core.InlineFields, six, without allocating), never waits
// for I/O, and returns once the event is queued, refused or dropped,
// each outcome counted.
//
// The bound on a call: under a drop policy (DropOldest, DropNewest) a call
// never waits for anything, on the lock-free queue: no park, sleep, yield
// or timer, and no wait for the flusher to release slots; it retries only
// a CAS that another party won, so its duration is its own steps plus
// that contention. (When its shard is full, a DropOldest call takes the
// shard's spill mutex to keep the evicted event, or its own, in memory.
// On the mutex twin it also waits for the shard's lock, which the flusher
// holds while it copies a batch out.) Under Block a call waits for room
// up to the block timeout (WithBlockTimeout), budget room included.
type Logger struct {
	e      *Engine
	scope  *core.Scope
	name   string
	policy int8 // -1: the engine's policy for the level
}

// Enabled reports whether an event at level l would be logged.
func (l *Logger) Enabled(lvl core.Level) bool { return lvl >= l.e.level.Level() }

// Trace logs at LevelTrace.
func (l *Logger) Trace(msg string, fields ...core.Field) {
	if core.LevelTrace >= l.e.level.Level() {
		l.emit(context.Background(), core.LevelTrace, msg, fields, 0)
	}
}

// Debug logs at LevelDebug.
func (l *Logger) Debug(msg string, fields ...core.Field) {
	if core.LevelDebug >= l.e.level.Level() {
		l.emit(context.Background(), core.LevelDebug, msg, fields, 0)
	}
}

// Info logs at LevelInfo.
func (l *Logger) Info(msg string, fields ...core.Field) {
	if core.LevelInfo >= l.e.level.Level() {
		l.emit(context.Background(), core.LevelInfo, msg, fields, 0)
	}
}

// Warn logs at LevelWarn.
func (l *Logger) Warn(msg string, fields ...core.Field) {
	if core.LevelWarn >= l.e.level.Level() {
		l.emit(context.Background(), core.LevelWarn, msg, fields, 0)
	}
}

// Error logs at LevelError.
func (l *Logger) Error(msg string, fields ...core.Field) {
	if core.LevelError >= l.e.level.Level() {
		l.emit(context.Background(), core.LevelError, msg, fields, 0)
	}
}

// Fatal logs at LevelFatal, waits up to the fatal timeout for every
// pending event to be written, and exits the process with status 1.
func (l *Logger) Fatal(msg string, fields ...core.Field) {
	l.emit(context.Background(), core.LevelFatal, msg, fields, 0)
	ctx, cancel := context.WithTimeout(context.Background(), l.e.cfg.fatalWait)
	defer cancel()
	_, _ = l.e.Shutdown(ctx, drain.Graceful(l.e.cfg.fatalWait))
	l.e.cfg.exit(1)
}

// Log logs at any level. ctx feeds the context extractors; it bounds a
// Block wait only under WithContextBoundsWait (by default a canceled
// request context does not lose the event). It may be nil.
func (l *Logger) Log(ctx context.Context, lvl core.Level, msg string, fields ...core.Field) {
	if lvl >= l.e.level.Level() {
		l.emit(ctx, lvl, msg, fields, 0)
	}
}

// With returns a logger that adds fields to every event. The fields are
// copied now and shared by every event of the new logger.
func (l *Logger) With(fields ...core.Field) *Logger {
	if len(fields) == 0 {
		return l
	}
	c := *l
	c.scope = l.scope.With(fields)
	return &c
}

// WithGroup returns a logger whose later With fields and event fields nest
// inside a group called name (slog semantics). An empty name returns l.
func (l *Logger) WithGroup(name string) *Logger {
	if name == "" {
		return l
	}
	c := *l
	c.scope = l.scope.WithGroup(name)
	return &c
}

// Named returns a logger whose name is l's name joined with name by a dot.
func (l *Logger) Named(name string) *Logger {
	if name == "" {
		return l
	}
	c := *l
	if l.name == "" {
		c.name = name
	} else {
		c.name = l.name + "." + name
	}
	return &c
}

// WithPolicy returns a logger whose calls use overflow policy p when their
// shard is full, whatever the engine's per-level policy (WithOverflow,
// WithOverflowAt) says: a per-call-site choice. The last WithPolicy wins.
// An unknown policy is reported to the error handler, and the engine's
// policies apply.
func (l *Logger) WithPolicy(p ring.Policy) *Logger {
	c := *l
	if p > ring.Block {
		l.e.errs.report(fmt.Errorf("engine: Logger.WithPolicy: unknown policy %d; the engine's policies apply", p))
		c.policy = -1
		return &c
	}
	c.policy = int8(p)
	return &c
}

// Engine returns the logger's engine, for Flush, Shutdown and Stats.
func (l *Logger) Engine() *Engine { return l.e }

// Sync delivers what was logged before the call: it waits until every such
// event is written (or counted as dropped or failed) and every sink is
// flushed, for at most the sync timeout (WithSyncTimeout, default 5s). It
// is zap's idiom (defer logger.Sync() in main) and a bounded Engine.Flush;
// after Shutdown it returns ErrClosed. It does not stop the engine: call
// Shutdown for that.
func (l *Logger) Sync() error {
	ctx, cancel := context.WithTimeout(context.Background(), l.e.cfg.syncWait)
	defer cancel()
	return l.e.Flush(ctx)
}

// emit captures and queues one enabled event. skip counts extra frames
// between the user's call and emit's caller.
func (l *Logger) emit(ctx context.Context, lvl core.Level, msg string, fields []core.Field, skip int) {
	e := l.e
	var pc uintptr
	if e.cfg.addCaller {
		var pcs [1]uintptr
		runtime.Callers(3+skip+e.cfg.callerSkip, pcs[:])
		pc = pcs[0]
	}
	l.enqueue(ctx, lvl, msg, fields, pc, time.Time{}, true)
}

// emitRecord is emit for a record that brings its own time and call site
// (the slog handler): the event's Time is t, kept even when zero so that
// encoders leave it out, and its PC is pc. Mono is still read from the
// clock after the slot is claimed.
func (l *Logger) emitRecord(ctx context.Context, lvl core.Level, msg string, t time.Time, pc uintptr, fields []core.Field) ring.Status {
	return l.enqueue(ctx, lvl, msg, fields, pc, t, false)
}

// enqueue is the body of emit and emitRecord. With clock set the event's
// Time is the clock reading taken for Mono; otherwise it is t.
//
// The fill closure runs after the slot is claimed: the clock is read there,
// so every event claimed after a flusher's Produced load carries a later
// Mono (the watermark argument, docs/DESIGN.md). It must stay on the
// stack, so the ring is called through its concrete type.
func (l *Logger) enqueue(ctx context.Context, lvl core.Level, msg string, fields []core.Field, pc uintptr, t time.Time, clock bool) ring.Status {
	e := l.e
	var extra []core.Field
	if ctx == nil {
		ctx = context.Background() // Log documents nil as allowed
	}
	// Background carries no values: skip the extractors for it.
	if len(e.cfg.extractors) > 0 && ctx != context.Background() {
		for _, x := range e.cfg.extractors {
			if fs := e.extract(x, ctx); len(fs) > 0 {
				if extra == nil {
					extra = fs
				} else {
					extra = append(extra[:len(extra):len(extra)], fs...)
				}
			}
		}
	}
	policy := ring.Policy(l.policy)
	if l.policy < 0 {
		policy = e.policyFor(lvl)
	}
	class := e.classes.of(lvl)
	var shard int
	if q := e.lf; q != nil {
		shard = q.Pick()
	} else {
		shard = e.mq.Pick()
	}
	counters := e.counters[shard]
	// The memory budget and the event size limit. The common call (a
	// small event, no context fields, a budget with room) costs the
	// footprint sum and one load of a flag that changes only when the
	// budget fills; everything else takes the slow path (budget.go).
	var charged int64
	var waitUntil time.Time // set when admit waited for budget room
	if size, quick := e.quickAdmit(msg, fields, extra); !quick {
		var ok bool
		var why Reason
		msg, fields, extra, charged, ok, why, waitUntil = l.admit(ctx, shard, class, policy, msg, fields, extra, size)
		if !ok {
			counters.accepted[class].Add(1)
			counters.dropped[why][class].Add(1)
			if why == Budget {
				e.noteLimit() // after the count: the hook reports it
			}
			return ring.Refused
		}
	}
	fill := func(ev *core.Event) {
		// One clock read, after the claim: Mono orders the event, and the
		// wall time is derived from it later (clock.go), unless the caller
		// brought its own (slog records).
		ev.Mono = e.mono()
		ev.Time = t
		ev.WallFromMono = clock
		ev.Level = lvl
		ev.Message = msg
		ev.Logger = l.name
		ev.PC = pc
		ev.Scope = l.scope
		ev.Blocking = policy == ring.Block
		ev.Charged = charged
		ev.SetFields(fields)
		for _, f := range extra {
			ev.AddField(f)
		}
		counters.accepted[class].Add(1)
	}
	// The call's context supplies values; a Block wait is bounded by the
	// engine's block timeout, and by the context only when asked for: a
	// request whose client went away still gets its error logged.
	waitCtx := context.Background()
	if e.cfg.ctxBoundsWait {
		waitCtx = ctx
	}
	var cancel context.CancelFunc
	if !waitUntil.IsZero() {
		// What is left of the block timeout admit waited out of.
		waitCtx, cancel = context.WithDeadline(waitCtx, waitUntil)
	}
	// One branch chooses the queue; each arm calls its concrete type, so
	// the fill closure stays on the stack (an interface call would make it
	// escape) and the default queue pays one predicted branch.
	var res ring.Result
	if q := e.lf; q != nil {
		res = q.EnqueueShard(waitCtx, shard, policy, fill)
	} else {
		res = e.mq.EnqueueShard(waitCtx, shard, policy, fill)
	}
	if cancel != nil {
		cancel()
	}
	if res.Status == ring.Refused && policy == ring.DropOldest && e.spillNewest(shard, fill) {
		res.Status = ring.Accepted // kept in the spill (spill.go)
	}
	if res.Status != ring.Accepted {
		e.countRefusal(counters, class, res.Status)
		if charged > 0 {
			e.budget.Release(charged)
		}
	}
	return res.Status
}

// quickAdmit is the common call's admission: a small event with inline
// fields and no context fields, and a budget with room (one load of a
// flag that changes only when the budget fills). Everything else takes
// admit. size is the footprint of msg and fields.
func (e *Engine) quickAdmit(msg string, fields, extra []core.Field) (size int, quick bool) {
	size = core.Footprint(msg, fields)
	return size, size <= largeEvent && len(extra) == 0 && len(fields) <= core.InlineFields &&
		(e.budget == nil || !e.budget.Over())
}

// countRefusal accounts for an event that never entered the queue.
func (e *Engine) countRefusal(c *shardCounters, class int, st ring.Status) {
	c.accepted[class].Add(1)
	switch st {
	case ring.Refused:
		c.dropped[QueueFullNewest][class].Add(1)
	case ring.Canceled:
		c.dropped[BlockTimeout][class].Add(1)
	default:
		c.dropped[Closed][class].Add(1)
	}
}
