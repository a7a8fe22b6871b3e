package format

import (
	"encoding/base64"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/shardlog/shardlog/core"
)

// SlogJSON encodes each event as log/slog's JSON handler writes the same
// record: slog.NewJSONHandler(w, nil), or with
// &slog.HandlerOptions{AddSource: true} when AddSource is set. Tools built
// for slog's output read it unchanged.
//
// It is a type of its own rather than an option of JSON because slog's
// layout is fixed: JSON's Keys and TimeFormat would mean nothing here. It
// shares JSON's string escaping and group walk.
//
// JSON stays the default encoder of the package. Pick JSON for logs read
// by people and by shardlog's own tools: durations name their unit
// ("1.5s"), times have a fixed width and bytes stay readable. Pick SlogJSON
// when the logs feed something that already parses slog's JSON (or moves
// from slog to shardlog), so that not one byte of the output changes.
//
// The object holds "time", "level", "msg", then "source" (AddSource and a
// call site), then the fields of the event's Scope and its own fields,
// nested as slog nests WithGroup and group attributes; empty groups are
// left out, unnamed groups inlined, and a zero time is left out, as slog
// does. Values are written as slog writes them:
//   - time and Time fields: time.RFC3339Nano in the value's own location.
//   - level: slog.Level's name ("DEBUG-4" for Trace, "ERROR+4" for Fatal).
//   - Duration: integer nanoseconds; Bytes: base64, as encoding/json does.
//   - Float64: as encoding/json; NaN and ±Inf, which json.Marshal refuses,
//     as the error text slog writes for them:
//     "!ERROR:json: unsupported value: NaN" (+Inf, -Inf).
//   - Error: its message; String, Int64, Uint64, Bool: as JSON.
//   - Any: the field's JSON text, with the \u003c, \u003e and \u0026
//     escapes of json.Marshal undone, since slog's encoder does not escape
//     HTML.
//
// The logger name, which slog lacks, is written after "msg" as
// "logger":"name", left out for the root logger: the bytes slog writes for
// a logger made with With("logger", name), the usual slog idiom.
//
// The bytes differ from slog's in three cases only:
//   - DEL and the C1 controls U+0080–U+009F, which slog writes raw, are
//     escaped (\u007f), as core.Encoder requires; the values agree.
//   - A record time outside years 0–9999, for which slog writes an error
//     string and the time string side by side (not JSON), is written as
//     the time string alone.
//   - HTML escapes that a MarshalJSON method wrote itself, which slog
//     keeps, are undone too: they look like json.Marshal's. The values
//     agree.
//
// Values that core.Any captures otherwise than slog marshals them (a nil
// []byte, a fmt.Stringer with no JSON or text method) differ accordingly.
//
// The zero SlogJSON is ready to use. SlogJSON is comparable and safe for
// concurrent use.
type SlogJSON struct {
	// AddSource writes slog's "source" object (function, file, line) for
	// events that carry a call site. Events carry one only when the engine
	// captures callers (WithCaller, or HandlerOptions.AddSource), so set
	// both, as slog's own AddSource does both jobs. The frame lookup
	// allocates.
	AddSource bool
}

// Append appends e as one JSON line to dst and returns the extended
// buffer. It does not retain dst or e.
func (s SlogJSON) Append(dst []byte, e *core.Event) []byte {
	dst = append(dst, '{')
	if !e.Time.IsZero() {
		dst = append(dst, `"time":"`...)
		dst = e.Time.AppendFormat(dst, time.RFC3339Nano) // plain ASCII
		dst = append(dst, '"')
	}
	dst = appendJSONKey(dst, "level")
	dst = appendSlogLevel(dst, e.Level)
	if s.AddSource && e.PC != 0 {
		dst = appendSlogSource(dst, e)
	}
	dst = appendJSONKey(dst, "msg")
	dst = appendJSONString(dst, e.Message)
	if e.Logger != "" {
		dst = appendJSONKey(dst, "logger")
		dst = appendJSONString(dst, e.Logger)
	}
	var frames []core.Frame
	if e.Scope != nil {
		frames = e.Scope.Frames
	}
	dst = appendJSONFrames(dst, frames, e.Fields(), true)
	return append(dst, '}', '\n')
}

