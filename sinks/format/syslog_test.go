package format_test

import (
	"errors"
	"fmt"
	"math"
	"regexp"
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

var _ core.Encoder = format.Syslog{}

// syslogMsg is an RFC 5424 message as parseSyslog reads it.
type syslogMsg struct {
	pri                                      int
	timestamp, host, app, procID, msgID, msg string
	hasMsg                                   bool
	sd                                       []sdElement // nil for "-"
}

type sdElement struct {
	id     string
	params []pair // values decoded with decodeParamValue
	raw    []pair // values as written
}

var stampRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$`)

// parseSyslog reads one message by the ABNF of RFC 5424, section 6,
// strictly: it fails on anything the grammar does not allow, and on what
// the encoder's contract forbids (control characters, invalid UTF-8).
func parseSyslog(line string) (m syslogMsg, err error) {
	if !utf8.ValidString(line) {
		return m, errors.New("not valid UTF-8")
	}
	if i := strings.IndexFunc(line, func(r rune) bool { return r < 0x20 || r == 0x7f }); i >= 0 {
		return m, fmt.Errorf("control character %q at %d", line[i], i)
	}
	if !strings.HasPrefix(line, "<") {
		return m, errors.New("no PRI")
	}
	end := strings.Index(line, ">")
	if end < 2 || end > 4 {
		return m, errors.New("bad PRI")
	}
	if m.pri, err = strconv.Atoi(line[1:end]); err != nil || m.pri > 191 || (line[1] == '0' && end > 2) {
		return m, fmt.Errorf("bad PRI %q", line[1:end])
	}
	rest, ok := strings.CutPrefix(line[end+1:], "1 ")
	if !ok {
		return m, errors.New("bad VERSION")
	}
	fields := []*string{&m.timestamp, &m.host, &m.app, &m.procID, &m.msgID}
	limits := []int{0, 255, 48, 128, 32}
	for i, f := range fields {
		sp := strings.IndexByte(rest, ' ')
		if sp <= 0 {
			return m, fmt.Errorf("header field %d missing", i)
		}
		*f, rest = rest[:sp], rest[sp+1:]
		if i == 0 {
			if *f != "-" && !stampRE.MatchString(*f) {
				return m, fmt.Errorf("bad TIMESTAMP %q", *f)
			}
			continue
		}
		if len(*f) > limits[i] || strings.IndexFunc(*f, func(r rune) bool { return r < 33 || r > 126 }) >= 0 {
			return m, fmt.Errorf("bad header field %q", *f)
		}
	}
	if rest, ok = strings.CutPrefix(rest, "-"); !ok {
		for strings.HasPrefix(rest, "[") {
			var el sdElement
			if el, rest, err = parseSDElement(rest[1:]); err != nil {
				return m, err
			}
			m.sd = append(m.sd, el)
		}
		if m.sd == nil {
			return m, fmt.Errorf("bad STRUCTURED-DATA at %q", rest)
		}
	}
	if rest == "" {
		return m, nil
	}
	if m.msg, ok = strings.CutPrefix(rest, " "); !ok {
		return m, fmt.Errorf("no SP before MSG at %q", rest)
	}
	m.hasMsg = true
	return m, nil
}

// sdName reports whether s is an SD-NAME: 1 to 32 PRINTUSASCII except
// '=', SP, ']' and '"'.
func sdName(s string) bool {
	return s != "" && len(s) <= 32 && strings.IndexFunc(s, func(r rune) bool {
		return r < 33 || r > 126 || r == '=' || r == ']' || r == '"'
	}) < 0
}

// parseSDElement reads an element after its '['.
func parseSDElement(s string) (el sdElement, rest string, err error) {
	i := strings.IndexAny(s, " ]")
	if i < 0 {
		return el, "", errors.New("unterminated SD-ELEMENT")
	}
	if el.id = s[:i]; !sdName(el.id) {
		return el, "", fmt.Errorf("bad SD-ID %q", el.id)
	}
	s = s[i:]
	for strings.HasPrefix(s, " ") {
		eq := strings.Index(s, `="`)
		if eq < 0 {
			return el, "", fmt.Errorf("bad SD-PARAM at %q", s)
		}
		name := s[1:eq]
		if !sdName(name) {
			return el, "", fmt.Errorf("bad PARAM-NAME %q", name)
		}
		s = s[eq+2:]
		j := 0
		for ; j < len(s) && s[j] != '"'; j++ {
			switch s[j] {
			case '\\':
				j++ // RFC 5424: a backslash escapes the next character or stands for itself
			case ']':
				return el, "", fmt.Errorf("unescaped ']' in PARAM-VALUE of %q", name)
			}
		}
		if j >= len(s) {
			return el, "", errors.New("unterminated PARAM-VALUE")
		}
		raw := s[:j]
		v, err := decodeParamValue(raw)
		if err != nil {
			return el, "", fmt.Errorf("PARAM-VALUE %q: %w", raw, err)
		}
		el.params = append(el.params, pair{name, v})
		el.raw = append(el.raw, pair{name, raw})
		s = s[j+1:]
	}
	if !strings.HasPrefix(s, "]") {
		return el, "", fmt.Errorf("no ']' at %q", s)
	}
	return el, s[1:], nil
}

