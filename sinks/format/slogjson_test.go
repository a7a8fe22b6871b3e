package format_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"testing/slogtest"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks/format"
)

var (
	_ core.Encoder = format.SlogJSON{}
	_ core.Encoder = (*format.SlogJSON)(nil)
)

// both is one attribute written twice by hand: for slog and for shardlog.
type both struct {
	a slog.Attr
	f core.Field
}

func grp(key string, members ...both) both {
	as := make([]any, len(members))
	fs := make([]core.Field, len(members))
	for i, m := range members {
		as[i], fs[i] = m.a, m.f
	}
	return both{slog.Group(key, as...), core.Group(key, fs...)}
}

// scopeOp is one WithGroup (group set) or With/WithAttrs call.
type scopeOp struct {
	group string
	attrs []both
}

func withAttrs(bs ...both) scopeOp  { return scopeOp{attrs: bs} }
func withGroup(name string) scopeOp { return scopeOp{group: name} }

// slogCase is one record, built for slog.NewJSONHandler and for SlogJSON.
type slogCase struct {
	name     string
	level    core.Level
	msg      string
	zeroTime bool
	time     time.Time // testTime unless set or zeroTime
	scope    []scopeOp
	attrs    []both
	// rawControls marks records holding DEL or C1 controls, which slog
	// writes raw and SlogJSON escapes (core.Encoder forbids raw controls).
	rawControls bool
}

func (c slogCase) recordTime() time.Time {
	switch {
	case c.zeroTime:
		return time.Time{}
	case !c.time.IsZero():
		return c.time
	}
	return testTime
}

// slogLine is what slog's own JSON handler writes for c.
func slogLine(t testing.TB, c slogCase, opts *slog.HandlerOptions, pc uintptr) string {
	var buf bytes.Buffer
	var h slog.Handler = slog.NewJSONHandler(&buf, opts)
	for _, op := range c.scope {
		if op.group != "" {
			h = h.WithGroup(op.group)
			continue
		}
		as := make([]slog.Attr, len(op.attrs))
		for i, b := range op.attrs {
			as[i] = b.a
		}
		h = h.WithAttrs(as)
	}
	r := slog.NewRecord(c.recordTime(), slog.Level(c.level), c.msg, pc)
	for _, b := range c.attrs {
		r.AddAttrs(b.a)
	}
	require.NoError(t, h.Handle(context.Background(), r))
	return buf.String()
}

// slogEvent is the event the engine would hand a sink for c.
func slogEvent(c slogCase, pc uintptr) *core.Event {
	e := &core.Event{Time: c.recordTime(), Level: c.level, Message: c.msg, PC: pc}
	for _, op := range c.scope {
		if op.group != "" {
			e.Scope = e.Scope.WithGroup(op.group)
			continue
		}
		fs := make([]core.Field, len(op.attrs))
		for i, b := range op.attrs {
			fs[i] = b.f
		}
		e.Scope = e.Scope.With(fs)
	}
	for _, b := range c.attrs {
		e.AddField(b.f)
	}
	return e
}

