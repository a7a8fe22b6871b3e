package format_test

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks/format"
)

// Both encoders satisfy the contract by shape, as values and as pointers.
var (
	_ core.Encoder = format.JSON{}
	_ core.Encoder = format.Text{}
	_ core.Encoder = (*format.JSON)(nil)
	_ core.Encoder = (*format.Text)(nil)
)

// testTime has a non-UTC offset and a nanosecond part with a trailing
// zero, which the fixed-width default layout keeps.
var testTime = time.Date(2024, 5, 6, 7, 8, 9, 123456780, time.FixedZone("CEST", 2*3600))

// newEvent makes an INFO event with a zero time, so that expected lines
// start with the level.
func newEvent(msg string, fields ...core.Field) *core.Event {
	e := &core.Event{Level: core.LevelInfo, Message: msg}
	e.SetFields(fields)
	return e
}

// encode returns the line enc writes for e, appended after a prefix that
// must survive, as a sink's buffer holding earlier lines would.
func encode(enc core.Encoder, e *core.Event) string {
	const prefix = "earlier line\n"
	out := string(enc.Append([]byte(prefix), e))
	if !strings.HasPrefix(out, prefix) {
		panic("encoder changed bytes before dst's length")
	}
	return out[len(prefix):]
}

// hostileStrings are inputs meant to break a line or a terminal: every
// byte value, invalid and overlong UTF-8, separators, escapes, quotes.
func hostileStrings() []string {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	s := []string{
		"",
		" ",
		"\n",
		"line\nlevel=ERROR msg=forged",
		"cr\rlf\n",
		"\x1b[31mred\x1b[0m",
		"\x1b]0;title\x07",
		"\u009b31m", // C1 CSI
		"\u0085",    // C1 next line
		"\x7f",
		"\u2028\u2029",
		"\u202eevil\u202c",     // bidirectional override
		"\u00a0\u3000",         // non-ASCII spaces
		"\U000e0001\U0010ffff", // unprintable beyond the BMP
		`"quoted"`,
		`back\slash\`,
		`\"`,
		"k=v",
		"=",
		"\xff\xfe",
		"\xc0\xaf",         // overlong '/'
		"\xed\xa0\x80",     // UTF-16 surrogate
		"\xe2\x80",         // truncated U+2028
		"\xf4\x90\x80\x80", // beyond U+10FFFF
		"\ufffd",
		"日本語 🎉",
		"\x00nul",
		"tab\there",
		string(all),
		strings.Repeat("long safe run ", 20) + "\n" + strings.Repeat("x", 100),
	}
	for b := range 256 {
		s = append(s, "<"+string([]byte{byte(b)})+">")
	}
	return s
}

// validRunes returns s with each byte that is not UTF-8 replaced by
// U+FFFD, as the JSON encoder does.
func validRunes(s string) string { return string([]rune(s)) }

func describe(s string) string { return fmt.Sprintf("%.40s", strconv.Quote(s)) }