// decodeParamValue inverts the encoder's PARAM-VALUE escaping: RFC 5424's
// \] and the Go escapes (\" \\ \n \xNN \uNNNN ...).
func decodeParamValue(raw string) (string, error) {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) && raw[i+1] == ']' {
			b.WriteByte(']')
			i++
			continue
		}
		b.WriteByte(raw[i])
		if raw[i] == '\\' && i+1 < len(raw) {
			b.WriteByte(raw[i+1])
			i++
		}
	}
	b.WriteByte('"')
	return strconv.Unquote(b.String())
}

// mustParse parses the line enc writes for e and checks the '\n' at its
// end.
func mustParse(t testing.TB, enc format.Syslog, e *core.Event) syslogMsg {
	t.Helper()
	line := encode(enc, e)
	require.True(t, strings.HasSuffix(line, "\n"), "%q", line)
	m, err := parseSyslog(line[:len(line)-1])
	require.NoError(t, err, "%q", line)
	return m
}

func syslogEvent() *core.Event {
	e := &core.Event{
		Time:    time.Date(2025, 6, 1, 12, 0, 1, 123456789, time.UTC),
		Level:   core.LevelWarn,
		Message: "disk almost full",
		Logger:  "storage",
		Scope: (*core.Scope)(nil).
			With([]core.Field{core.String("service", "api")}).
			WithGroup("req").
			With([]core.Field{core.Int("id", 7)}),
	}
	e.SetFields([]core.Field{
		core.String("path", `/var/"data"]\x`),
		core.Float64("used", 0.93),
		core.Group("dev", core.String("name", "sda"), core.Bool("ssd", true)),
	})
	return e
}

func TestSyslogWritesMessage(t *testing.T) {
	enc := format.Syslog{Facility: format.FacilityLocal0, Hostname: "web1", AppName: "api", ProcID: "4242", MsgID: "DISK"}
	require.Equal(t,
		`<132>1 2025-06-01T12:00:01.123456Z web1 api 4242 DISK [shardlog@32473 logger="storage" service="api" req.id="7" req.path="/var/\"data\"\]\\x" req.used="0.93" req.dev.name="sda" req.dev.ssd="true"] disk almost full`+"\n",
		encode(enc, syslogEvent()))

	// The zero Syslog: user facility, NILVALUEs, the default SD-ID.
	require.Equal(t, "<14>1 - - - - - - m\n", encode(format.Syslog{}, newEvent("m")))
	require.Equal(t, `<14>1 - - - - - [shardlog@32473 a="1"] m`+"\n", encode(format.Syslog{}, newEvent("m", core.Int("a", 1))))
	require.Equal(t, `<14>1 - - - - - [app@1.2.3 a="1"] m`+"\n", encode(format.Syslog{SDID: "app@1.2.3"}, newEvent("m", core.Int("a", 1))))
	// An empty message still ends with the SP before MSG.
	require.Equal(t, `<14>1 - - - - - [shardlog@32473 a="1"] `+"\n", encode(format.Syslog{}, newEvent("", core.Int("a", 1))))
}

