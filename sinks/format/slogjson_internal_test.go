package format

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAppendSlogRaw(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{`{"a":[1,2]}`, `{"a":[1,2]}`},
		{`"\u003c\u003e\u0026"`, `"<>&"`},
		{`{"\u0026":"\u003cb\u003e"}`, `{"&":"<b>"}`},
		{`"\\u003c"`, `"\\u003c"`},                       // an escaped backslash, then text
		{`"\\\u003c"`, `"\\<"`},                          // an escaped backslash, then an escape
		{`"\u003C\u0027\u00e9"`, `"\u003C\u0027\u00e9"`}, // only json.Marshal's own forms
		{"\"\x7f\u0085\u2028\xff\"", `"\u007f\u0085\u2028\ufffd"`},
		{`"\u003c`, `"\"\\u003c"`}, // not JSON: a string
		{"[1,\n2]", `"[1,\n2]"`},   // not embeddable: a string
		{"\x7f", `"\u007f"`},       // outside a string: a string
		{`"a\`, `"\"a\\"`},         // a trailing backslash
		{`"\u00`, `"\"\\u00"`},     // a cut escape
		{`[true,null,"x\"y\u0026"]`, `[true,null,"x\"y&"]`},
	} {
		require.Equal(t, tc.want, string(appendSlogRaw(nil, tc.raw)), "%q", tc.raw)
	}
}

// FuzzAppendSlogRaw checks that appendSlogRaw always writes one
// embeddable value, which keeps the value of valid input and is the
// input as a string otherwise.
func FuzzAppendSlogRaw(f *testing.F) {
	for _, s := range []string{`{"a":"\u003c"}`, `"\\\u0026"`, "\"\u0085\"", `[1,"\`, `"\u00`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendSlogRaw([]byte("x"), s)[1:]
		require.True(t, embeddable(string(out)), "%q -> %q", s, out)
		var got any
		require.NoError(t, json.Unmarshal(out, &got))
		if json.Valid([]byte(s)) {
			var want any
			require.NoError(t, json.Unmarshal([]byte(s), &want))
			if reflect.DeepEqual(want, got) {
				return
			}
		}
		// Otherwise, and for valid JSON that is not embeddable (other
		// whitespace, deep nesting), the input as a string.
		require.Equal(t, string([]rune(s)), got, "%q -> %q", s, out)
	})
}
