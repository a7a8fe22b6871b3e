package event_test

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/engine/event"
)

func TestLevelNamesRoundTrip(t *testing.T) {
	for _, c := range []struct {
		l    event.Level
		name string
	}{
		{event.LevelTrace, "TRACE"}, {event.LevelDebug, "DEBUG"}, {event.LevelInfo, "INFO"},
		{event.LevelWarn, "WARN"}, {event.LevelError, "ERROR"}, {event.LevelFatal, "FATAL"},
		{event.LevelInfo + 2, "INFO+2"}, {event.LevelTrace - 4, "TRACE-4"}, {event.LevelFatal + 9, "FATAL+9"},
	} {
		require.Equal(t, c.name, c.l.String())
		got, err := event.ParseLevel(c.name)
		require.NoError(t, err)
		require.Equal(t, c.l, got, c.name)
	}
	for in, want := range map[string]event.Level{"warning": event.LevelWarn, " info ": event.LevelInfo, "-4": event.LevelDebug, "error+1": event.LevelError + 1} {
		got, err := event.ParseLevel(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "verbose", "INFO+x", "+3x"} {
		_, err := event.ParseLevel(bad)
		require.ErrorContains(t, err, "unknown level", bad)
	}
}

func TestLevelVar(t *testing.T) {
	var v event.LevelVar
	require.Equal(t, event.LevelInfo, v.Level(), "zero value is Info")
	v.Set(event.LevelError)
	require.Equal(t, event.LevelError, v.Level())
	require.Equal(t, "LevelVar(ERROR)", v.String())
}

type stringer struct{ s string }

func (s *stringer) String() string { return s.s }

type panicky struct{}

func (panicky) Error() string { panic("boom") }

type text struct{}

func (text) MarshalText() ([]byte, error) { return []byte("as-text"), nil }

func TestAnyPicksTheTypedRepresentation(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 5, time.FixedZone("X", 3600))
	cases := []struct {
		v    any
		kind event.Kind
		str  string
	}{
		{"s", event.KindString, "s"},
		{int8(-3), event.KindInt64, ""},
		{uint16(3), event.KindUint64, ""},
		{float32(1.5), event.KindFloat64, ""},
		{true, event.KindBool, ""},
		{now, event.KindTime, ""},
		{time.Second, event.KindDuration, ""},
		{[]byte("b"), event.KindBytes, "b"},
		{errors.New("e"), event.KindError, "e"},
		{&stringer{"str"}, event.KindString, "str"},
		{text{}, event.KindString, "as-text"},
		{map[string]int{"a": 1}, event.KindAny, `{"a":1}`},
		{nil, event.KindAny, "null"},
		{make(chan int), event.KindString, "!ERROR: json: unsupported type: chan int"}, // a placeholder, see render_test.go
		{panicky{}, event.KindError, "!PANIC: boom"},
	}
	for _, c := range cases {
		f := event.Any("k", c.v)
		require.Equal(t, c.kind, f.Kind(), "%T", c.v)
		require.Equal(t, "k", f.Key)
		if c.str != "" {
			require.Equal(t, c.str, f.Str(), "%T", c.v)
		}
	}
	require.Equal(t, now.UnixNano(), event.Any("t", now).Time().UnixNano())
	_, off := event.Any("t", now).Time().Zone()
	require.Equal(t, 3600, off, "the location is kept")
	require.Equal(t, 1.5, event.Any("f", float32(1.5)).Float64())
}

func TestNilAndExtremeValues(t *testing.T) {
	require.Equal(t, event.KindEmpty, event.Err(nil).Kind(), "a nil error is an empty field")
	var sp *stringer
	f := event.Any("p", sp)
	require.Equal(t, event.KindString, f.Kind())
	require.Contains(t, f.Str(), "!PANIC", "a nil Stringer's panic is caught")
	far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	require.Equal(t, event.KindString, event.Time("t", far).Kind(), "beyond UnixNano: rendered as text")
	require.Equal(t, "3000-01-01T00:00:00Z", event.Time("t", far).Str())
	require.True(t, math.IsNaN(event.Float64("n", math.NaN()).Float64()))
	require.Nil(t, event.Group("g").Group())
	require.Equal(t, event.KindGroup, event.Group("g").Kind())
}

func TestFieldsDoNotAliasTheCaller(t *testing.T) {
	b := []byte("before")
	f := event.Bytes("b", b)
	copy(b, "AFTER!")
	require.Equal(t, "before", f.Str())

	members := []event.Field{event.Int("a", 1)}
	g := event.Group("g", members...)
	members[0] = event.Int("a", 2)
	require.Equal(t, int64(1), g.Group()[0].Int64())
}

func TestEventFieldsSpillAndClone(t *testing.T) {
	var e event.Event
	for i := range event.InlineFields + 3 {
		e.AddField(event.Int(fmt.Sprint(i), i))
	}
	require.Len(t, e.Fields(), event.InlineFields+3)
	for i, f := range e.Fields() {
		require.Equal(t, int64(i), f.Int64(), "order kept across the spill")
	}
	c := e.Clone()
	e.AddField(event.Int("later", 99))
	require.Len(t, c.Fields(), event.InlineFields+3, "a clone does not see later additions")

	fs := []event.Field{event.String("a", "1"), event.String("b", "2")}
	e.SetFields(fs)
	fs[0] = event.String("a", "changed")
	require.Equal(t, "1", e.Fields()[0].Str(), "SetFields copies")
	e.Reset()
	require.Empty(t, e.Fields())
}

func TestScopeIsImmutable(t *testing.T) {
	base := (*event.Scope)(nil).With([]event.Field{event.String("svc", "api")})
	grouped := base.WithGroup("req")
	a := grouped.With([]event.Field{event.Int("id", 1)})
	b := grouped.With([]event.Field{event.Int("id", 2)})
	require.Equal(t, 1, grouped.Depth())
	require.Empty(t, grouped.Frames[1].Fields, "With does not change its receiver")
	require.Equal(t, int64(1), a.Frames[1].Fields[0].Int64())
	require.Equal(t, int64(2), b.Frames[1].Fields[0].Int64())
	require.Len(t, base.Frames, 1)
	require.Same(t, grouped, grouped.WithGroup(""), "WithGroup(\"\") returns the receiver")
	require.Same(t, grouped, grouped.With(nil))
	require.Zero(t, (*event.Scope)(nil).Depth())
}
