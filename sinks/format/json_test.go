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

	"github.com/shardlog/shardlog/engine/event"
	"github.com/shardlog/shardlog/sinks/format"
)

// kindCases lists one field of each kind, and the corner cases of each,
// with the value each encoder writes for it.
var kindCases = []struct {
	name       string
	field      event.Field
	json, text string
}{
	{"string", event.String("k", "v"), `"v"`, `v`},
	{"string empty", event.String("k", ""), `""`, `""`},
	{"string space", event.String("k", "a b"), `"a b"`, `"a b"`},
	{"string equals", event.String("k", "a=b"), `"a=b"`, `"a=b"`},
	{"string backslash", event.String("k", `C:\dir`), `"C:\\dir"`, `C:\dir`},
	{"string unicode", event.String("k", "naïve"), `"naïve"`, `naïve`},
	{"int64", event.Int64("k", -42), `-42`, `-42`},
	{"int64 min", event.Int64("k", math.MinInt64), `-9223372036854775808`, `-9223372036854775808`},
	{"uint64 max", event.Uint64("k", math.MaxUint64), `18446744073709551615`, `18446744073709551615`},
	{"float", event.Float64("k", 1.5), `1.5`, `1.5`},
	{"float integral", event.Float64("k", 123456789), `123456789`, `123456789`},
	{"float zero", event.Float64("k", 0), `0`, `0`},
	{"float negative zero", event.Float64("k", math.Copysign(0, -1)), `-0`, `-0`},
	{"float small", event.Float64("k", 1e-7), `1e-7`, `1e-7`},
	{"float large", event.Float64("k", 1e21), `1e+21`, `1e+21`},
	{"float below large", event.Float64("k", 1e20), `100000000000000000000`, `100000000000000000000`},
	{"float shortest", event.Float64("k", 0.1), `0.1`, `0.1`},
	{"float NaN", event.Float64("k", math.NaN()), `"NaN"`, `NaN`},
	{"float +Inf", event.Float64("k", math.Inf(1)), `"+Inf"`, `+Inf`},
	{"float -Inf", event.Float64("k", math.Inf(-1)), `"-Inf"`, `-Inf`},
	{"bool true", event.Bool("k", true), `true`, `true`},
	{"bool false", event.Bool("k", false), `false`, `false`},
	{"time utc", event.Time("k", time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC)), `"2024-01-02T03:04:05.0000006Z"`, `2024-01-02T03:04:05.0000006Z`},
	{"time zone", event.Time("k", testTime), `"2024-05-06T07:08:09.12345678+02:00"`, `2024-05-06T07:08:09.12345678+02:00`},
	{"duration", event.Duration("k", 1500*time.Millisecond), `"1.5s"`, `1.5s`},
	{"duration zero", event.Duration("k", 0), `"0s"`, `0s`},
	{"duration micro", event.Duration("k", -1500*time.Nanosecond), `"-1.5µs"`, `-1.5µs`},
	{"duration hours", event.Duration("k", time.Hour+2*time.Minute), `"1h2m0s"`, `1h2m0s`},
	{"error", event.NamedErr("k", errors.New("no such file")), `"no such file"`, `"no such file"`},
	{"bytes", event.Bytes("k", []byte("ab\x00\xff")), `"ab\u0000\ufffd"`, `"ab\x00\xff"`},
	{"any object", event.Any("k", map[string]any{"a": []int{1, 2}}), `{"a":[1,2]}`, `"{\"a\":[1,2]}"`},
	{"any null", event.Any("k", nil), `null`, `null`},
	{"any raw with C1", event.Any("k", json.RawMessage("\"\u009b\"")), `"\"\u009b\""`, `"\"\u009b\""`},
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
	got := encode(format.JSON{}, newEvent("m", event.Int("a", 1), event.Err(nil), event.Int("b", 2)))
	require.Equal(t, `{"level":"INFO","msg":"m","a":1,"b":2}`+"\n", got)
}

func TestJSONWritesHeader(t *testing.T) {
	e := newEvent("hello", event.Int("n", 1))
	e.Time = testTime
	e.Level = event.LevelWarn
	e.Logger = "db.pool"
	require.Equal(t,
		`{"time":"2024-05-06T07:08:09.123456780+02:00","level":"WARN","logger":"db.pool","msg":"hello","n":1}`+"\n",
		encode(format.JSON{}, e))

	e.Level = event.LevelInfo + 2
	keys := format.Keys{Time: "ts", Level: "severity", Message: "message", Logger: "name"}
	require.Equal(t,
		`{"ts":"2024-05-06 07:08:09","severity":"INFO+2","name":"db.pool","message":"hello","n":1}`+"\n",
		encode(format.JSON{Keys: keys, TimeFormat: time.DateTime}, e))
}

func TestJSONOmitsEntriesWithEmptyKeys(t *testing.T) {
	e := newEvent("hello", event.Int("n", 1))
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
			event.String("v", s),
			event.Bytes("b", []byte(s)),
			event.NamedErr("err", errors.New(s)),
			event.String("k"+s, "key"),
			event.Group("g"+s, event.String("v", s)),
		)
		e.Logger = s
		e.Scope = (*event.Scope)(nil).With([]event.Field{event.String("sv", s)}).WithGroup("s" + s)
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
	got := encode(format.JSON{}, newEvent("m", event.Int("a", 1), event.Int("a", 2), event.String("msg", "x")))
	require.Equal(t, `{"level":"INFO","msg":"m","a":1,"a":2,"msg":"x"}`+"\n", got)
}

func TestJSONAnyFallsBackToString(t *testing.T) {
	// event.Any compacts and validates JSON, so these reach the encoder;
	// each holds something a line must not carry raw.
	for _, raw := range []string{"\"\x7f\"", "\"\u2028\"", "\"\xff\"", "[\"\u0085\"]"} {
		got := encode(format.JSON{}, newEvent("m", event.Any("k", json.RawMessage(raw))))
		requireOneSafeJSONLine(t, got)
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(got), &m))
		require.IsType(t, "", m["k"], raw)
	}
}
