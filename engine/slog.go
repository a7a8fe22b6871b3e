package engine

import (
	"context"
	"log/slog"
	"time"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/ring"
)

// HandlerOptions configures a Handler. A nil *HandlerOptions is the zero
// value: no source, the engine's level, no ReplaceAttr.
type HandlerOptions struct {
	// AddSource records each record's call site (Record.PC). format.JSON
	// and format.Text write it as their caller entry ("dir/file.go:line"
	// under format.Keys.Caller); format.SlogJSON{AddSource: true} writes
	// slog's source object. The engine's
	// WithCaller(true) has the same effect on a Handler; WithCallerSkip
	// does not apply, since slog finds the call site itself.
	AddSource bool

	// Level is the minimum level of the records the handler logs, read on
	// every Enabled call. Nil means the engine's level (Engine.LevelVar).
	// When set, it replaces the engine's level for this handler, so it may
	// let through records the engine's own Logger methods would not.
	Level slog.Leveler

	// ReplaceAttr, when set, is called at log time on every attribute that
	// is not a group, with the names of the groups that contain it:
	// those of WithGroup, then those of the group attributes around it.
	// Attributes given to WithAttrs are passed once, when WithAttrs is
	// called. The result is used in place of the attribute; a result with
	// an empty key is dropped, and a group result is logged as a group,
	// with ReplaceAttr applied to its members. A LogValuer is resolved
	// before and after the call.
	//
	// The built-in entries are passed too, with nil groups and in slog's
	// order: time (if not zero), level, source (if there is a call site)
	// and message. Encoders write these entries under their own names
	// (format.Keys renames them), so the keys of the results are ignored,
	// and only the values below are understood:
	//   - time: a result with an empty key removes the time (the event's
	//     Time is zero and encoders leave it out); a time.Time value
	//     replaces it; any other value keeps the record's time.
	//   - level: an slog.Level or core.Level value replaces the level
	//     (which also picks the sinks and the overflow policy); any other
	//     value, removal included, keeps the record's level.
	//   - source: a result with an empty key removes the call site; any
	//     other result keeps it, since encoders resolve it themselves.
	//   - message: a string value replaces the message; another value is
	//     written as its text (slog.Value.String); removal leaves the
	//     message empty.
	//
	// A nil ReplaceAttr costs nothing. A non-nil one allocates only for
	// what it is shown that does not exist yet: the group path of an
	// attribute inside a group attribute, the *slog.Source of a call
	// site, and the level boxed in a slog.Value (Debug, for one).
	ReplaceAttr func(groups []string, a slog.Attr) slog.Attr
}

// Handler is a slog.Handler that logs through a Logger, so that code
// written against log/slog runs on the engine's queue and sinks.
//
// A record becomes one event of the Logger: its level converts as is
// (shardlog's levels share slog's values), its time is kept (a zero time
// is left out by the encoders, as slog requires), its attributes become
// fields and its group attributes group fields. Values are captured when
// Handle runs: LogValuers are resolved and slog.KindAny values are
// rendered by core.Any, so a caller may change them as soon as the log
// call returns. Attributes with an empty key are dropped, unless they are
// groups, whose members are then added to the enclosing level; groups
// with no members are dropped. (slog's own handlers drop only the zero
// Attr and write other empty keys; a value without a key cannot be found
// again by a reader, so this handler drops it.)
//
// WithAttrs and WithGroup build on Logger.With and Logger.WithGroup:
// their fields are converted once and shared by every later event, not
// encoded again per call. The Logger's name, scope and per-logger
// overflow policy apply: a handler built on log.Named("db").With(f)
// names its events "db" and adds f to each.
//
// Handle runs on the caller's goroutine and costs what a Logger call
// costs: it allocates nothing for records of up to core.InlineFields
// attributes of the basic kinds when ReplaceAttr is nil. ctx feeds the
// engine's context extractors and bounds a Block wait; it may be nil.
//
// A Handler is immutable and safe for concurrent use. Records the queue
// drops are counted in the engine's Stats, not returned as errors; after
// the engine's Shutdown, Handle drops the record and returns ErrClosed.
type Handler struct {
	l         *Logger
	level     slog.Leveler // nil: the engine's level
	replace   func(groups []string, a slog.Attr) slog.Attr
	addSource bool
	// groups are the names given to WithGroup, outermost first, kept only
	// for ReplaceAttr; the Logger's scope holds the groups for output.
	groups []string
}

var _ slog.Handler = (*Handler)(nil)

// NewHandler returns a Handler that logs through l, configured by opts
// (nil for the defaults). Build it on the Logger whose name and fields
// the records should carry; e.Logger() for the root. It panics if l is
// nil, as slog.New does with a nil handler.
func NewHandler(l *Logger, opts *HandlerOptions) *Handler {
	if l == nil {
		panic("engine: NewHandler: nil Logger")
	}
	h := &Handler{l: l}
	if opts != nil {
		h.level = opts.Level
		h.replace = opts.ReplaceAttr
		h.addSource = opts.AddSource
	}
	h.addSource = h.addSource || l.e.cfg.addCaller
	return h
}

// Logger returns the Logger the handler logs through, which carries the
// fields and groups of its WithAttrs and WithGroup calls.
func (h *Handler) Logger() *Logger { return h.l }

// Engine returns the handler's engine, so a program that installed the
// handler with slog.SetDefault can still Flush and Shutdown it.
func (h *Handler) Engine() *Engine { return h.l.e }

