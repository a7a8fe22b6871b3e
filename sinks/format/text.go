package format

import (
	"time"

	"github.com/shardlog/shardlog/core"
)

// Text encodes each event as one logfmt line, as slog's TextHandler
// writes it: key=value pairs separated by single spaces, then '\n'.
//
// The pairs come in this order: time, level, logger, caller, message
// (each under its name in Keys), then the fields of the event's Scope and
// the event's own fields. Groups, from the scope or from Group fields, are
// flattened into dotted keys: req.id=7. Duplicate keys are written as
// given.
//
// A key or value is written bare when it is printable and holds no space,
// '=' or '"'; otherwise, or when empty, it is quoted with Go's escapes
// (\n, \r, \t, \", \\, \x1b, \x7f, \u009b, \u2028, ...), so that
// strconv.Unquote restores it exactly: bytes that are not UTF-8 are kept
// as \xNN rather than replaced. Keys are quoted by the same rule, as slog
// does, rather than altered; a dotted key is quoted as a whole when any
// part of it needs quotes. The line therefore holds only printable UTF-8
// and cannot be split or forged by a value, nor drive a terminal.
//
// Values by kind follow JSON (see JSON), unquoted where possible: NaN,
// +Inf and -Inf bare; times in time.RFC3339Nano; durations as
// time.Duration.String writes them; Bytes as text; Any as its JSON text.
//
// The zero Text is ready to use. Text is comparable and safe for
// concurrent use.
type Text struct {
	// Keys names the entries before the fields; zero means DefaultKeys().
	Keys Keys
	// TimeFormat is the time.Time layout of the event time; empty means
	// DefaultTimeFormat. It is applied in the time's own location, and
	// the result is quoted when the layout produces spaces.
	TimeFormat string
}

// Append appends e as one logfmt line to dst and returns the extended
// buffer. It does not retain dst or e.
func (t Text) Append(dst []byte, e *core.Event) []byte {
	k := t.Keys.orDefault()
	line := len(dst)
	if k.Time != "" && !e.Time.IsZero() {
		dst = appendTextKey(dst, line, nil, k.Time)
		start := len(dst)
		dst = appendTime(dst, e.Time, timeLayout(t.TimeFormat))
		if len(dst) == start || !textIsBare(view(dst[start:])) {
			dst = rewrite(dst, start, appendTextQuoted)
		}
	}
	if k.Level != "" {
		dst = appendTextKey(dst, line, nil, k.Level)
		dst = appendTextString(dst, e.Level.String())
	}
	if k.Logger != "" && e.Logger != "" {
		dst = appendTextKey(dst, line, nil, k.Logger)
		dst = appendTextString(dst, e.Logger)
	}
	if k.Caller != "" {
		if file, n, ok := callerOf(e); ok {
			dst = appendTextKey(dst, line, nil, k.Caller)
			quote := !textIsBare(file)
			if quote {
				dst = append(dst, '"')
				dst = appendTextEscaped(dst, file)
			} else {
				dst = append(dst, file...)
			}
			dst = append(dst, ':')
			dst = appendInt(dst, int64(n))
			if quote {
				dst = append(dst, '"')
			}
		}
	}
	if k.Message != "" {
		dst = appendTextKey(dst, line, nil, k.Message)
		dst = appendTextString(dst, e.Message)
	}
	var frames []core.Frame
	if e.Scope != nil {
		frames = e.Scope.Frames
	}
	var path [maxFlatDepth]string
	dst = appendTextFrames(dst, line, path[:0], frames, e.Fields())
	return append(dst, '\n')
}

// maxFlatDepth is how many group names a dotted key holds without
// allocating: the names are kept in an array on Append's stack.
const maxFlatDepth = 16

// appendTextFrames appends the scope frames from the outermost in, each
// named frame adding its name to path, and own under the innermost. Empty
// groups need no special care: a group writes nothing but its fields.
func appendTextFrames(dst []byte, line int, path []string, frames []core.Frame, own []core.Field) []byte {
	for i := range frames {
		if g := frames[i].Group; g != "" {
			path = append(path, g)
		}
		dst = appendTextFields(dst, line, path, frames[i].Fields)
	}
	return appendTextFields(dst, line, path, own)
}

func appendTextFields(dst []byte, line int, path []string, fields []core.Field) []byte {
	for i := range fields {
		f := &fields[i]
		switch f.Kind() {
		case core.KindEmpty:
			continue
		case core.KindGroup:
			if f.Key == "" {
				dst = appendTextFields(dst, line, path, f.Group())
			} else {
				// Siblings reuse the same slot of path's array in turn.
				dst = appendTextFields(dst, line, append(path, f.Key), f.Group())
			}
			continue
		}
		dst = appendTextKey(dst, line, path, f.Key)
		dst = appendTextValue(dst, f)
	}
	return dst
}

// appendTextKey appends the separating space, unless the pair starts the
// line at index line, then the key prefixed by the group names in path,
// and '='.
func appendTextKey(dst []byte, line int, path []string, key string) []byte {
	if len(dst) > line {
		dst = append(dst, ' ')
	}
	bare := textIsBare(key) && (key != "" || len(path) > 0)
	for _, g := range path {
		bare = bare && textIsBare(g)
	}
	if bare {
		for _, g := range path {
			dst = append(dst, g...)
			dst = append(dst, '.')
		}
		dst = append(dst, key...)
		return append(dst, '=')
	}
	dst = append(dst, '"')
	for _, g := range path {
		dst = appendTextEscaped(dst, g)
		dst = append(dst, '.')
	}
	dst = appendTextEscaped(dst, key)
	return append(dst, '"', '=')
}

func appendTextValue(dst []byte, f *core.Field) []byte {
	switch f.Kind() {
	case core.KindString, core.KindError, core.KindBytes, core.KindAny:
		return appendTextString(dst, f.Str())
	}
	if out, ok := appendPlainScalar(dst, f); ok {
		return out
	}
	// A kind this encoder does not know: keep the pair well formed.
	return append(dst, '"', '"')
}

// appendPlainScalar appends a number, bool, time or duration as logfmt
// and syslog write it, bare: RFC 3339 times, Go durations, NaN and ±Inf
// by name. ok is false for the text kinds and kinds it does not know.
func appendPlainScalar(dst []byte, f *core.Field) (out []byte, ok bool) {
	switch f.Kind() {
	case core.KindInt64:
		return appendInt(dst, f.Int64()), true
	case core.KindUint64:
		return appendUint(dst, f.Uint64()), true
	case core.KindFloat64:
		v := f.Float64()
		if name := nonFinite(v); name != "" {
			return append(dst, name...), true
		}
		return appendFloat(dst, v), true
	case core.KindBool:
		return appendBool(dst, f.Bool()), true
	case core.KindTime:
		// RFC 3339 output is bare: digits and "-:.TZ+".
		return f.Time().AppendFormat(dst, time.RFC3339Nano), true
	case core.KindDuration:
		// Bare too: digits, '.', '-' and the printable units.
		return appendDuration(dst, f.Duration()), true
	}
	return dst, false
}