func TestSyslogMapsLevelsToSeverity(t *testing.T) {
	for _, tc := range []struct {
		level core.Level
		sev   int
	}{
		{core.LevelTrace - 4, 7}, {core.LevelTrace, 7}, {core.LevelDebug, 7}, {core.LevelDebug + 3, 7}, {core.LevelInfo - 1, 7},
		{core.LevelInfo, 6},
		{core.LevelInfo + 1, 5}, {core.LevelInfo + 2, 5}, {core.LevelInfo + 3, 5},
		{core.LevelWarn, 4}, {core.LevelWarn + 3, 4},
		{core.LevelError, 3}, {core.LevelError + 3, 3},
		{core.LevelFatal, 2}, {core.LevelFatal + 100, 2}, {math.MaxInt, 2}, {math.MinInt, 7},
	} {
		require.Equal(t, tc.sev, format.Severity(tc.level), "level %v", tc.level)
		e := newEvent("m")
		e.Level = tc.level
		for _, f := range []format.Facility{0, format.FacilityUser, format.FacilityDaemon, format.FacilityLocal7, 24, 255} {
			code := int(f)
			if f == 0 || f > format.MaxFacility {
				code = 1
			}
			m := mustParse(t, format.Syslog{Facility: f}, e)
			require.Equal(t, code*8+tc.sev, m.pri, "level %v facility %d", tc.level, f)
		}
	}
}

func TestFacilityString(t *testing.T) {
	require.Equal(t, "user", format.Facility(0).String())
	require.Equal(t, "user", format.FacilityUser.String())
	require.Equal(t, "authpriv", format.FacilityAuthPriv.String())
	require.Equal(t, "clock", format.Facility(15).String())
	require.Equal(t, "local7", format.FacilityLocal7.String())
	require.Equal(t, "Facility(24)", format.Facility(24).String())
}

func TestSyslogWritesTimestamp(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2025, 6, 1, 12, 0, 1, 123456789, time.UTC), "2025-06-01T12:00:01.123456Z"},
		{time.Date(2025, 12, 31, 23, 59, 59, 999999999, time.UTC), "2025-12-31T23:59:59.999999Z"}, // cut, not rounded
		{time.Date(2025, 6, 1, 12, 0, 1, 0, time.UTC), "2025-06-01T12:00:01.000000Z"},
		{testTime, "2024-05-06T07:08:09.123456+02:00"},
		{time.Date(2024, 1, 2, 3, 4, 5, 6000, time.FixedZone("", -(9*3600+30*60))), "2024-01-02T03:04:05.000006-09:30"},
		{time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), "0000-01-01T00:00:00.000000Z"},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "-"},
		{time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), "-"},
		{time.Time{}, "-"},
	} {
		e := newEvent("m")
		e.Time = tc.t
		m := mustParse(t, format.Syslog{}, e)
		require.Equal(t, tc.want, m.timestamp, "%v", tc.t)
		if tc.want != "-" {
			back, err := time.Parse(time.RFC3339Nano, m.timestamp)
			require.NoError(t, err)
			require.Equal(t, tc.t.Truncate(time.Microsecond).UnixNano(), back.UnixNano())
		}
	}
}

func TestSyslogSanitisesHeaderFields(t *testing.T) {
	enc := format.Syslog{
		Hostname: "host name\n",
		AppName:  strings.Repeat("a", 60),
		ProcID:   "é",
		MsgID:    "-",
	}
	m := mustParse(t, enc, newEvent("m"))
	require.Equal(t, "host_name_", m.host)
	require.Equal(t, strings.Repeat("a", 48), m.app)
	require.Equal(t, "__", m.procID) // two bytes outside US-ASCII
	require.Equal(t, "-", m.msgID)
	long := format.Syslog{Hostname: strings.Repeat("h", 300), ProcID: strings.Repeat("p", 200), MsgID: strings.Repeat("m", 40)}
	m = mustParse(t, long, newEvent("m"))
	require.Len(t, m.host, 255)
	require.Len(t, m.procID, 128)
	require.Len(t, m.msgID, 32)
}

