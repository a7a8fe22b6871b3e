package stress

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/core"
)

// Hostile values, each with the outcome core documents for it (core/render.go,
// core/field.go, core/footprint.go; sinks/format for the encoding).

type cyclic struct {
	Name string
	Next *cyclic
}

type panicStringer struct{}

func (panicStringer) String() string { panic("stringer boom") }

type panicMarshaler struct{}

func (panicMarshaler) MarshalJSON() ([]byte, error) { panic("marshal boom") }

type invalidMarshaler struct{}

func (invalidMarshaler) MarshalJSON() ([]byte, error) { return []byte("{not json"), nil }

type panicError struct{}

func (panicError) Error() string { panic("error boom") }

type derefStringer struct{ s string }

func (d *derefStringer) String() string { return d.s } // panics on a nil receiver

type panicValuer struct{}

func (panicValuer) LogValue() slog.Value { panic("logvalue boom") }

type selfValuer struct{}

func (v selfValuer) LogValue() slog.Value { return slog.AnyValue(v) }

// reentrant logs through the same engine from inside its String method,
// which the slog handler calls inside Handle: a log call nested in a log
// call. The nested event is producer p+innerBase's next one.
type reentrant struct {
	log  *shardlog.Logger
	p    int
	next *int64
}

const innerBase = 1000

func (r reentrant) String() string {
	r.log.Info("inner", shardlog.Int("p", innerBase+r.p), shardlog.Int64("s", *r.next))
	*r.next++
	return "outer-done"
}

var (
	cyclicMap   = func() map[string]any { m := map[string]any{"k": 1}; m["self"] = m; return m }()
	cyclicSlice = func() []any { s := make([]any, 2); s[0] = "x"; s[1] = s; return s }()
	cyclicPtr   = func() *cyclic { c := &cyclic{Name: "c"}; c.Next = c; return c }()
	deepValue   = func() any {
		var v any = "bottom"
		for range 40 {
			v = map[string]any{"d": v}
		}
		return v
	}()
	tooBig   = make([]int, 20000)
	hugeMsg  = strings.Repeat("m", 3<<20)
	hugeBad  = strings.Repeat("\xff", 3<<19)
	controls = "line1\nline2\r\x1b[31mred\x00nul\u2028sep\x7f"
)

// hostileCase is one hostile call and what its JSON record must hold.
type hostileCase struct {
	name         string
	placeholders int // placeholder fields the call makes (core.Placeholders)
	once         int // >0: megabytes, logged in the first round by this many producers only
	log          func(l *shardlog.Logger, sl *slog.Logger, p int, s int64, next *int64)
	check        func(m map[string]any, slogJSON bool) string
}

// str is m[k] as a string, "" when absent or not a string.
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func expectPrefix(k, prefix string) func(m map[string]any, _ bool) string {
	return func(m map[string]any, _ bool) string {
		if !strings.HasPrefix(str(m, k), prefix) {
			return fmt.Sprintf("%s = %q, want the prefix %q", k, m[k], prefix)
		}
		return ""
	}
}

func expectContains(k, part string) func(m map[string]any, _ bool) string {
	return func(m map[string]any, _ bool) string {
		if !strings.Contains(str(m, k), part) {
			return fmt.Sprintf("%s = %.200q, want it to contain %q", k, m[k], part)
		}
		return ""
	}
}