// appendSlogLevel appends l as slog.Level.String writes it, without its
// allocation: the named level at or below l, and the offset from it.
func appendSlogLevel(dst []byte, l core.Level) []byte {
	base, d := "ERROR", l-core.LevelError
	switch {
	case l < core.LevelInfo:
		base, d = "DEBUG", l-core.LevelDebug
	case l < core.LevelWarn:
		base, d = "INFO", l-core.LevelInfo
	case l < core.LevelError:
		base, d = "WARN", l-core.LevelWarn
	}
	dst = append(dst, '"')
	dst = append(dst, base...)
	if d > 0 {
		dst = append(dst, '+')
	}
	if d != 0 {
		dst = appendInt(dst, int64(d))
	}
	return append(dst, '"')
}

// appendSlogSource appends slog's source object, leaving out the parts
// the frame lacks and the whole object when it lacks all, as slog does.
func appendSlogSource(dst []byte, e *core.Event) []byte {
	f, _ := e.Frame()
	if f.Function == "" && f.File == "" && f.Line == 0 {
		return dst
	}
	dst = appendJSONKey(dst, "source")
	dst = append(dst, '{')
	if f.Function != "" {
		dst = appendJSONKey(dst, "function")
		dst = appendJSONString(dst, f.Function)
	}
	if f.File != "" {
		dst = appendJSONKey(dst, "file")
		dst = appendJSONString(dst, f.File)
	}
	if f.Line != 0 {
		dst = appendJSONKey(dst, "line")
		dst = appendInt(dst, int64(f.Line))
	}
	return append(dst, '}')
}

// appendSlogValue appends f's value as slog's JSON handler writes it.
// The kinds written alike by both encoders are left to appendJSONValue.
func appendSlogValue(dst []byte, f *core.Field) []byte {
	switch f.Kind() {
	case core.KindFloat64:
		v := f.Float64()
		if name := nonFinite(v); name != "" {
			// slog writes json.Marshal's error as the value.
			dst = append(dst, `"!ERROR:json: unsupported value: `...)
			dst = append(dst, name...)
			return append(dst, '"')
		}
		return appendFloat(dst, v) // encoding/json's rule too
	case core.KindDuration:
		return appendInt(dst, int64(f.Duration()))
	case core.KindBytes:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, bytesOf(f.Str()))
		return append(dst, '"')
	case core.KindAny:
		return appendSlogRaw(dst, f.Str())
	}
	return appendJSONValue(dst, f)
}

// bytesOf returns s as a byte slice without copying; it must only be
// read.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// appendSlogRaw appends s, the JSON text of a KindAny field (json.Marshal
// output, HTML escaped), as slog's encoder would have written the value:
// inside strings, the escapes \u003c, \u003e and \u0026 become '<', '>'
// and '&' again. DEL, the C1 controls and U+2028/U+2029 inside strings
// are escaped and invalid UTF-8 is replaced, which keeps the value and
// the no-raw-control rule. Text that is still not one embeddable value
// is written as a string, as JSON does.
func appendSlogRaw(dst []byte, s string) []byte {
	start := len(dst)
	inString := false
	run := 0 // start of the bytes not yet copied
	for i := 0; i < len(s); {
		c := s[i]
		if !inString {
			inString = c == '"'
			i++
			continue
		}
		switch {
		case c == '"':
			inString = false
			i++
		case c == '\\':
			if i+6 <= len(s) && s[i+1] == 'u' && s[i+2] == '0' && s[i+3] == '0' {
				if h := htmlChar(s[i+4], s[i+5]); h != 0 {
					dst = append(dst, s[run:i]...)
					dst = append(dst, h)
					i += 6
					run = i
					continue
				}
			}
			i += 2 // the escaped byte cannot end the string
		case c < utf8.RuneSelf:
			if c == 0x7f {
				dst = append(dst, s[run:i]...)
				dst = append(dst, `\u007f`...)
				run = i + 1
			}
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				dst = append(dst, s[run:i]...)
				dst = append(dst, `\ufffd`...)
				run = i + size
			case r <= 0x9f || r == '\u2028' || r == '\u2029':
				dst = append(dst, s[run:i]...)
				dst = append(dst, '\\', 'u', hexDigits[r>>12], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
				run = i + size
			}
			i += size
		}
	}
	if run < len(s) {
		dst = append(dst, s[run:]...)
	}
	if !embeddable(view(dst[start:])) {
		return appendJSONString(dst[:start], s)
	}
	return dst
}

// htmlChar returns the character json.Marshal escapes as \u00 followed by
// hi and lo, or 0 for any other escape.
func htmlChar(hi, lo byte) byte {
	switch {
	case hi == '3' && lo == 'c':
		return '<'
	case hi == '3' && lo == 'e':
		return '>'
	case hi == '2' && lo == '6':
		return '&'
	}
	return 0
}
