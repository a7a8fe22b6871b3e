package shardlogtest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/core"
)

// LoggedEvent is a copy of one event, as the observer received it.
type LoggedEvent struct {
	Level   shardlog.Level
	Message string
	Logger  string // the dotted logger name, empty for the root logger
	Time    time.Time
	// Fields are the logger's With fields followed by the call's own
	// fields (and any added by enrichers), in order. A WithGroup of the
	// logger appears as a Group field holding what follows it, as the
	// encoders nest it. Read a value with FieldValue, or use FieldMap.
	Fields []shardlog.Field
	// Event is the full event (call site, Scope, Mono), a clone the
	// engine no longer touches.
	Event core.Event
}

// FieldMap returns Fields as a map from key to FieldValue, groups as
// nested maps. A later field replaces an earlier one of the same key;
// empty fields (Err(nil)) and groups that come to nothing are left out,
// and unnamed groups inlined, as the encoders do.
func (e LoggedEvent) FieldMap() map[string]any { return fieldMap(e.Fields) }

func fieldMap(fields []shardlog.Field) map[string]any {
	m := make(map[string]any, len(fields))
	for _, f := range fields {
		switch {
		case f.Kind() == core.KindEmpty:
		case f.Kind() == core.KindGroup:
			// A group whose members all come to nothing (empty fields,
			// empty groups) is left out, as the encoders leave it out;
			// an unnamed group's members are inlined, as they inline them.
			sub := fieldMap(f.Group())
			switch {
			case len(sub) == 0:
			case f.Key == "":
				for k, v := range sub {
					m[k] = v
				}
			default:
				m[f.Key] = sub
			}
		default:
			m[f.Key] = FieldValue(f)
		}
	}
	return m
}

// FieldValue returns f's value as a Go value of its kind: string for
// String, Error (its message) and Any (its JSON text); int64, uint64,
// float64, bool, time.Time and time.Duration for those kinds; []byte for
// Bytes; map[string]any for a Group (see LoggedEvent.FieldMap); nil for an
// empty field.
func FieldValue(f shardlog.Field) any {
	switch f.Kind() {
	case core.KindString, core.KindError, core.KindAny:
		return f.Str()
	case core.KindInt64:
		return f.Int64()
	case core.KindUint64:
		return f.Uint64()
	case core.KindFloat64:
		return f.Float64()
	case core.KindBool:
		return f.Bool()
	case core.KindTime:
		return f.Time()
	case core.KindDuration:
		return f.Duration()
	case core.KindBytes:
		return []byte(f.Str())
	case core.KindGroup:
		return fieldMap(f.Group())
	}
	return nil
}

// newLoggedEvent copies ev, which is valid only during the sink's Write.
func newLoggedEvent(ev *core.Event) LoggedEvent {
	c := ev.Clone()
	return LoggedEvent{
		Level:   c.Level,
		Message: c.Message,
		Logger:  c.Logger,
		Time:    c.Time,
		Fields:  flatten(&c),
		Event:   c,
	}
}

// flatten lists ev's scope and own fields in one slice, each WithGroup
// frame as a Group field around what follows it.
func flatten(ev *core.Event) []shardlog.Field {
	own := ev.Fields()
	if ev.Scope == nil || len(ev.Scope.Frames) == 0 {
		return slices.Clone(own)
	}
	frames := ev.Scope.Frames
	inner := append(slices.Clone(frames[len(frames)-1].Fields), own...)
	for i := len(frames) - 1; i > 0; i-- {
		g := core.Group(frames[i].Group, inner...)
		inner = append(slices.Clone(frames[i-1].Fields), g)
	}
	return inner
}

// Observed holds the events the test logger delivered, in the order the
// engine delivered them (time order). Its methods are safe for concurrent
// use, also while the test logs.
//
// Every read (All, Len, TakeAll, the filters) first waits, up to
// Config.Timeout, until every event logged before the call has been
// delivered; a wait that fails fails the test (t.Errorf) and the read
// returns what has arrived. After the cleanup everything has been
// delivered and reads do not wait.
type Observed struct {
	e       *shardlog.Engine
	out     *testOutput
	timeout time.Duration
	sink    observerSink
}

// Sync waits until every event logged before the call has been delivered
// (written, or counted as dropped or failed) to every sink, as each read
// does first. It fails the test if they are not within Config.Timeout.
// Logger.Sync also flushes the sinks, and returns its error instead.
func (o *Observed) Sync() {
	o.out.t.Helper()
	// A log call counts its event as accepted before it returns, so when
	// the accounting shows nothing pending, everything logged before this
	// call has been delivered: no need to wait on the pipeline.
	if settled(o.e.Stats()) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	if err := o.e.Flush(ctx); err != nil && !errors.Is(err, shardlog.ErrClosed) {
		o.out.errorf("shardlogtest: waiting for the events logged so far: %v", err)
	}
}

func settled(rep shardlog.Report) bool {
	for _, s := range rep.Sinks {
		if s.Pending > 0 {
			return false
		}
	}
	return true
}

// All returns a copy of the events delivered so far.
func (o *Observed) All() []LoggedEvent {
	o.out.t.Helper()
	o.Sync()
	return o.sink.all(false)
}

// TakeAll returns the events delivered so far and forgets them, so that
// the next read sees only later ones.
func (o *Observed) TakeAll() []LoggedEvent {
	o.out.t.Helper()
	o.Sync()
	return o.sink.all(true)
}