func TestSyslogEscapesParamValues(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{`"`, `\"`},
		{`\`, `\\`},
		{`]`, `\]`},
		{`a]b"c\d`, `a\]b\"c\\d`},
		{"[x]", `[x\]`},
		{"line\nbreak\r\ttab", `line\nbreak\r\ttab`},
		{"\x00\x1b[31m\x7f", `\x00\x1b[31m\x7f`},
		{"bad \xff\xfe UTF-8 \xc3", `bad \xff\xfe UTF-8 \xc3`},
		{"\u2028\u0085\u202e", `\u2028\u0085\u202e`},
		{"naïve 日本語 🎉", "naïve 日本語 🎉"},
		{"", ""},
	} {
		m := mustParse(t, format.Syslog{}, newEvent("m", core.String("k", tc.in)))
		require.Equal(t, []pair{{"k", tc.out}}, m.sd[0].raw, "%q", tc.in)
		require.Equal(t, []pair{{"k", tc.in}}, m.sd[0].params, "%q decodes back", tc.in)
	}
}

func TestSyslogWritesEachKind(t *testing.T) {
	for _, tc := range kindCases {
		t.Run(tc.name, func(t *testing.T) {
			m := mustParse(t, format.Syslog{}, newEvent("m", tc.field))
			// A value reads as Text writes it, unquoted.
			want := tc.text
			if strings.HasPrefix(want, `"`) {
				var err error
				want, err = strconv.Unquote(want)
				require.NoError(t, err)
			}
			require.Equal(t, []pair{{"k", want}}, m.sd[0].params)
		})
	}
}

func TestSyslogSanitisesParamNames(t *testing.T) {
	e := newEvent("m",
		core.String("a b=c]d\"e", "1"),
		core.String("", "2"),
		core.String("ключ", "3"),
		core.String(strings.Repeat("n", 40), "4"),
		core.Group(strings.Repeat("g", 30), core.String("key", "5")),
		core.Group("", core.String("inlined", "6")),
		core.Group("empty"),
		core.Err(nil),
		core.String("dup", "7"), core.String("dup", "8"),
	)
	m := mustParse(t, format.Syslog{}, e)
	require.Equal(t, []pair{
		{"a_b_c_d_e", "1"},
		{"_", "2"},
		{"________", "3"},
		{strings.Repeat("n", 32), "4"},
		{strings.Repeat("g", 30) + ".k", "5"},
		{"inlined", "6"},
		{"dup", "7"}, {"dup", "8"},
	}, m.sd[0].params)
}

func TestSyslogWritesCaller(t *testing.T) {
	var pcs [1]uintptr
	runtime.Callers(1, pcs[:])
	_, _, line, _ := runtime.Caller(0)
	e := newEvent("m", core.Int("n", 1))
	e.PC = pcs[0]
	m := mustParse(t, format.Syslog{}, e)
	require.Equal(t, []pair{{"caller", "format/syslog_test.go:" + strconv.Itoa(line-1)}, {"n", "1"}}, m.sd[0].params)
	m = mustParse(t, format.Syslog{SDID: "-"}, e)
	require.Equal(t, "m caller=format/syslog_test.go:"+strconv.Itoa(line-1)+" n=1", m.msg)
}

func TestSyslogWithoutParamsHasNoElement(t *testing.T) {
	e := newEvent("m", core.Err(nil), core.Group("g"))
	require.Equal(t, "<14>1 - - - - - - m\n", encode(format.Syslog{SDID: "x@1"}, e))
}

func TestSyslogDashSDIDPutsFieldsInMsg(t *testing.T) {
	enc := format.Syslog{SDID: "-", Hostname: "h"}
	require.Equal(t,
		`<12>1 2025-06-01T12:00:01.123456Z h - - - - disk almost full logger=storage service=api req.id=7 req.path="/var/\"data\"]\\x" req.used=0.93 req.dev.name=sda req.dev.ssd=true`+"\n",
		encode(enc, syslogEvent()))
	require.Equal(t, "<14>1 - h - - - - a=1\n", encode(enc, newEvent("", core.Int("a", 1))))
	require.Equal(t, "<14>1 - h - - - - m\n", encode(enc, newEvent("m")))
}

