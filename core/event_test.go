package core_test

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
)

func TestLevelNamesRoundTrip(t *testing.T) {
	for _, c := range []struct {
		l    core.Level
		name string
	}{
		{core.LevelTrace, "TRACE"}, {core.LevelDebug, "DEBUG"}, {core.LevelInfo, "INFO"},
		{core.LevelWarn, "WARN"}, {core.LevelError, "ERROR"}, {core.LevelFatal, "FATAL"},
		{core.LevelInfo + 2, "INFO+2"}, {core.LevelTrace - 4, "TRACE-4"}, {core.LevelFatal + 9, "FATAL+9"},
	} {
		require.Equal(t, c.name, c.l.String())
		got, err := core.ParseLevel(c.name)
		require.NoError(t, err)
		require.Equal(t, c.l, got, c.name)
	}
	for in, want := range map[string]core.Level{"warning": core.LevelWarn, " info ": core.LevelInfo, "-4": core.LevelDebug, "error+1": core.LevelError + 1} {
		got, err := core.ParseLevel(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "verbose", "INFO+x", "+3x"} {
		_, err := core.ParseLevel(bad)
		require.ErrorContains(t, err, "unknown level", bad)
	}
}

func TestLevelVar(t *testing.T) {
	var v core.LevelVar
	require.Equal(t, core.LevelInfo, v.Level(), "zero value is Info")
	v.Set(core.LevelError)
	require.Equal(t, core.LevelError, v.Level())
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
		kind core.Kind
		str  string
	}{
		{"s", core.KindString, "s"},
		{int8(-3), core.KindInt64, ""},
		{uint16(3), core.KindUint64, ""},
		{float32(1.5), core.KindFloat64, ""},
		{true, core.KindBool, ""},
		{now, core.KindTime, ""},
		{time.Second, core.KindDuration, ""},
		{[]byte("b"), core.KindBytes, "b"},
		{errors.New("e"), core.KindError, "e"},
		{&stringer{"str"}, core.KindString, "str"},
		{text{}, core.KindString, "as-text"},
		{map[string]int{"a": 1}, core.KindAny, `{"a":1}`},
		{nil, core.KindAny, "null"},
		{make(chan int), core.KindString, "!ERROR: json: unsupported type: chan int"}, // a placeholder, see render_test.go
		{panicky{}, core.KindError, "!PANIC: boom"},
	}
	for _, c := range cases {
		f := core.Any("k", c.v)
		require.Equal(t, c.kind, f.Kind(), "%T", c.v)
		require.Equal(t, "k", f.Key)
		if c.str != "" {
			require.Equal(t, c.str, f.Str(), "%T", c.v)
		}
	}
	require.Equal(t, now.UnixNano(), core.Any("t", now).Time().UnixNano())
	_, off := core.Any("t", now).Time().Zone()
	require.Equal(t, 3600, off, "the location is kept")
	require.Equal(t, 1.5, core.Any("f", float32(1.5)).Float64())
}

func TestNilAndExtremeValues(t *testing.T) {
	require.Equal(t, core.KindEmpty, core.Err(nil).Kind(), "a nil error is an empty field")
	var sp *stringer
	f := core.Any("p", sp)
	require.Equal(t, core.KindString, f.Kind())
	require.Contains(t, f.Str(), "!PANIC", "a nil Stringer's panic is caught")
	far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	require.Equal(t, core.KindString, core.Time("t", far).Kind(), "beyond UnixNano: rendered as text")
	require.Equal(t, "3000-01-01T00:00:00Z", core.Time("t", far).Str())
	require.True(t, math.IsNaN(core.Float64("n", math.NaN()).Float64()))
	require.Nil(t, core.Group("g").Group())
	require.Equal(t, core.KindGroup, core.Group("g").Kind())
}

func TestFieldsDoNotAliasTheCaller(t *testing.T) {
	b := []byte("before")
	f := core.Bytes("b", b)
	copy(b, "AFTER!")
	require.Equal(t, "before", f.Str())

	members := []core.Field{core.Int("a", 1)}
	g := core.Group("g", members...)
	members[0] = core.Int("a", 2)
	require.Equal(t, int64(1), g.Group()[0].Int64())
}

func TestEventFieldsSpillAndClone(t *testing.T) {
	var e core.Event
	for i := range core.InlineFields + 3 {
		e.AddField(core.Int(fmt.Sprint(i), i))
	}
	require.Len(t, e.Fields(), core.InlineFields+3)
	for i, f := range e.Fields() {
		require.Equal(t, int64(i), f.Int64(), "order kept across the spill")
	}
	c := e.Clone()
	e.AddField(core.Int("later", 99))
	require.Len(t, c.Fields(), core.InlineFields+3, "a clone does not see later additions")

	fs := []core.Field{core.String("a", "1"), core.String("b", "2")}
	e.SetFields(fs)
	fs[0] = core.String("a", "changed")
	require.Equal(t, "1", e.Fields()[0].Str(), "SetFields copies")
	e.Reset()
	require.Empty(t, e.Fields())
}

func TestScopeIsImmutable(t *testing.T) {
	base := (*core.Scope)(nil).With([]core.Field{core.String("svc", "api")})
	grouped := base.WithGroup("req")
	a := grouped.With([]core.Field{core.Int("id", 1)})
	b := grouped.With([]core.Field{core.Int("id", 2)})
	require.Equal(t, 1, grouped.Depth())
	require.Empty(t, grouped.Frames[1].Fields, "With does not change its receiver")
	require.Equal(t, int64(1), a.Frames[1].Fields[0].Int64())
	require.Equal(t, int64(2), b.Frames[1].Fields[0].Int64())
	require.Len(t, base.Frames, 1)
	require.Same(t, grouped, grouped.WithGroup(""), "WithGroup(\"\") returns the receiver")
	require.Same(t, grouped, grouped.With(nil))
	require.Zero(t, (*core.Scope)(nil).Depth())
}
