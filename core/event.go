package core

import (
	"runtime"
	"time"
)

// InlineFields is how many fields an Event holds without allocating. Calls
// with more fields allocate one slice for all of them.
//
// Six, not more: every event crosses the pipeline by value (a copy out of
// its ring slot, a clear of the slot and of the batch's copy), so each
// inline field costs its 40 bytes three more times per event whether the
// call used it or not. Ten cost 8-10% more per delivered event than six
// (docs/bench/engine.md). log/slog keeps five attributes inline in a Record
// because nearly all calls it surveyed passed five or fewer; six leaves
// room for one field from a context extractor.
const InlineFields = 6

// Event is one log record as captured by a log call.
//
// An Event is filled once, by the goroutine that logs it, inside the ring
// slot it claimed; after it is published it is read-only. Sinks receive
// pointers to Events and must not retain them after Write returns (see
// core.Sink).
type Event struct {
	// Time is the wall-clock time of the call. The engine's own log calls
	// read only the monotonic clock and leave Time for the pipeline to
	// derive from Mono (WallFromMono); sinks always see it filled.
	Time time.Time
	// Mono is the ordering key: monotonic nanoseconds since the engine
	// started, read after the event's slot was claimed. Events of one
	// goroutine have strictly increasing Mono; the pipeline merges shards by
	// it (see docs/DESIGN.md, "Order").
	Mono int64
	// Level is the event's level.
	Level Level
	// Message is the log message.
	Message string
	// Logger is the dotted name of the logger, empty for the root logger.
	Logger string
	// PC is the program counter of the call site, zero unless caller
	// capture is on. Encoders resolve it with Frame, off the caller's path.
	PC uintptr
	// Scope holds the fields and groups of the logger's With/WithGroup
	// chain, shared by every event of that logger. Nil for none.
	Scope *Scope
	// WallFromMono asks the pipeline to compute Time from Mono before the
	// event reaches an encoder or sink (see engine's clock.go).
	WallFromMono bool
	// Blocking is set when the event was logged under the Block overflow
	// policy: the pipeline then paces itself to a sink that is slower
	// than its input (the caller waits at the ring) rather than queueing
	// the backlog in memory, unless the sink has stalled.
	Blocking bool
	// n counts the inline fields in use; it shares the word of the two
	// flags above (an event's size is a cost per event, see InlineFields).
	n uint8
	// Charged is the number of bytes the engine charged to its memory
	// budget for this event when it was logged: set for events too large
	// to sit in a ring slot uncounted, zero for the rest, which the
	// pipeline charges in bulk when it drains them. Engine bookkeeping;
	// sinks ignore it.
	Charged int64

	inline [InlineFields]Field
	extra  []Field
}

// Fields returns the fields given at the call, in call order. They belong
// in the innermost group of Scope. The caller must not modify them.
func (e *Event) Fields() []Field {
	if e.extra != nil {
		return e.extra
	}
	return e.inline[:e.n]
}

// SetFields copies fields into the event: inline when there are at most
// InlineFields, into one new slice otherwise.
func (e *Event) SetFields(fields []Field) {
	if len(fields) <= InlineFields {
		e.n = uint8(copy(e.inline[:], fields))
		e.extra = nil
		return
	}
	e.n = 0
	e.extra = append([]Field(nil), fields...)
}

// AddField appends one field, spilling to a slice when the inline array is
// full.
func (e *Event) AddField(f Field) {
	switch {
	case e.extra != nil:
		e.extra = append(e.extra, f)
	case e.n < InlineFields:
		e.inline[e.n] = f
		e.n++
	default:
		e.extra = make([]Field, e.n, 2*InlineFields)
		copy(e.extra, e.inline[:e.n])
		e.extra = append(e.extra, f)
		e.n = 0
	}
}

// Clone returns a copy of e that shares no mutable memory with it, for
// sinks that keep events beyond Write. Field values and the Scope are
// immutable and shared; the spilled field slice, if any, is copied.
func (e *Event) Clone() Event {
	c := *e
	if e.extra != nil {
		c.extra = append([]Field(nil), e.extra...)
	}
	return c
}

// Reset clears the event so the slot holding it keeps nothing alive.
func (e *Event) Reset() { *e = Event{} }

// Frame resolves PC to a source location; ok is false when PC is zero.
func (e *Event) Frame() (f runtime.Frame, ok bool) {
	if e.PC == 0 {
		return runtime.Frame{}, false
	}
	f, _ = runtime.CallersFrames([]uintptr{e.PC}).Next()
	return f, f.File != ""
}

// Scope is the context a logger adds to each of its events: the fields of
// its With calls and the groups of its WithGroup calls (slog semantics).
// A Scope is immutable once built and shared by every event of its logger,
// so an event refers to it with one pointer instead of copying fields.
type Scope struct {
	// Frames lists the levels from the outermost in. Frames[0] has no
	// Group; each later frame opens the group named by its Group inside the
	// frame before it. An event's own fields belong to the last frame.
	Frames []Frame
}

// Frame is one level of a Scope.
type Frame struct {
	Group  string  // the group this frame opens; empty for Frames[0]
	Fields []Field // fields added at this level, in order
}

// With returns a new scope that adds fields to the innermost frame of s,
// leaving s unchanged. s may be nil.
func (s *Scope) With(fields []Field) *Scope {
	if len(fields) == 0 {
		return s
	}
	frames := s.cloneFrames()
	last := &frames[len(frames)-1]
	last.Fields = append(append([]Field(nil), last.Fields...), fields...)
	return &Scope{Frames: frames}
}

// WithGroup returns a new scope in which later fields, and the event's own
// fields, nest inside a group called name. s may be nil. An empty name
// returns s, as slog's WithGroup("") does.
func (s *Scope) WithGroup(name string) *Scope {
	if name == "" {
		return s
	}
	frames := append(s.cloneFrames(), Frame{Group: name})
	return &Scope{Frames: frames}
}

// Depth returns the number of open groups: len(Frames)-1, or 0 for nil.
func (s *Scope) Depth() int {
	if s == nil || len(s.Frames) == 0 {
		return 0
	}
	return len(s.Frames) - 1
}

func (s *Scope) cloneFrames() []Frame {
	if s == nil || len(s.Frames) == 0 {
		return []Frame{{}}
	}
	// Frames are shared with s; only the last one is ever extended, and
	// With copies its Fields before extending, so a shallow copy suffices.
	return append([]Frame(nil), s.Frames...)
}