// Enabled reports whether a record at level lvl would be logged: one
// comparison with HandlerOptions.Level, or with the engine's level.
func (h *Handler) Enabled(_ context.Context, lvl slog.Level) bool {
	if h.level != nil {
		return lvl >= h.level.Level()
	}
	return core.Level(lvl) >= h.l.e.level.Level()
}

// Handle logs r. It does not check the level again: slog.Logger calls
// Enabled first.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	// The fields live on the stack: ten fit without allocating, as in an
	// Event, and the engine copies them into the ring slot.
	var buf [core.InlineFields]core.Field
	fields := buf[:0]
	if r.NumAttrs() > 0 {
		r.Attrs(func(a slog.Attr) bool {
			// The common attribute (a named scalar, no ReplaceAttr) is
			// converted here; groups, LogValuers and ReplaceAttr take
			// appendAttr's general path.
			if k := a.Value.Kind(); h.replace == nil && k != slog.KindGroup && k != slog.KindLogValuer && a.Key != "" {
				fields = append(fields, valueField(a.Key, k, a.Value))
				return true
			}
			fields = h.appendAttr(fields, a, h.groups)
			return true
		})
	}
	lvl, msg, t := core.Level(r.Level), r.Message, r.Time
	var pc uintptr
	if h.addSource {
		pc = r.PC
	}
	if h.replace != nil {
		lvl, msg, t, pc = h.replaceBuiltins(r, t, pc)
	}
	if h.l.emitRecord(ctx, lvl, msg, t, pc, fields) == ring.Closed {
		return ErrClosed
	}
	return nil
}

// WithAttrs returns a handler whose events carry attrs, converted now
// (with ReplaceAttr, under the current groups) and shared from then on.
// The handler does not keep attrs. With no attributes it returns h.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	var fields []core.Field
	for _, a := range attrs {
		fields = h.appendAttr(fields, a, h.groups)
	}
	c := *h
	c.l = h.l.With(fields...)
	return &c
}

// WithGroup returns a handler whose later attributes, from WithAttrs or
// from records, nest inside a group called name. An empty name returns h.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.l = h.l.WithGroup(name)
	c.groups = append(h.groups[:len(h.groups):len(h.groups)], name)
	return &c
}

// appendAttr converts a to fields appended to dst. groups is the group
// path of a, for ReplaceAttr.
func (h *Handler) appendAttr(dst []core.Field, a slog.Attr, groups []string) []core.Field {
	v := a.Value
	k := v.Kind() // a type switch: read once
	if k == slog.KindLogValuer {
		v = v.Resolve()
		k = v.Kind()
	}
	if h.replace != nil && k != slog.KindGroup {
		a = h.replace(groups, slog.Attr{Key: a.Key, Value: v})
		v = a.Value.Resolve()
		k = v.Kind()
	}
	if k != slog.KindGroup {
		if a.Key == "" {
			return dst
		}
		return append(dst, valueField(a.Key, k, v))
	}
	members := v.Group()
	if a.Key == "" {
		for _, m := range members {
			dst = h.appendAttr(dst, m, groups)
		}
		return dst
	}
	if h.replace != nil {
		groups = append(groups[:len(groups):len(groups)], a.Key)
	}
	// The members are converted at the end of dst, then moved into the
	// group (which copies them): no scratch buffer of their own.
	mark := len(dst)
	for _, m := range members {
		dst = h.appendAttr(dst, m, groups)
	}
	if len(dst) == mark {
		return dst
	}
	g := core.Group(a.Key, dst[mark:]...)
	return append(dst[:mark], g)
}

// valueField converts a resolved value of kind k, not a group. The basic
// kinds are read through their typed accessors, which do not allocate.
func valueField(key string, k slog.Kind, v slog.Value) core.Field {
	switch k {
	case slog.KindString:
		return core.String(key, v.String())
	case slog.KindInt64:
		return core.Int64(key, v.Int64())
	case slog.KindUint64:
		return core.Uint64(key, v.Uint64())
	case slog.KindFloat64:
		return core.Float64(key, v.Float64())
	case slog.KindBool:
		return core.Bool(key, v.Bool())
	case slog.KindDuration:
		return core.Duration(key, v.Duration())
	case slog.KindTime:
		return core.Time(key, v.Time())
	}
	return core.Any(key, v.Any())
}

// replaceBuiltins passes the record's built-in entries to ReplaceAttr and
// reads back what the engine can represent; see HandlerOptions.ReplaceAttr.
func (h *Handler) replaceBuiltins(r slog.Record, t time.Time, pc uintptr) (core.Level, string, time.Time, uintptr) {
	if !t.IsZero() {
		a := h.replace(nil, slog.Time(slog.TimeKey, t))
		if v := a.Value.Resolve(); a.Key == "" {
			t = time.Time{}
		} else if v.Kind() == slog.KindTime {
			t = v.Time()
		}
	}
	lvl := core.Level(r.Level)
	a := h.replace(nil, slog.Any(slog.LevelKey, r.Level))
	switch x := a.Value.Resolve().Any().(type) {
	case slog.Level:
		lvl = core.Level(x)
	case core.Level:
		lvl = x
	}
	if pc != 0 {
		s := r.Source()
		if a := h.replace(nil, slog.Any(slog.SourceKey, s)); a.Key == "" {
			pc = 0
		}
	}
	msg := r.Message
	a = h.replace(nil, slog.String(slog.MessageKey, msg))
	if a.Key == "" {
		msg = ""
	} else {
		msg = a.Value.Resolve().String()
	}
	return lvl, msg, t, pc
}