// replaceInvalid is s with each byte of invalid UTF-8 replaced by U+FFFD,
// as the JSON encoders write it.
func replaceInvalid(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func id(p int, s int64) []shardlog.Field {
	return []shardlog.Field{shardlog.Int("p", p), shardlog.Int64("s", s)}
}

func hostileCases() []hostileCase {
	any1 := func(v any) func(l *shardlog.Logger, _ *slog.Logger, p int, s int64, _ *int64) {
		return func(l *shardlog.Logger, _ *slog.Logger, p int, s int64, _ *int64) {
			l.Info("any", append(id(p, s), shardlog.Any("v", v))...)
		}
	}
	return []hostileCase{
		{"cyclic-map", 1, 0, any1(cyclicMap), expectPrefix("v", "!CYCLE(map[string]interface {})")},
		{"cyclic-slice", 1, 0, any1(cyclicSlice), expectPrefix("v", "!CYCLE([]interface {})")},
		{"cyclic-pointer", 1, 0, any1(cyclicPtr), expectPrefix("v", "!CYCLE(*stress.cyclic)")},
		{"too-deep", 1, 0, any1(deepValue), expectPrefix("v", "!DEPTH>32(")},
		{"too-big", 1, 0, any1(tooBig), expectPrefix("v", "!TOOBIG>10000([]int)")},
		{"panicking-String", 1, 0, any1(panicStringer{}), expectPrefix("v", "!PANIC: stringer boom")},
		{"panicking-MarshalJSON", 1, 0, any1(panicMarshaler{}), expectContains("v", "marshal boom")},
		{"invalid-MarshalJSON", 1, 0, any1(invalidMarshaler{}), expectPrefix("v", "!ERROR: ")},
		{"unsupported-chan", 1, 0, any1(make(chan int)), expectPrefix("v", "!ERROR: ")},
		{"nil-receiver-String", 1, 0, any1((*derefStringer)(nil)), expectPrefix("v", "!PANIC: ")},
		{"panicking-Error", 1, 0, func(l *shardlog.Logger, _ *slog.Logger, p int, s int64, _ *int64) {
			l.Info("err", append(id(p, s), shardlog.Err(panicError{}))...)
		}, expectPrefix("error", "!PANIC: error boom")},
		{"nil-pointer", 0, 0, any1((*cyclic)(nil)), func(m map[string]any, _ bool) string {
			if v, ok := m["v"]; !ok || v != nil {
				return fmt.Sprintf("v = %#v, want null", v)
			}
			return ""
		}},
		{"nil-interface", 0, 0, any1(nil), func(m map[string]any, _ bool) string {
			if v, ok := m["v"]; !ok || v != nil {
				return fmt.Sprintf("v = %#v, want null", v)
			}
			return ""
		}},
		{"nil-error", 0, 0, func(l *shardlog.Logger, _ *slog.Logger, p int, s int64, _ *int64) {
			l.Info("nil error", append(id(p, s), shardlog.Err(nil), shardlog.NamedErr("cause", nil))...)
		}, func(m map[string]any, _ bool) string {
			if _, ok := m["error"]; ok {
				return "a nil error is an empty field, left out"
			}
			if _, ok := m["cause"]; ok {
				return "a nil NamedErr is an empty field, left out"
			}
			return ""
		}},
		{"NaN", 0, 0, func(l *shardlog.Logger, _ *slog.Logger, p int, s int64, _ *int64) {
			l.Info("nan", append(id(p, s), shardlog.Float64("f", math.NaN()), shardlog.Float64("i", math.Inf(-1)))...)
		}, func(m map[string]any, slogJSON bool) string {
			// format.JSON writes them as strings; format.SlogJSON as
			// log/slog's JSON handler does, an error text.
			f, i := "NaN", "-Inf"
			if slogJSON {
				f, i = "!ERROR:json: unsupported value: NaN", "!ERROR:json: unsupported value: -Inf"
			}
			if str(m, "f") != f || str(m, "i") != i {
				return fmt.Sprintf("f = %#v, i = %#v, want %q and %q", m["f"], m["i"], f, i)
			}
			return ""
		}},
		{"invalid-UTF-8", 0, 0, func(l *shardlog.Logger, _ *slog.Logger, p int, s int64, _ *int64) {
			l.Info("bad \xff\xfe msg", append(id(p, s), shardlog.String("k\xff", "v\xc3"), shardlog.Bytes("b", []byte{'x', 0xff}))...)
		}, func(m map[string]any, _ bool) string {
			if str(m, "msg") != replaceInvalid("bad \xff\xfe msg") || str(m, replaceInvalid("k\xff")) != replaceInvalid("v\xc3") {
				return fmt.Sprintf("msg %q, k\\ufffd %q: invalid bytes become U+FFFD", m["msg"], m["k\ufffd"])
			}
			return ""
		}},
		{"control-characters", 0, 0, func(l *shardlog.Logger, _ *slog.Logger, p int, s int64, _ *int64) {
			l.Info(controls, append(id(p, s), shardlog.String("a\nb", controls))...)
		}, func(m map[string]any, _ bool) string {
			if str(m, "msg") != controls || str(m, "a\nb") != controls {
				return fmt.Sprintf("msg %q: control characters are escaped, not lost", m["msg"])
			}
			return ""
		}},
		{"huge-message", 0, 2, func(l *shardlog.Logger, _ *slog.Logger, p int, s int64, _ *int64) {
			l.Info(hugeMsg, id(p, s)...)
		}, func(m map[string]any, _ bool) string {
			msg := str(m, "msg")
			kept, marker, ok := strings.Cut(msg, "…[truncated ")
			if !ok || marker != fmt.Sprintf("%d bytes]", len(hugeMsg)-len(kept)) || len(msg) > shardlog.DefaultMaxEventBytes+core.TruncationSlack {
				return fmt.Sprintf("a %d-byte message must be cut to the limit and say how much was cut; got %d bytes ending %q", len(hugeMsg), len(msg), msg[max(0, len(msg)-40):])
			}
			return ""
		}},
		{"huge-invalid-UTF-8", 0, 1, func(l *shardlog.Logger, _ *slog.Logger, p int, s int64, _ *int64) {
			l.Info("huge bad", append(id(p, s), shardlog.String("v", hugeBad))...)
		}, func(m map[string]any, _ bool) string {
			v := str(m, "v")
			kept, _, ok := strings.Cut(v, "…[truncated ")
			if !ok || strings.Trim(kept, "\ufffd") != "" || len(kept)/3 > shardlog.DefaultMaxEventBytes {
				return fmt.Sprintf("a %d-byte invalid value must be cut, marked and written as U+FFFD; got %d bytes", len(hugeBad), len(v))
			}
			return ""
		}},
		{"slog-panicking-LogValue", 0, 0, func(_ *shardlog.Logger, sl *slog.Logger, p int, s int64, _ *int64) {
			sl.Info("valuer", "p", p, "s", s, "v", panicValuer{})
		}, expectContains("v", "LogValue panicked")},
		{"slog-LogValue-returning-itself", 0, 0, func(_ *shardlog.Logger, sl *slog.Logger, p int, s int64, _ *int64) {
			sl.Info("valuer", "p", p, "s", s, "v", selfValuer{})
		}, expectContains("v", "LogValue called too many times")},
		{"slog-invalid-UTF-8", 0, 0, func(_ *shardlog.Logger, sl *slog.Logger, p int, s int64, _ *int64) {
			sl.Info("slog \xff", "p", p, "s", s, "k\xfe", "v\xff")
		}, func(m map[string]any, _ bool) string {
			if str(m, "msg") != replaceInvalid("slog \xff") || str(m, replaceInvalid("k\xfe")) != replaceInvalid("v\xff") {
				return fmt.Sprintf("msg %q: invalid bytes become U+FFFD", m["msg"])
			}
			return ""
		}},
		{"slog-reentrant-String", 0, 0, func(l *shardlog.Logger, sl *slog.Logger, p int, s int64, next *int64) {
			sl.Info("outer", "p", p, "s", s, "v", reentrant{log: l, p: p, next: next})
		}, func(m map[string]any, _ bool) string {
			if str(m, "v") != "outer-done" {
				return fmt.Sprintf("v = %#v, want the String result", m["v"])
			}
			return ""
		}},
	}
}

// lockedBuffer is an io.Writer for a sink, read once the engine is shut
// down.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(t *testing.T) [][]byte {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	data := l.b.Bytes()
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("the output does not end with a complete line: %.100q", data[max(0, len(data)-100):])
	}
	return bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