// Len returns the number of events delivered so far.
func (o *Observed) Len() int {
	o.out.t.Helper()
	o.Sync()
	return o.sink.len()
}

// Messages returns the message of each event delivered so far, in order.
func (o *Observed) Messages() []string {
	o.out.t.Helper()
	return Events(o.All()).Messages()
}

// Filter returns the events delivered so far for which keep is true.
func (o *Observed) Filter(keep func(LoggedEvent) bool) Events {
	o.out.t.Helper()
	return Events(o.All()).Filter(keep)
}

// FilterMessage returns the events delivered so far with message msg.
func (o *Observed) FilterMessage(msg string) Events {
	o.out.t.Helper()
	return Events(o.All()).FilterMessage(msg)
}

// FilterMessageSnippet returns the events delivered so far whose message
// contains snippet.
func (o *Observed) FilterMessageSnippet(snippet string) Events {
	o.out.t.Helper()
	return Events(o.All()).FilterMessageSnippet(snippet)
}

// FilterLevelExact returns the events delivered so far at level l.
func (o *Observed) FilterLevelExact(l shardlog.Level) Events {
	o.out.t.Helper()
	return Events(o.All()).FilterLevelExact(l)
}

// FilterLoggerName returns the events delivered so far from the logger
// called name (the full dotted name; "" for the root logger).
func (o *Observed) FilterLoggerName(name string) Events {
	o.out.t.Helper()
	return Events(o.All()).FilterLoggerName(name)
}

// FilterField returns the events delivered so far with a top-level field
// equal to f; see Events.FilterField.
func (o *Observed) FilterField(f shardlog.Field) Events {
	o.out.t.Helper()
	return Events(o.All()).FilterField(f)
}

// FilterFieldKey returns the events delivered so far with a top-level
// field called key.
func (o *Observed) FilterFieldKey(key string) Events {
	o.out.t.Helper()
	return Events(o.All()).FilterFieldKey(key)
}

// Events is a list of logged events, as the filters return it; its own
// filters narrow it further (obs.FilterLevelExact(l).FilterMessage(m)).
type Events []LoggedEvent

// Len returns the number of events.
func (es Events) Len() int { return len(es) }

// Messages returns the message of each event, in order.
func (es Events) Messages() []string {
	ms := make([]string, len(es))
	for i, e := range es {
		ms[i] = e.Message
	}
	return ms
}

// Filter returns the events for which keep is true, in a new slice.
func (es Events) Filter(keep func(LoggedEvent) bool) Events {
	var out Events
	for _, e := range es {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// FilterMessage returns the events with message msg.
func (es Events) FilterMessage(msg string) Events {
	return es.Filter(func(e LoggedEvent) bool { return e.Message == msg })
}

// FilterMessageSnippet returns the events whose message contains snippet.
func (es Events) FilterMessageSnippet(snippet string) Events {
	return es.Filter(func(e LoggedEvent) bool { return strings.Contains(e.Message, snippet) })
}

// FilterLevelExact returns the events at level l.
func (es Events) FilterLevelExact(l shardlog.Level) Events {
	return es.Filter(func(e LoggedEvent) bool { return e.Level == l })
}

// FilterLoggerName returns the events from the logger called name.
func (es Events) FilterLoggerName(name string) Events {
	return es.Filter(func(e LoggedEvent) bool { return e.Logger == name })
}

// FilterField returns the events with a top-level field (in Fields, not
// inside a group) of f's key, kind and value (compared by FieldValue, so
// a Group matches by content).
func (es Events) FilterField(f shardlog.Field) Events {
	want := FieldValue(f)
	return es.Filter(func(e LoggedEvent) bool {
		return slices.ContainsFunc(e.Fields, func(g shardlog.Field) bool {
			return g.Key == f.Key && g.Kind() == f.Kind() && reflect.DeepEqual(FieldValue(g), want)
		})
	})
}

// FilterFieldKey returns the events with a top-level field called key.
func (es Events) FilterFieldKey(key string) Events {
	return es.Filter(func(e LoggedEvent) bool {
		return slices.ContainsFunc(e.Fields, func(g shardlog.Field) bool { return g.Key == key })
	})
}

// observerSink is the sink behind Observed: it keeps a copy of each event.
type observerSink struct {
	mu     sync.Mutex
	events []LoggedEvent
	closed bool
}

var _ core.Sink = (*observerSink)(nil)

var errSinkClosed = errors.New("shardlogtest: observer: closed")

func (s *observerSink) Write(_ context.Context, batch []core.Entry) (int, error) {
	// Copy outside the lock: readers wait on it, not on the copying.
	evs := make([]LoggedEvent, len(batch))
	for i, en := range batch {
		evs[i] = newLoggedEvent(en.Event)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errSinkClosed
	}
	s.events = append(s.events, evs...)
	return len(batch), nil
}

func (s *observerSink) Flush(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errSinkClosed
	}
	return nil
}

// Close keeps the events: the test reads them after the cleanup too.
func (s *observerSink) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errSinkClosed
	}
	s.closed = true
	return nil
}

func (s *observerSink) all(take bool) []LoggedEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	evs := slices.Clone(s.events)
	if take {
		s.events = nil
	}
	return evs
}

func (s *observerSink) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}
