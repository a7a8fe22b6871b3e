package format_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks/format"
)

// kindCases lists one field of each kind, and the corner cases of each,
// with the value each encoder writes for it.
var kindCases = []struct {
	name       string
	field      core.Field
	json, text string
}{
	{"string", core.String("k", "v"), `"v"`, `v`},
	{"string empty", core.String("k", ""), `""`, `""`},
	{"string space", core.String("k", "a b"), `"a b"`, `"a b"`},
	{"string equals", core.String("k", "a=b"), `"a=b"`, `"a=b"`},
	{"string backslash", core.String("k", `C:\dir`), `"C:\\dir"`, `C:\dir`},
	{"string unicode", core.String("k", "naïve"), `"naïve"`, `naïve`},
	{"int64", core.Int64("k", -42), `-42`, `-42`},
	{"int64 min", core.Int64("k", math.MinInt64), `-9223372036854775808`, `-9223372036854775808`},
	{"uint64 max", core.Uint64("k", math.MaxUint64), `18446744073709551615`, `18446744073709551615`},
	{"float", core.Float64("k", 1.5), `1.5`, `1.5`},
	{"float integral", core.Float64("k", 123456789), `123456789`, `123456789`},
	{"float zero", core.Float64("k", 0), `0`, `0`},
	{"float negative zero", core.Float64("k", math.Copysign(0, -1)), `-0`, `-0`},
	{"float small", core.Float64("k", 1e-7), `1e-7`, `1e-7`},
	{"float large", core.Float64("k", 1e21), `1e+21`, `1e+21`},
	{"float below large", core.Float64("k", 1e20), `100000000000000000000`, `100000000000000000000`},
	{"float shortest", core.Float64("k", 0.1), `0.1`, `0.1`},
	{"float NaN", core.Float64("k", math.NaN()), `"NaN"`, `NaN`},
	{"float +Inf", core.Float64("k", math.Inf(1)), `"+Inf"`, `+Inf`},
	{"float -Inf", core.Float64("k", math.Inf(-1)), `"-Inf"`, `-Inf`},
	{"bool true", core.Bool("k", true), `true`, `true`},
	{"bool false", core.Bool("k", false), `false`, `false`},
	{"time utc", core.Time("k", time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC)), `"2024-01-02T03:04:05.0000006Z"`, `2024-01-02T03:04:05.0000006Z`},
	{"time zone", core.Time("k", testTime), `"2024-05-06T07:08:09.12345678+02:00"`, `2024-05-06T07:08:09.12345678+02:00`},
	{"duration", core.Duration("k", 1500*time.Millisecond), `"1.5s"`, `1.5s`},
	{"duration zero", core.Duration("k", 0), `"0s"`, `0s`},
	{"duration micro", core.Duration("k", -1500*time.Nanosecond), `"-1.5µs"`, `-1.5µs`},
	{"duration hours", core.Duration("k", time.Hour+2*time.Minute), `"1h2m0s"`, `1h2m0s`},
	{"error", core.NamedErr("k", errors.New("no such file")), `"no such file"`, `"no such file"`},
	{"bytes", core.Bytes("k", []byte("ab\x00\xff")), `"ab\u0000\ufffd"`, `"ab\x00\xff"`},
	{"any object", core.Any("k", map[string]any{"a": []int{1, 2}}), `{"a":[1,2]}`, `"{\"a\":[1,2]}"`},
	{"any null", core.Any("k", nil), `null`, `null`},
	{"any raw with C1", core.Any("k", json.RawMessage("\"\u009b\"")), `"\"\u009b\""`, `"\"\u009b\""`},
}

func TestJSONWritesEachKind(t *testing.T) {
	for _, tc := range kindCases {
		t.Run(tc.name, func(t *testing.T) {
			got := encode(format.JSON{}, newEvent("m", tc.field))
			require.Equal(t, `{"level":"INFO","msg":"m","k":`+tc.json+"}\n", got)
			require.True(t, json.Valid([]byte(got)))
		})
	}
}

func TestJSONSkipsEmptyField(t *testing.T) {
	got := encode(format.JSON{}, newEvent("m", core.Int("a", 1), core.Err(nil), core.Int("b", 2)))
	require.Equal(t, `{"level":"INFO","msg":"m","a":1,"b":2}`+"\n", got)
}

func TestJSONWritesHeader(t *testing.T) {
	e := newEvent("hello", core.Int("n", 1))
	e.Time = testTime
	e.Level = core.LevelWarn
	e.Logger = "db.pool"
	require.Equal(t,
		`{"time":"2024-05-06T07:08:09.123456780+02:00","level":"WARN","logger":"db.pool","msg":"hello","n":1}`+"\n",
		encode(format.JSON{}, e))

	e.Level = core.LevelInfo + 2
	keys := format.Keys{Time: "ts", Level: "severity", Message: "message", Logger: "name"}
	require.Equal(t,
		`{"ts":"2024-05-06 07:08:09","severity":"INFO+2","name":"db.pool","message":"hello","n":1}`+"\n",
		encode(format.JSON{Keys: keys, TimeFormat: time.DateTime}, e))
}

func TestJSONOmitsEntriesWithEmptyKeys(t *testing.T) {
	e := newEvent("hello", core.Int("n", 1))
	e.Time = testTime
	e.Logger = "x"
	keys := format.DefaultKeys()
	keys.Time, keys.Level, keys.Logger = "", "", ""
	require.Equal(t, `{"msg":"hello","n":1}`+"\n", encode(format.JSON{Keys: keys}, e))
	keys.Message = ""
	require.Equal(t, `{"n":1}`+"\n", encode(format.JSON{Keys: keys}, e))
	require.Equal(t, "{}\n", encode(format.JSON{Keys: keys}, newEvent("hello")))
}