// Hostile values logged concurrently by many goroutines, through the
// Logger and the slog handler, into a JSON, a slog-JSON and a text sink.
// No call panics and the process survives; every record of the JSON sinks
// is one line of valid UTF-8 that encoding/json parses, and holds what
// core documents for its value (placeholders for cycles, depth, size,
// panics and marshal errors; null for nil; nothing for a nil error;
// U+FFFD for invalid UTF-8; cut and marked past the event limit); the text
// sink writes exactly one valid UTF-8 line per event; a log call nested in
// a log call (from a String method the handler runs) is delivered too;
// placeholders are counted exactly; nothing is lost (Block).
func TestHostileValuesUnderConcurrency(t *testing.T) {
	var jsonOut, slogOut, textOut lockedBuffer
	jsonSink, err := shardlog.NewWriter(&jsonOut, shardlog.JSON{})
	require.NoError(t, err)
	slogSink, err := shardlog.NewWriter(&slogOut, shardlog.SlogJSON{})
	require.NoError(t, err)
	textSink, err := shardlog.NewWriter(&textOut, shardlog.Text{})
	require.NoError(t, err)
	e, err := shardlog.New(shardlog.WithOverflow(shardlog.Block), shardlog.WithBlockTimeout(time.Minute),
		shardlog.WithSink(jsonSink, shardlog.SinkName("json")),
		shardlog.WithSink(slogSink, shardlog.SinkName("slog")),
		shardlog.WithSink(textSink, shardlog.SinkName("text")))
	require.NoError(t, err)

	cases := hostileCases()
	n, rounds := producers(), scaled(30)
	counts := make([]int64, n)
	inner := make([]int64, n)
	var wantPlaceholders atomic.Int64
	before := core.Placeholders()
	caseOf := make([][]int, n) // per producer, the case of each call
	run(t, n, func(p int) {
		l := e.Logger()
		sl := slog.New(shardlog.NewHandler(l, nil))
		for r := range rounds {
			for c, hc := range cases {
				if hc.once > 0 && (r > 0 || p >= hc.once) {
					continue
				}
				hc.log(l, sl, p, counts[p], &inner[p])
				caseOf[p] = append(caseOf[p], c)
				counts[p]++
				wantPlaceholders.Add(int64(hc.placeholders))
			}
		}
	})
	rep := shutdown(t, e)
	require.Equal(t, uint64(wantPlaceholders.Load()), core.Placeholders()-before, "every placeholder counted, once")
	require.Equal(t, rep.Placeholders, core.Placeholders(), "the report counts placeholders process-wide")

	total := sum(counts) + sum(inner)
	for _, out := range []struct {
		name string
		buf  *lockedBuffer
		json bool
	}{{"json", &jsonOut, true}, {"slog", &slogOut, true}, {"text", &textOut, false}} {
		s := sinkStats(t, rep, out.name)
		lines := out.buf.lines(t)
		requireExact(t, s, total, len(lines))
		require.Equal(t, s.Accepted, s.Written, "%s: Block: nothing lost", out.name)
		seen := make(map[[2]int64]bool, len(lines))
		for i, line := range lines {
			if !utf8.Valid(line) {
				t.Fatalf("%s: line %d is not valid UTF-8: %.200q", out.name, i, line)
			}
			if !out.json {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatalf("%s: line %d does not parse: %v: %.300q", out.name, i, err, line)
			}
			p, okP := m["p"].(float64)
			seq, okS := m["s"].(float64)
			if !okP || !okS {
				t.Fatalf("%s: line %d has no identity: %.300q", out.name, i, line)
			}
			key := [2]int64{int64(p), int64(seq)}
			if seen[key] {
				t.Fatalf("%s: event %v written twice", out.name, key)
			}
			seen[key] = true
			if p >= innerBase {
				require.Equal(t, "inner", str(m, "msg"))
				continue
			}
			hc := cases[caseOf[int(p)][int(seq)]]
			if msg := hc.check(m, out.name == "slog"); msg != "" {
				t.Fatalf("%s: case %s (producer %v, call %v): %s", out.name, hc.name, p, seq, msg)
			}
		}
	}
}
