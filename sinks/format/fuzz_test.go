package format_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks/format"
)

// fuzzEvent puts the fuzzed strings in the message, the logger name, a
// scope field, string and bytes values, and keys and group names nested
// under "f", where they cannot collide with the entries checked.
func fuzzEvent(msg, key, val string, b []byte) *core.Event {
	e := newEvent(msg,
		core.String("s", val),
		core.Bytes("b", b),
		core.Group("k", core.String(key, val)),
		core.Group("x", core.Group(key, core.Int("n", 1))),
	)
	e.Logger = val
	e.Scope = (*core.Scope)(nil).With([]core.Field{core.String("w", val)}).WithGroup("f")
	return e
}

func addFuzzSeeds(f *testing.F) {
	for _, s := range hostileStrings()[:30] {
		f.Add(s, s, s, []byte(s))
	}
	f.Add("m", "k", "v", []byte{0, 0x1b, 0x7f, 0x80, 0xff})
}

func FuzzJSON(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, msg, key, val string, b []byte) {
		line := string(format.JSON{}.Append(nil, fuzzEvent(msg, key, val, b)))
		requireOneSafeJSONLine(t, line)

		var m struct {
			Msg    string `json:"msg"`
			Logger string `json:"logger"`
			W      string `json:"w"`
			F      struct {
				S string            `json:"s"`
				B string            `json:"b"`
				K map[string]string `json:"k"`
				X json.RawMessage   `json:"x"` // its shape depends on key
			} `json:"f"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		require.Equal(t, validRunes(msg), m.Msg)
		require.Equal(t, validRunes(val), m.Logger)
		require.Equal(t, validRunes(val), m.W)
		require.Equal(t, validRunes(val), m.F.S)
		require.Equal(t, validRunes(string(b)), m.F.B)
		require.Equal(t, map[string]string{validRunes(key): validRunes(val)}, m.F.K)
	})
}

func FuzzText(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, msg, key, val string, b []byte) {
		line := string(format.Text{}.Append(nil, fuzzEvent(msg, key, val, b)))
		requireOneSafeTextLine(t, line)

		pairs, err := parseLogfmt(line)
		require.NoError(t, err, line)
		want := []pair{{"level", "INFO"}}
		if val != "" {
			want = append(want, pair{"logger", val})
		}
		want = append(want,
			pair{"msg", msg},
			pair{"w", val},
			pair{"f.s", val},
			pair{"f.b", string(b)},
			pair{"f.k." + key, val},
		)
		if key == "" { // an unnamed group is inlined
			want = append(want, pair{"f.x.n", "1"})
		} else {
			want = append(want, pair{"f.x." + key + ".n", "1"})
		}
		require.Equal(t, want, pairs, line)
	})
}