func TestSyslogEscapesMsg(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{"plain text", "plain text"},
		{`quotes " and \ and ] stay`, `quotes " and \ and ] stay`},
		{"two\nlines\r\n", `two\nlines\r\n`},
		{"forged\n<11>1 - - - - - - evil", `forged\n<11>1 - - - - - - evil`},
		{"\x1b[2J\x00", `\x1b[2J\x00`},
		{"bad \xff UTF-8", `bad \xff UTF-8`},
		{"sep \u2028 bidi \u202e", `sep \u2028 bidi \u202e`},
		{"ünïcödé", "ünïcödé"},
	} {
		m := mustParse(t, format.Syslog{}, newEvent(tc.in))
		require.Equal(t, tc.out, m.msg, "%q", tc.in)
	}
}

func TestSyslogBOM(t *testing.T) {
	require.Equal(t, "<14>1 - - - - - - \ufeffé\n", encode(format.Syslog{BOM: true}, newEvent("é")))
	require.Equal(t, "<14>1 - - - - - - \ufeff\n", encode(format.Syslog{BOM: true}, newEvent("")))
	require.Equal(t, "<14>1 - - - - - - é\n", encode(format.Syslog{}, newEvent("é")))
}

func TestSyslogCutsToMaxSize(t *testing.T) {
	head := "<14>1 - - - - - "
	t.Run("MSG", func(t *testing.T) {
		e := newEvent(strings.Repeat("x", 100), core.Int("a", 1))
		sd := `[shardlog@32473 a="1"] `
		full := head + sd + strings.Repeat("x", 100)
		for _, size := range []int{len(full) + 10, len(full), len(full) - 1, len(head + sd), len(head+sd) + 1} {
			got := encode(format.Syslog{MaxSize: size}, e)
			want := full
			if size < len(full) {
				want = full[:size]
			}
			if size == len(head+sd) {
				want = head + sd[:len(sd)-1] // no MSG, and no SP before it
			}
			require.Equal(t, want+"\n", got, "MaxSize %d", size)
			_, err := parseSyslog(strings.TrimSuffix(got, "\n"))
			require.NoError(t, err)
		}
	})
	t.Run("MSGOnRuneBoundary", func(t *testing.T) {
		e := newEvent("ab€") // € is three bytes
		for cut, want := range map[int]string{0: "", 1: "a", 2: "ab", 3: "ab", 4: "ab", 5: "ab€"} {
			size := len(head) + 2 + cut // "- " before MSG
			got := encode(format.Syslog{MaxSize: size}, e)
			if want == "" {
				require.Equal(t, head+"-\n", got)
				continue
			}
			require.Equal(t, head+"- "+want+"\n", got, "cut %d", cut)
		}
	})
	t.Run("Params", func(t *testing.T) {
		e := newEvent("message", core.String("a", `1]"`), core.String("b", "22"), core.String("c", "333"))
		open := head + `[shardlog@32473`
		pa, pb := ` a="1\]\""`, ` b="22"`
		for _, tc := range []struct {
			size int
			want string
		}{
			{len(open + pa + pb + `] `), open + pa + pb + `]`},                    // the third param and MSG go
			{len(open+pa+pb+`]`) - 1, open + pa + `]`},                            // one byte short of b
			{len(open + pa + `]`), open + pa + `]`},                               // just a
			{len(open+pa+`]`) - 1, head + "-"},                                    // not even a: no element
			{len(open + pa + pb + ` c="333"] m`), open + pa + pb + ` c="333"] m`}, // MSG cut to one byte
		} {
			got := encode(format.Syslog{MaxSize: tc.size}, e)
			require.Equal(t, tc.want+"\n", got, "MaxSize %d", tc.size)
			require.LessOrEqual(t, len(got)-1, tc.size)
			_, err := parseSyslog(tc.want)
			require.NoError(t, err)
		}
	})
	t.Run("HeaderTooLong", func(t *testing.T) {
		enc := format.Syslog{Hostname: strings.Repeat("h", 100), MaxSize: 50}
		got := encode(enc, newEvent("m", core.Int("a", 1)))
		require.Equal(t, "<14>1 - "+strings.Repeat("h", 100)+" - - - -\n", got, "kept whole, well formed")
	})
	t.Run("DashSDID", func(t *testing.T) {
		e := newEvent("msg", core.Int("a", 1))
		require.Equal(t, head+"- msg a\n", encode(format.Syslog{SDID: "-", MaxSize: len(head) + 7}, e))
	})
}

