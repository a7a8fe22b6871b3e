package format

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestEmbeddable(t *testing.T) {
	for _, s := range []string{
		`0`, `-0`, `1.5e+10`, `-12E-3`, `true`, `false`, `null`, `""`, `"a\"\\\/\b\f\n\r\t\u00e9"`,
		`[]`, `{}`, `[1,"a",{"b":[null]}]`, ` { "a" : [ 1 , 2 ] } `, `"日本"`, `"\u2028"`,
		strings.Repeat("[", maxRawDepth) + strings.Repeat("]", maxRawDepth),
	} {
		require.True(t, embeddable(s), "%q", s)
		require.True(t, json.Valid([]byte(s)), "%q", s)
	}
	for _, s := range []string{
		``, ` `, `01`, `1.`, `.5`, `1e`, `+1`, `-`, `tru`, `nul`, `True`, `"`, `"\x"`, `"\u12"`,
		`[`, `[1,]`, `{"a"}`, `{"a":1,}`, `{a:1}`, `1 2`, `[1 2]`, `{} x`,
		"\"\x01\"", "\"\x7f\"", "\"\u0085\"", "\"\u2028\"", "\"\xff\"", "[1,\n2]", "[1,\t2]",
		strings.Repeat("[", maxRawDepth+1) + strings.Repeat("]", maxRawDepth+1),
	} {
		require.False(t, embeddable(s), "%q", s)
	}
}

// FuzzEmbeddable checks embeddable against json.Valid: it accepts only
// valid JSON with no raw control or separator, and every such value that
// is not too deep.
func FuzzEmbeddable(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e-3,"x\u0041"]}`, `[true,false,null]`, "\"\x7f\"", `{"a" :1}`, "[1,\n2]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		safe := utf8.ValidString(s) && strings.Count(s, "[")+strings.Count(s, "{") < maxRawDepth
		for _, r := range s {
			if r < 0x20 || (0x7f <= r && r <= 0x9f) || r == '\u2028' || r == '\u2029' {
				safe = false
			}
		}
		valid := json.Valid([]byte(s))
		if embeddable(s) {
			require.True(t, valid && utf8.ValidString(s))
		} else {
			require.False(t, valid && safe, "%q", s)
		}
	})
}