func TestJSONEscapesCustomTimeFormat(t *testing.T) {
	e := newEvent("m")
	e.Time = testTime
	got := encode(format.JSON{TimeFormat: "\"15h\"\n\u2028"}, e)
	require.Equal(t, `{"time":"\"07h\"\n\u2028","level":"INFO","msg":"m"}`+"\n", got)
}

func TestJSONWritesCaller(t *testing.T) {
	var pcs [1]uintptr
	runtime.Callers(1, pcs[:])
	_, _, line, _ := runtime.Caller(0)
	e := newEvent("m")
	e.PC = pcs[0]
	got := encode(format.JSON{}, e)
	require.Equal(t, `{"level":"INFO","caller":"format/json_test.go:`+strconv.Itoa(line-1)+`","msg":"m"}`+"\n", got)
}

// TestJSONIsValidForHostileInput puts each hostile string everywhere a
// string goes and checks that the line is one valid JSON object in UTF-8,
// without raw controls, whose strings decode to the input.
func TestJSONIsValidForHostileInput(t *testing.T) {
	for _, s := range hostileStrings() {
		e := newEvent(s,
			core.String("v", s),
			core.Bytes("b", []byte(s)),
			core.NamedErr("err", errors.New(s)),
			core.String("k"+s, "key"),
			core.Group("g"+s, core.String("v", s)),
		)
		e.Logger = s
		e.Scope = (*core.Scope)(nil).With([]core.Field{core.String("sv", s)}).WithGroup("s" + s)
		keys := format.Keys{Time: "t" + s, Level: "l" + s, Message: "m" + s, Logger: "n" + s}
		got := encode(format.JSON{Keys: keys}, e)

		requireOneSafeJSONLine(t, got)
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(got), &m), describe(s))
		want := validRunes(s)
		require.Equal(t, "INFO", m["l"+want])
		require.Equal(t, want, m["m"+want])
		if s != "" { // an empty logger name is left out
			require.Equal(t, want, m["n"+want])
		}
		require.Equal(t, want, m["sv"])
		inner, ok := m["s"+want].(map[string]any)
		require.True(t, ok, describe(s))
		require.Equal(t, want, inner["v"])
		require.Equal(t, want, inner["b"])
		require.Equal(t, want, inner["err"])
		require.Equal(t, "key", inner["k"+want])
		require.Equal(t, map[string]any{"v": want}, inner["g"+want])
		if utf8.ValidString(s) {
			require.Equal(t, s, want)
		}
	}
}

// requireOneSafeJSONLine checks the shape every JSON line must have.
func requireOneSafeJSONLine(t testing.TB, line string) {
	t.Helper()
	require.True(t, strings.HasSuffix(line, "\n"), line)
	body := line[:len(line)-1]
	require.True(t, json.Valid([]byte(body)), line)
	require.True(t, utf8.ValidString(body), line)
	bad := strings.IndexFunc(body, func(r rune) bool {
		return r < 0x20 || (0x7f <= r && r <= 0x9f) || r == '\u2028' || r == '\u2029'
	})
	require.Equal(t, -1, bad, "raw control character in %q", line)
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	var v map[string]any
	require.NoError(t, dec.Decode(&v))
	require.False(t, dec.More(), "more than one value in %q", line)
}

func TestJSONWritesDuplicateKeysAsGiven(t *testing.T) {
	got := encode(format.JSON{}, newEvent("m", core.Int("a", 1), core.Int("a", 2), core.String("msg", "x")))
	require.Equal(t, `{"level":"INFO","msg":"m","a":1,"a":2,"msg":"x"}`+"\n", got)
}

func TestJSONAnyFallsBackToString(t *testing.T) {
	// core.Any compacts and validates JSON, so these reach the encoder;
	// each holds something a line must not carry raw.
	for _, raw := range []string{"\"\x7f\"", "\"\u2028\"", "\"\xff\"", "[\"\u0085\"]"} {
		got := encode(format.JSON{}, newEvent("m", core.Any("k", json.RawMessage(raw))))
		requireOneSafeJSONLine(t, got)
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(got), &m))
		require.IsType(t, "", m["k"], raw)
	}
}

// The default encoder's fast head (pre-quoted keys and levels) writes
// exactly what the general path writes with the same keys spelled out.
func TestJSONDefaultHeadMatchesTheGeneralPath(t *testing.T) {
	at := time.Date(2026, 11, 29, 17, 0, 0, 123, time.UTC)
	var evs []core.Event
	for _, lvl := range []core.Level{core.LevelTrace, core.LevelDebug, core.LevelInfo, core.LevelWarn, core.LevelError, core.LevelFatal, core.LevelInfo + 2, -12} {
		for _, tm := range []time.Time{{}, at} {
			for _, name := range []string{"", "api.v1", "q\"uote"} {
				ev := core.Event{Time: tm, Level: lvl, Logger: name, Message: "m \"x\"\n"}
				ev.SetFields([]core.Field{core.Int("n", 1)})
				evs = append(evs, ev)
			}
		}
	}
	for i := range evs {
		fast := format.JSON{}.Append(nil, &evs[i])
		general := format.JSON{Keys: format.DefaultKeys()}.Append(nil, &evs[i])
		require.Equal(t, string(general), string(fast), "event %d", i)
	}
}