func TestSyslogAppendDoesNotAllocate(t *testing.T) {
	e := fullEvent()
	e.AddField(core.Group("g", core.Int("a", 1), core.Group("empty")))
	for name, enc := range map[string]format.Syslog{
		"Default": {Hostname: "h", AppName: "a", ProcID: "1"},
		"Dash":    {SDID: "-"},
		"Cut":     {MaxSize: 500},
		"BadHost": {Hostname: "a b"},
	} {
		t.Run(name, func(t *testing.T) {
			dst := make([]byte, 0, 4096)
			allocs := testing.AllocsPerRun(100, func() {
				dst = enc.Append(dst[:0], e)
			})
			require.Zero(t, allocs, "%s", dst)
		})
	}
}

func TestSyslogHostileStrings(t *testing.T) {
	for _, s := range hostileStrings() {
		e := fuzzEvent(s, s, s, []byte(s))
		for _, enc := range []format.Syslog{{}, {SDID: "-"}, {MaxSize: 480}} {
			m := mustParse(t, enc, e)
			switch {
			case enc.SDID == "-":
				require.Nil(t, m.sd, "SDID \"-\": no structured data")
				require.True(t, m.hasMsg, "the message survives %q", s)
			case enc.MaxSize > 0:
				require.LessOrEqual(t, len(encode(enc, e))-1, enc.MaxSize, "cut to MaxSize (the '\\n' aside)")
			default:
				checkFuzzParams(t, m, s, s, s, []byte(s))
			}
		}
	}
}

// checkFuzzParams checks the parameters of fuzzEvent's message.
func checkFuzzParams(t *testing.T, m syslogMsg, msg, key, val string, b []byte) {
	t.Helper()
	require.Len(t, m.sd, 1)
	got := m.sd[0].params
	name := func(path ...string) string {
		n := []byte(strings.Join(path, "."))
		if len(n) > 32 {
			n = n[:32]
		}
		for i, c := range n {
			if c < 33 || c > 126 || c == '=' || c == ']' || c == '"' {
				n[i] = '_'
			}
		}
		if len(n) == 0 {
			return "_"
		}
		return string(n)
	}
	want := []pair{}
	if val != "" {
		want = append(want, pair{"logger", val})
	}
	want = append(want,
		pair{"w", val},
		pair{"f.s", val},
		pair{"f.b", string(b)},
		pair{name("f", "k", key), val},
	)
	if key == "" {
		want = append(want, pair{"f.x.n", "1"})
	} else {
		want = append(want, pair{name("f", "x", key, "n"), "1"})
	}
	require.Equal(t, want, got)
	if !strings.Contains(msg, `\`) {
		// Without backslashes MSG decodes back, as a Go string would.
		back, err := strconv.Unquote(`"` + strings.ReplaceAll(m.msg, `"`, `\"`) + `"`)
		require.NoError(t, err)
		require.Equal(t, msg, back)
	}
}

func FuzzSyslog(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, msg, key, val string, b []byte) {
		e := fuzzEvent(msg, key, val, b)
		checkFuzzParams(t, mustParse(t, format.Syslog{Hostname: val, AppName: key}, e), msg, key, val, b)
		mustParse(t, format.Syslog{SDID: "-", BOM: true}, e)
		for _, size := range []int{480, 600, 1000} {
			line := encode(format.Syslog{MaxSize: size}, e)
			require.LessOrEqual(t, len(line)-1, size)
			_, err := parseSyslog(line[:len(line)-1])
			require.NoError(t, err, "%q", line)
		}
	})
}
