package format_test

import (
	"errors"
	"fmt"
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

func TestTextWritesEachKind(t *testing.T) {
	for _, tc := range kindCases {
		t.Run(tc.name, func(t *testing.T) {
			got := encode(format.Text{}, newEvent("m", tc.field))
			require.Equal(t, "level=INFO msg=m k="+tc.text+"\n", got)
		})
	}
}

func TestTextSkipsEmptyField(t *testing.T) {
	got := encode(format.Text{}, newEvent("m", core.Int("a", 1), core.Err(nil), core.Int("b", 2)))
	require.Equal(t, "level=INFO msg=m a=1 b=2\n", got)
}

func TestTextWritesHeader(t *testing.T) {
	e := newEvent("hello world", core.Int("n", 1))
	e.Time = testTime
	e.Level = core.LevelError
	e.Logger = "db.pool"
	require.Equal(t,
		`time=2024-05-06T07:08:09.123456780+02:00 level=ERROR logger=db.pool msg="hello world" n=1`+"\n",
		encode(format.Text{}, e))

	e.Level = core.LevelDebug - 1
	keys := format.Keys{Time: "ts", Level: "severity", Message: "the message", Logger: "name"}
	require.Equal(t,
		`ts="2024-05-06 07:08:09" severity=TRACE+3 name=db.pool "the message"="hello world" n=1`+"\n",
		encode(format.Text{Keys: keys, TimeFormat: time.DateTime}, e))
}

func TestTextOmitsEntriesWithEmptyKeys(t *testing.T) {
	e := newEvent("hello", core.Int("n", 1))
	e.Time = testTime
	keys := format.DefaultKeys()
	keys.Time, keys.Level = "", ""
	require.Equal(t, "msg=hello n=1\n", encode(format.Text{Keys: keys}, e))
	keys.Message = ""
	require.Equal(t, "n=1\n", encode(format.Text{Keys: keys}, e))
	require.Equal(t, "\n", encode(format.Text{Keys: keys}, newEvent("hello")))
}

func TestTextQuotesCustomTimeFormat(t *testing.T) {
	e := newEvent("m")
	e.Time = testTime
	require.Equal(t, `time="Mon 07h\n" level=INFO msg=m`+"\n", encode(format.Text{TimeFormat: "Mon 15h\n"}, e))
	require.Equal(t, `time=" " level=INFO msg=m`+"\n", encode(format.Text{TimeFormat: " "}, e))
	require.Equal(t, `time="\x1b[6J" level=INFO msg=m`+"\n", encode(format.Text{TimeFormat: "\x1b[2J"}, e))
}

func TestTextWritesCaller(t *testing.T) {
	var pcs [1]uintptr
	runtime.Callers(1, pcs[:])
	_, _, line, _ := runtime.Caller(0)
	e := newEvent("m")
	e.PC = pcs[0]
	got := encode(format.Text{}, e)
	require.Equal(t, "level=INFO caller=format/text_test.go:"+strconv.Itoa(line-1)+" msg=m\n", got)
}

func TestTextQuotesKeys(t *testing.T) {
	got := encode(format.Text{}, newEvent("m",
		core.Int("", 1),
		core.Int("a b", 2),
		core.Int("a=b", 3),
		core.Int("a\nb", 4),
		core.Group("g h", core.Int("x", 5)),
		core.Group("g", core.Int("", 6)),
	))
	require.Equal(t, `level=INFO msg=m ""=1 "a b"=2 "a=b"=3 "a\nb"=4 "g h.x"=5 g.=6`+"\n", got)
}

func TestTextWritesDuplicateKeysAsGiven(t *testing.T) {
	got := encode(format.Text{}, newEvent("m", core.Int("a", 1), core.Int("a", 2)))
	require.Equal(t, "level=INFO msg=m a=1 a=2\n", got)
}

// TestTextIsOneSafeLineForHostileInput puts each hostile string everywhere
// a string goes and checks that the line stays one printable line whose
// pairs parse back to the input, bytes that are not UTF-8 included.
func TestTextIsOneSafeLineForHostileInput(t *testing.T) {
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
		got := encode(format.Text{Keys: keys}, e)

		requireOneSafeTextLine(t, got)
		pairs, err := parseLogfmt(got)
		require.NoError(t, err, "%s in %q", describe(s), got)
		want := []pair{{"l" + s, "INFO"}}
		if s != "" {
			want = append(want, pair{"n" + s, s})
		}
		want = append(want,
			pair{"m" + s, s},
			pair{"sv", s},
			pair{"s" + s + ".v", s},
			pair{"s" + s + ".b", s},
			pair{"s" + s + ".err", s},
			pair{"s" + s + ".k" + s, "key"},
			pair{"s" + s + ".g" + s + ".v", s},
		)
		require.Equal(t, want, pairs, describe(s))
	}
}

// requireOneSafeTextLine checks the shape every text line must have.
func requireOneSafeTextLine(t testing.TB, line string) {
	t.Helper()
	require.True(t, strings.HasSuffix(line, "\n"), line)
	body := line[:len(line)-1]
	require.True(t, utf8.ValidString(body), line)
	bad := strings.IndexFunc(body, func(r rune) bool { return !strconv.IsPrint(r) })
	require.Equal(t, -1, bad, "unprintable character in %q", line)
}

type pair struct{ key, value string }

// parseLogfmt reads a line of key=value pairs separated by single spaces,
// where a key or value is either bare or a Go-quoted string.
func parseLogfmt(line string) ([]pair, error) {
	line = strings.TrimSuffix(line, "\n")
	var pairs []pair
	for len(line) > 0 {
		key, rest, err := logfmtToken(line, '=')
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(rest, "=") {
			return nil, fmt.Errorf("no '=' after key %q", key)
		}
		value, rest, err := logfmtToken(rest[1:], ' ')
		if err != nil {
			return nil, err
		}
		pairs = append(pairs, pair{key, value})
		if rest != "" {
			if rest[0] != ' ' || len(rest) == 1 {
				return nil, fmt.Errorf("bad separator before %q", rest)
			}
			rest = rest[1:]
		}
		line = rest
	}
	return pairs, nil
}

// logfmtToken reads a quoted token, or a bare one up to end.
func logfmtToken(s string, end byte) (tok, rest string, err error) {
	if !strings.HasPrefix(s, `"`) {
		i := strings.IndexByte(s, end)
		if i < 0 {
			i = len(s)
		}
		if i == 0 {
			return "", "", fmt.Errorf("empty bare token at %q", s)
		}
		return s[:i], s[i:], nil
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			tok, err = strconv.Unquote(s[:i+1])
			return tok, s[i+1:], err
		}
	}
	return "", "", fmt.Errorf("unterminated quote in %q", s)
}