// escapeRawControls escapes DEL and the C1 controls in slog's output as
// SlogJSON does. slog's output is valid UTF-8 and holds them only inside
// strings, so this changes their form and nothing else.
func escapeRawControls(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == 0x7f || (0x80 <= r && r <= 0x9f) {
			fmt.Fprintf(&b, `\u%04x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

type htmlText struct {
	URL  string
	Note string `json:"note,omitempty"`
	At   time.Time
	N    []float64
}

// quoted marshals to its text between quotes: json.Marshal escapes the
// HTML characters in it, slog's encoder does not.
type quoted string

func (q quoted) MarshalJSON() ([]byte, error) { return []byte(`"` + q + `"`), nil }

var allBytes = func() string {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return string(b)
}()

func one(a slog.Attr, f core.Field) []both { return []both{{a, f}} }

// slogCases cover every field kind and its corner cases, levels, escapes,
// groups and scopes. Each is checked byte for byte against slog.
var slogCases = []slogCase{
	{name: "no attributes"},
	{name: "empty message", msg: ""},
	{name: "zero time", zeroTime: true, attrs: one(slog.Int("a", 1), core.Int("a", 1))},
	{name: "time utc", time: time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC)},
	{name: "time whole second", time: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
	{name: "time local", time: testTime.In(time.Local)},
	{name: "time offset with seconds", time: time.Date(1900, 1, 1, 0, 0, 0, 0, time.FixedZone("LMT", 3600+75))},
	{name: "time year 0", time: time.Date(0, 1, 1, 0, 0, 0, 1, time.UTC)},
	{name: "time year 9999", time: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
	{name: "time with monotonic reading", time: time.Now()},

	{name: "level trace", level: core.LevelTrace},
	{name: "level below trace", level: -100},
	{name: "level debug-1", level: core.LevelDebug - 1},
	{name: "level debug", level: core.LevelDebug},
	{name: "level debug+1", level: core.LevelDebug + 1},
	{name: "level info+2", level: core.LevelInfo + 2},
	{name: "level warn", level: core.LevelWarn},
	{name: "level warn+3", level: core.LevelWarn + 3},
	{name: "level error", level: core.LevelError},
	{name: "level fatal", level: core.LevelFatal},
	{name: "level huge", level: 1 << 40},
	{name: "level min", level: math.MinInt},
	{name: "level max", level: math.MaxInt},

	{name: "string", attrs: one(slog.String("k", "v"), core.String("k", "v"))},
	{name: "string empty", attrs: one(slog.String("k", ""), core.String("k", ""))},
	{name: "string via Any", attrs: one(slog.Any("k", "a b"), core.Any("k", "a b"))},
	{name: "int", attrs: one(slog.Int("k", -42), core.Int("k", -42))},
	{name: "int64 min", attrs: one(slog.Int64("k", math.MinInt64), core.Int64("k", math.MinInt64))},
	{name: "int64 max", attrs: one(slog.Int64("k", math.MaxInt64), core.Int64("k", math.MaxInt64))},
	{name: "int8 via Any", attrs: one(slog.Any("k", int8(-8)), core.Any("k", int8(-8)))},
	{name: "uint64 zero", attrs: one(slog.Uint64("k", 0), core.Uint64("k", 0))},
	{name: "uint64 max", attrs: one(slog.Uint64("k", math.MaxUint64), core.Uint64("k", math.MaxUint64))},
	{name: "uintptr via Any", attrs: one(slog.Any("k", uintptr(7)), core.Any("k", uintptr(7)))},
	{name: "float", attrs: one(slog.Float64("k", 1.5), core.Float64("k", 1.5))},
	{name: "float zero", attrs: one(slog.Float64("k", 0), core.Float64("k", 0))},
	{name: "float negative zero", attrs: one(slog.Float64("k", math.Copysign(0, -1)), core.Float64("k", math.Copysign(0, -1)))},
	{name: "float integral", attrs: one(slog.Float64("k", 123456789), core.Float64("k", 123456789))},
	{name: "float shortest", attrs: one(slog.Float64("k", 0.1), core.Float64("k", 0.1))},
	{name: "float 1e-6", attrs: one(slog.Float64("k", 1e-6), core.Float64("k", 1e-6))},
	{name: "float 1e-7", attrs: one(slog.Float64("k", -1e-7), core.Float64("k", -1e-7))},
	{name: "float 1e20", attrs: one(slog.Float64("k", 1e20), core.Float64("k", 1e20))},
	{name: "float 1e21", attrs: one(slog.Float64("k", 1e21), core.Float64("k", 1e21))},
	{name: "float max", attrs: one(slog.Float64("k", math.MaxFloat64), core.Float64("k", math.MaxFloat64))},
	{name: "float smallest", attrs: one(slog.Float64("k", math.SmallestNonzeroFloat64), core.Float64("k", math.SmallestNonzeroFloat64))},
	{name: "float -1.2345e-300", attrs: one(slog.Float64("k", -1.2345e-300), core.Float64("k", -1.2345e-300))},
	{name: "float32 via Any", attrs: one(slog.Any("k", float32(0.1)), core.Any("k", float32(0.1)))},
	{name: "float NaN", attrs: one(slog.Float64("k", math.NaN()), core.Float64("k", math.NaN()))},
	{name: "float +Inf", attrs: one(slog.Float64("k", math.Inf(1)), core.Float64("k", math.Inf(1)))},
	{name: "float -Inf", attrs: one(slog.Float64("k", math.Inf(-1)), core.Float64("k", math.Inf(-1)))},
	{name: "bool true", attrs: one(slog.Bool("k", true), core.Bool("k", true))},
	{name: "bool false", attrs: one(slog.Bool("k", false), core.Bool("k", false))},
	{name: "time field utc", attrs: one(slog.Time("k", time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC)), core.Time("k", time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC)))},
	{name: "time field zone", attrs: one(slog.Time("k", testTime), core.Time("k", testTime))},
	{name: "time field local", attrs: one(slog.Time("k", testTime.In(time.Local)), core.Time("k", testTime.In(time.Local)))},
	{name: "time field zero", attrs: one(slog.Time("k", time.Time{}), core.Time("k", time.Time{}))},
	{name: "time field beyond UnixNano", attrs: one(slog.Time("k", time.Date(2500, 1, 1, 0, 0, 0, 5, time.UTC)), core.Time("k", time.Date(2500, 1, 1, 0, 0, 0, 5, time.UTC)))},
	{name: "duration", attrs: one(slog.Duration("k", 1500*time.Millisecond), core.Duration("k", 1500*time.Millisecond))},
	{name: "duration zero", attrs: one(slog.Duration("k", 0), core.Duration("k", 0))},
	{name: "duration negative", attrs: one(slog.Duration("k", -time.Nanosecond), core.Duration("k", -time.Nanosecond))},
	{name: "duration min", attrs: one(slog.Duration("k", math.MinInt64), core.Duration("k", math.MinInt64))},
	{name: "duration max", attrs: one(slog.Duration("k", math.MaxInt64), core.Duration("k", math.MaxInt64))},
	{name: "error", attrs: one(slog.Any("err", errors.New("no such file")), core.NamedErr("err", errors.New("no such file")))},
	{name: "error escapes", attrs: one(slog.Any("err", errors.New("a \"b\" <c> & \n\xff")), core.NamedErr("err", errors.New("a \"b\" <c> & \n\xff")))},
	{name: "error wrapped", attrs: one(slog.Any("err", fmt.Errorf("open: %w", os.ErrNotExist)), core.NamedErr("err", fmt.Errorf("open: %w", os.ErrNotExist)))},
	{name: "bytes", attrs: one(slog.Any("k", []byte("hi")), core.Bytes("k", []byte("hi")))},
	{name: "bytes empty", attrs: one(slog.Any("k", []byte{}), core.Bytes("k", []byte{}))},
	{name: "bytes one", attrs: one(slog.Any("k", []byte{0xff}), core.Bytes("k", []byte{0xff}))},
	{name: "bytes three", attrs: one(slog.Any("k", []byte{0, 1, 2}), core.Bytes("k", []byte{0, 1, 2}))},
	{name: "bytes all", attrs: one(slog.Any("k", []byte(allBytes)), core.Bytes("k", []byte(allBytes)))},
	{name: "any nil", attrs: one(slog.Any("k", nil), core.Any("k", nil))},
	{name: "any map", attrs: one(slog.Any("k", map[string]any{"b": []int{1, 2}, "a": nil}), core.Any("k", map[string]any{"b": []int{1, 2}, "a": nil}))},
	{name: "any slice", attrs: one(slog.Any("k", []any{1.5, "s", true, nil, 1e21}), core.Any("k", []any{1.5, "s", true, nil, 1e21}))},
	{name: "any struct with HTML", attrs: one(
		slog.Any("k", htmlText{URL: "/a?x=1&y=<2>", At: testTime, N: []float64{0.1, 1e-7}}),
		core.Any("k", htmlText{URL: "/a?x=1&y=<2>", At: testTime, N: []float64{0.1, 1e-7}}))},
	{name: "any literal backslash u", attrs: one(slog.Any("k", []string{`\u003c`, `\\u0026`, "<\\"}), core.Any("k", []string{`\u003c`, `\\u0026`, "<\\"}))},
	{name: "any HTML keys", attrs: one(slog.Any("k", map[string]int{"<a&b>": 1}), core.Any("k", map[string]int{"<a&b>": 1}))},
	{name: "any separators and invalid UTF-8", attrs: one(slog.Any("k", []string{"\u2028\u2029", "\xff\xe2\x80", "\x00\x1f\t"}), core.Any("k", []string{"\u2028\u2029", "\xff\xe2\x80", "\x00\x1f\t"}))},
	{name: "any raw message", attrs: one(slog.Any("k", json.RawMessage(`{"a" : [1, 2], "h":"<&>"}`)), core.Any("k", json.RawMessage(`{"a" : [1, 2], "h":"<&>"}`)))},
	{name: "any marshaler", attrs: one(slog.Any("k", quoted("x&<y>")), core.Any("k", quoted("x&<y>")))},
	{name: "any text marshaler", attrs: one(slog.Any("k", netip.MustParseAddr("::1")), core.Any("k", netip.MustParseAddr("::1")))},
	{name: "any C1 in string", attrs: one(slog.Any("k", []string{"\u0085\x7f"}), core.Any("k", []string{"\u0085\x7f"})), rawControls: true},

	{name: "message escapes", msg: "\"quoted\" back\\slash / <html> &amp;"},
	{name: "message controls", msg: "line\nbreak\r\ttab \x00\x01\x08\x0c\x1b[31m\x1f"},
	{name: "message separators", msg: "\u2028\u2029"},
	{name: "message invalid UTF-8", msg: "\xff\xfe \xc0\xaf \xed\xa0\x80 \xe2\x80 \xf4\x90\x80\x80"},
	{name: "message unicode", msg: "naïve 日本語 🎉 \ufffd \u202eevil\u202c \U0010ffff"},
	{name: "message DEL", msg: "\x7f", rawControls: true},
	{name: "message C1", msg: "\u0085\u009b31m", rawControls: true},
	{name: "message every byte", msg: allBytes, rawControls: true},
	{name: "value every byte", attrs: one(slog.String("k", allBytes), core.String("k", allBytes)), rawControls: true},
	{name: "key escapes", attrs: one(slog.Int("k\"ey\n<&>\xff\u2028", 1), core.Int("k\"ey\n<&>\xff\u2028", 1))},
	{name: "empty key", attrs: one(slog.String("", "x"), core.String("", "x"))},
	{name: "duplicate keys", attrs: []both{
		{slog.Int("a", 1), core.Int("a", 1)},
		{slog.Int("a", 2), core.Int("a", 2)},
		{slog.String("msg", "x"), core.String("msg", "x")},
		{slog.String("level", "y"), core.String("level", "y")},
	}},
	{name: "more fields than inline", attrs: func() []both {
		var bs []both
		for i := range 2*core.InlineFields + 3 {
			k := fmt.Sprintf("f%d", i)
			bs = append(bs, both{slog.Int(k, i), core.Int(k, i)})
		}
		return bs
	}()},

	{name: "group", attrs: []both{grp("g", both{slog.Int("a", 1), core.Int("a", 1)})}},
	{name: "nested groups", attrs: []both{
		{slog.Int("x", 0), core.Int("x", 0)},
		grp("g",
			both{slog.Int("a", 1), core.Int("a", 1)},
			grp("h", both{slog.Duration("d", time.Second), core.Duration("d", time.Second)}),
			both{slog.Int("c", 3), core.Int("c", 3)}),
		{slog.Int("y", 4), core.Int("y", 4)},
	}},
	{name: "empty group", attrs: []both{{slog.Int("a", 1), core.Int("a", 1)}, grp("g"), {slog.Int("b", 2), core.Int("b", 2)}}},
	{name: "group of empty groups", attrs: []both{grp("g", grp("h", grp("i"))), {slog.Int("a", 1), core.Int("a", 1)}}},
	{name: "only an empty group", attrs: []both{grp("g")}},
	{name: "unnamed group inlined", attrs: []both{
		{slog.Int("a", 1), core.Int("a", 1)},
		grp("", both{slog.Int("b", 2), core.Int("b", 2)}, both{slog.Int("c", 3), core.Int("c", 3)}),
		{slog.Int("d", 4), core.Int("d", 4)},
	}},
	{name: "unnamed group inside group", attrs: []both{grp("g", grp("", both{slog.Int("b", 2), core.Int("b", 2)}), grp(""))}},
	{name: "group name escapes", attrs: []both{grp("g\"<\u2028\xff", both{slog.Bool("t", true), core.Bool("t", true)})}},

	{name: "scope fields", scope: []scopeOp{withAttrs(both{slog.Int("a", 1), core.Int("a", 1)})},
		attrs: one(slog.Int("b", 2), core.Int("b", 2))},
	{name: "scope fields without record attrs", scope: []scopeOp{withAttrs(both{slog.Int("a", 1), core.Int("a", 1)})}},
	{name: "scope groups nest fields", scope: []scopeOp{
		withAttrs(both{slog.Int("a", 1), core.Int("a", 1)}),
		withGroup("G"),
		withAttrs(both{slog.Int("b", 2), core.Int("b", 2)}),
		withGroup("H"),
	}, attrs: one(slog.Int("c", 3), core.Int("c", 3))},
	{name: "scope inner group without record attrs", scope: []scopeOp{
		withGroup("G"), withAttrs(both{slog.Int("b", 2), core.Int("b", 2)}), withGroup("H"),
	}},
	{name: "scope inner group with only an empty group", scope: []scopeOp{
		withGroup("G"), withAttrs(both{slog.Int("b", 2), core.Int("b", 2)}), withGroup("H"),
	}, attrs: []both{grp("e")}},
	{name: "scope group without fields", scope: []scopeOp{withGroup("G")}},
	{name: "scope groups open for record attrs", scope: []scopeOp{withGroup("G"), withGroup("H")},
		attrs: one(slog.Int("c", 3), core.Int("c", 3))},
	{name: "scope with group attrs", scope: []scopeOp{
		withGroup("G"),
		withAttrs(grp("g", both{slog.Float64("f", math.NaN()), core.Float64("f", math.NaN())}), grp("e")),
	}, attrs: []both{grp("h", both{slog.Any("b", []byte("x")), core.Bytes("b", []byte("x"))})}},
	{name: "scope with only empty groups", scope: []scopeOp{withGroup("G"), withAttrs(grp("e")), withGroup("H")}},
	{name: "scope names escaped", scope: []scopeOp{
		withGroup("<G>\n"), withAttrs(both{slog.String("\u2028", "\xff"), core.String("\u2028", "\xff")}),
	}, attrs: one(slog.String("&", "<>"), core.String("&", "<>"))},
	{name: "scope with every kind", level: core.LevelFatal, scope: []scopeOp{
		withAttrs(both{slog.String("service", "api"), core.String("service", "api")}),
		withGroup("req"),
		withAttrs(
			both{slog.Time("at", testTime), core.Time("at", testTime)},
			both{slog.Duration("d", 3), core.Duration("d", 3)},
		),
	}, attrs: []both{
		{slog.String("s", "v"), core.String("s", "v")},
		{slog.Int64("i", -1), core.Int64("i", -1)},
		{slog.Uint64("u", 1), core.Uint64("u", 1)},
		{slog.Float64("f", 2.5), core.Float64("f", 2.5)},
		{slog.Bool("b", true), core.Bool("b", true)},
		{slog.Time("t", testTime), core.Time("t", testTime)},
		{slog.Duration("d", time.Minute), core.Duration("d", time.Minute)},
		{slog.Any("e", errors.New("x")), core.NamedErr("e", errors.New("x"))},
		{slog.Any("y", []byte("xyz")), core.Bytes("y", []byte("xyz"))},
		{slog.Any("a", []int{1}), core.Any("a", []int{1})},
		grp("g", both{slog.Int("n", 1), core.Int("n", 1)}),
	}},
}

// pcHere returns the PC of its caller's call, as slog.Logger records it.
func pcHere() uintptr {
	var pcs [1]uintptr
	runtime.Callers(2, pcs[:])
	return pcs[0]
}

func genericPC[T any]() uintptr { return pcHere() }

type pcMethods struct{}

func (*pcMethods) pc() uintptr { return pcHere() }

// TestSlogJSONMatchesSlog builds each record for slog.NewJSONHandler and
// by hand as a core.Event, with and without AddSource and a call site,
// and compares the lines byte for byte.
func TestSlogJSONMatchesSlog(t *testing.T) {
	pc := pcHere()
	variants := []struct {
		name      string
		addSource bool
		pc        uintptr
	}{
		{"nil options", false, 0},
		{"nil options with PC", false, pc},
		{"AddSource", true, pc},
		{"AddSource without PC", true, 0},
	}
	for _, c := range slogCases {
		for _, v := range variants {
			t.Run(c.name+"/"+v.name, func(t *testing.T) {
				var opts *slog.HandlerOptions
				if v.addSource {
					opts = &slog.HandlerOptions{AddSource: true}
				}
				want := slogLine(t, c, opts, v.pc)
				got := encode(format.SlogJSON{AddSource: v.addSource}, slogEvent(c, v.pc))
				if c.rawControls {
					require.NotEqual(t, want, got, "rawControls set but slog wrote none raw")
					want = escapeRawControls(want)
				}
				require.Equal(t, want, got)
				requireOneSafeJSONLine(t, got)
			})
		}
	}
}

func TestSlogJSONWritesSlogSource(t *testing.T) {
	for name, pc := range map[string]uintptr{
		"function": pcHere(),
		"closure":  func() uintptr { return pcHere() }(),
		"generic":  genericPC[map[string]int](),
		"method":   (&pcMethods{}).pc(),
	} {
		t.Run(name, func(t *testing.T) {
			c := slogCase{name: name, msg: "m", attrs: one(slog.Int("a", 1), core.Int("a", 1))}
			want := slogLine(t, c, &slog.HandlerOptions{AddSource: true}, pc)
			got := encode(format.SlogJSON{AddSource: true}, slogEvent(c, pc))
			require.Equal(t, want, got)
			require.Contains(t, got, `"source":{"function":`)
		})
	}
}

// TestSlogJSONWritesLoggerAsSlogWithDoes pins the choice for the logger
// name: "logger" after "msg", which is what slog writes for a logger
// made with With("logger", name) before any other With or WithGroup.
func TestSlogJSONWritesLoggerAsSlogWithDoes(t *testing.T) {
	name := "db.pool \"<x>\""
	for _, c := range []slogCase{
		{name: "plain", attrs: one(slog.Int("n", 1), core.Int("n", 1))},
		{name: "no attributes"},
		{name: "zero time", zeroTime: true},
		{name: "scope", scope: []scopeOp{
			withAttrs(both{slog.Int("a", 1), core.Int("a", 1)}), withGroup("G"),
		}, attrs: one(slog.Int("c", 3), core.Int("c", 3))},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := slogEvent(c, 0)
			e.Logger = name
			got := encode(format.SlogJSON{}, e)

			withLogger := c
			withLogger.scope = append([]scopeOp{withAttrs(both{a: slog.String("logger", name)})}, c.scope...)
			require.Equal(t, slogLine(t, withLogger, nil, 0), got)
		})
	}
	// The root logger has no name and no entry.
	require.Equal(t, `{"level":"INFO","msg":"m"}`+"\n", encode(format.SlogJSON{}, newEvent("m")))
}

// TestSlogJSONValues pins the values that differ from JSON's, in the
// form slog writes them.
func TestSlogJSONValues(t *testing.T) {
	e := newEvent("m",
		core.Float64("nan", math.NaN()),
		core.Float64("inf", math.Inf(1)),
		core.Float64("ninf", math.Inf(-1)),
		core.Duration("d", 1500*time.Millisecond),
		core.Bytes("b", []byte("hi\xff")),
		core.Any("h", map[string]string{"u": "a?b=1&c=<2>"}),
	)
	e.Level = core.LevelTrace
	require.Equal(t, `{"level":"DEBUG-4","msg":"m",`+
		`"nan":"!ERROR:json: unsupported value: NaN",`+
		`"inf":"!ERROR:json: unsupported value: +Inf",`+
		`"ninf":"!ERROR:json: unsupported value: -Inf",`+
		`"d":1500000000,"b":"aGn/","h":{"u":"a?b=1&c=<2>"}}`+"\n",
		encode(format.SlogJSON{}, e))
	e.Level = core.LevelFatal
	e.SetFields(nil)
	e.Time = testTime
	require.Equal(t, `{"time":"2024-05-06T07:08:09.12345678+02:00","level":"ERROR+4","msg":"m"}`+"\n",
		encode(format.SlogJSON{}, e))
}

// TestSlogJSONDiffersFromSlogOnlyToStayValid pins where SlogJSON departs
// from slog's bytes, each time because slog's would break core.Encoder's
// contract.
func TestSlogJSONDiffersFromSlogOnlyToStayValid(t *testing.T) {
	// DEL and C1 controls: slog writes them raw; SlogJSON escapes them,
	// in strings and in Any values alike, so the decoded values agree.
	c := slogCase{msg: "\x7f\u0085", attrs: one(slog.Any("k", []string{"\u009b"}), core.Any("k", []string{"\u009b"}))}
	slogOut := slogLine(t, c, nil, 0)
	got := encode(format.SlogJSON{}, slogEvent(c, 0))
	require.Equal(t, `{"time":"2024-05-06T07:08:09.12345678+02:00","level":"INFO","msg":"\u007f\u0085","k":["\u009b"]}`+"\n", got)
	var a, b any
	require.NoError(t, json.Unmarshal([]byte(slogOut), &a))
	require.NoError(t, json.Unmarshal([]byte(got), &b))
	require.Equal(t, a, b)

	// A MarshalJSON method that escapes HTML itself: slog keeps its
	// escapes, SlogJSON cannot tell them from json.Marshal's and undoes
	// them. The values agree.
	c = slogCase{attrs: one(slog.Any("k", quoted(`\u0026`)), core.Any("k", quoted(`\u0026`)))}
	require.Contains(t, slogLine(t, c, nil, 0), `"k":"\u0026"}`)
	require.Contains(t, encode(format.SlogJSON{}, slogEvent(c, 0)), `"k":"&"}`)

	// A record time outside years 0-9999: slog writes an error string
	// followed by the time string, which is not JSON.
	for _, tm := range []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)} {
		c := slogCase{msg: "m", time: tm}
		require.False(t, json.Valid([]byte(slogLine(t, c, nil, 0))))
		got := encode(format.SlogJSON{}, slogEvent(c, 0))
		requireOneSafeJSONLine(t, got)
		require.Equal(t, `{"time":"`+tm.Format(time.RFC3339Nano)+`","level":"INFO","msg":"m"}`+"\n", got)
	}
}

func TestSlogJSONIsValidForHostileInput(t *testing.T) {
	for _, s := range hostileStrings() {
		e := newEvent(s,
			core.String("v", s),
			core.Bytes("b", []byte(s)),
			core.NamedErr("err", errors.New(s)),
			core.String("k"+s, "key"),
			core.Group("g"+s, core.String("v", s)),
			core.Any("a", []string{s}),
		)
		e.Logger = s
		e.Scope = (*core.Scope)(nil).With([]core.Field{core.String("sv", s)}).WithGroup("s" + s)
		got := encode(format.SlogJSON{}, e)
		requireOneSafeJSONLine(t, got)

		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(got), &m), describe(s))
		want := validRunes(s)
		require.Equal(t, want, m["msg"])
		require.Equal(t, want, m["sv"])
		inner, ok := m["s"+want].(map[string]any)
		require.True(t, ok, describe(s))
		require.Equal(t, want, inner["v"])
		require.Equal(t, []any{want}, inner["a"])
		var raw []byte
		require.NoError(t, json.Unmarshal([]byte(`"`+inner["b"].(string)+`"`), &raw))
		require.Equal(t, s, string(raw))
	}
}

func TestSlogJSONPassesSlogtest(t *testing.T) {
	var out bytes.Buffer
	slogtest.Run(t,
		func(*testing.T) slog.Handler {
			out.Reset()
			return &slogHandler{enc: format.SlogJSON{}, out: &out}
		},
		func(t *testing.T) map[string]any {
			var m map[string]any
			require.NoError(t, json.Unmarshal(out.Bytes(), &m), out.String())
			return m
		})
}

// FuzzSlogJSON checks that the line is always valid, safe JSON and, the
// stronger claim, that it is slog's own line with DEL and C1 escaped.
func FuzzSlogJSON(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, msg, key, val string, b []byte) {
		b = append([]byte{}, b...) // slog writes a nil []byte as null
		c := slogCase{
			msg: msg,
			scope: []scopeOp{
				withAttrs(both{slog.String("w", val), core.String("w", val)}),
				withGroup("f"),
			},
			attrs: []both{
				{slog.String("s", val), core.String("s", val)},
				{slog.Any("b", b), core.Bytes("b", b)},
				{slog.Any("a", []string{val}), core.Any("a", []string{val})},
				grp("k", both{slog.String(key, val), core.String(key, val)}),
				grp("x", grp(key, both{slog.Int("n", 1), core.Int("n", 1)})),
			},
		}
		got := encode(format.SlogJSON{}, slogEvent(c, 0))
		requireOneSafeJSONLine(t, got)
		require.Equal(t, escapeRawControls(slogLine(t, c, nil, 0)), got)
	})
}

// TestSlogJSONAppendDoesNotAllocate covers what fullEvent (in
// TestAppendDoesNotAllocate) does not: levels between the named ones,
// non-finite floats, Any values whose escapes are undone or added, and a
// PC without AddSource.
func TestSlogJSONAppendDoesNotAllocate(t *testing.T) {
	e := fullEvent()
	e.Level = core.LevelTrace - 3
	e.PC = pcHere()
	e.SetFields([]core.Field{
		core.Float64("nan", math.NaN()),
		core.Float64("f", 1e-9),
		core.Duration("d", -time.Hour),
		core.Bytes("b", []byte("binary \x00\xff payload")),
		core.Any("html", map[string]string{"u": "a?b=1&c=<2>"}),
		core.Any("c1", []string{"\u0085"}),
		core.Time("t", testTime),
		core.Group("g", core.Uint64("u", 1), core.Group("empty")),
	})
	dst := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		dst = format.SlogJSON{}.Append(dst[:0], e)
	})
	require.Zero(t, allocs, "%s", dst)
	require.True(t, utf8.Valid(dst))
}

func ExampleSlogJSON() {
	os.Stdout.Write(format.SlogJSON{}.Append(nil, exampleEvent()))
	// Output:
	// {"time":"2024-05-06T07:08:09.0000005Z","level":"INFO","msg":"request done","logger":"http","pid":42,"req":{"path":"/users","took":1500000}}
}
