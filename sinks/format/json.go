package format

import (
	"time"

	"github.com/shardlog/shardlog/core"
)

// JSON encodes each event as one JSON object followed by '\n'.
//
// The object holds, in this order: time, level, logger, caller, message
// (each under its name in Keys), then the fields of the event's Scope and
// the event's own fields, nested under the scope's groups. Members are
// written as given, so a key repeated by the caller appears twice; JSON
// allows it, most decoders keep the last, and dropping duplicates would
// need a set per event.
//
// The output is valid UTF-8 JSON for every event. Strings escape what
// JSON requires (quote, backslash, bytes below 0x20) and also DEL, the C1
// controls and U+2028/U+2029, so that no raw terminal control reaches a
// log file; invalid UTF-8 becomes \ufffd. HTML characters stay as they
// are. Values by kind:
//   - String, Error, Bytes: strings; Bytes are text, not base64.
//   - Int64, Uint64, Bool: numbers and booleans.
//   - Float64: the shortest number that reads back the same; NaN and the
//     infinities, which JSON lacks, as the strings "NaN", "+Inf", "-Inf".
//   - Time: a string in time.RFC3339Nano, in the value's own location.
//   - Duration: a string as time.Duration.String writes it ("1.5s"). It
//     names its unit and reads back with time.ParseDuration, where slog's
//     integer nanoseconds would leave the reader to guess the unit; both
//     encoders then agree.
//   - Any: its JSON text, embedded as it is when it is one valid value
//     with nothing to escape (core.Any's output nearly always is), or else
//     as a string, which keeps the line valid.
//   - Group: a nested object; see the package doc for empty and unnamed
//     groups.
//
// For the exact bytes of slog's JSONHandler, use SlogJSON.
//
// The zero JSON is ready to use. JSON is comparable and safe for
// concurrent use.
type JSON struct {
	// Keys names the entries before the fields; zero means DefaultKeys().
	Keys Keys
	// TimeFormat is the time.Time layout of the event time; empty means
	// DefaultTimeFormat. It is applied in the time's own location.
	TimeFormat string
}

// Append appends e as one JSON line to dst and returns the extended
// buffer. It does not retain dst or e.
func (j JSON) Append(dst []byte, e *core.Event) []byte {
	if j.Keys.isZero() && j.TimeFormat == "" {
		dst = j.appendDefaultHead(dst, e)
	} else {
		dst = j.appendHead(dst, e)
	}
	var frames []core.Frame
	if e.Scope != nil {
		frames = e.Scope.Frames
	}
	dst = appendJSONFrames(dst, frames, e.Fields(), false)
	return append(dst, '}', '\n')
}

// appendDefaultHead is appendHead for the default keys and time layout,
// with the keys and the named levels written as pre-quoted constants
// instead of escaped on every event.
func (j JSON) appendDefaultHead(dst []byte, e *core.Event) []byte {
	dst = append(dst, '{')
	if !e.Time.IsZero() {
		dst = append(dst, `"time":"`...)
		dst = appendTime(dst, e.Time, DefaultTimeFormat)
		dst = append(dst, '"')
	}
	if dst[len(dst)-1] != '{' {
		dst = append(dst, ',')
	}
	if q := quotedLevel(e.Level); q != "" {
		dst = append(dst, `"level":`...)
		dst = append(dst, q...)
	} else {
		dst = append(dst, `"level":`...)
		dst = appendJSONString(dst, e.Level.String())
	}
	if e.Logger != "" {
		dst = append(dst, `,"logger":`...)
		dst = appendJSONString(dst, e.Logger)
	}
	if file, line, ok := callerOf(e); ok {
		dst = append(dst, `,"caller":"`...)
		dst = appendJSONEscaped(dst, file)
		dst = append(dst, ':')
		dst = appendInt(dst, int64(line))
		dst = append(dst, '"')
	}
	dst = append(dst, `,"msg":`...)
	return appendJSONString(dst, e.Message)
}

// quotedLevel returns the JSON string of a named level, "" for others.
func quotedLevel(l core.Level) string {
	switch l {
	case core.LevelTrace:
		return `"TRACE"`
	case core.LevelDebug:
		return `"DEBUG"`
	case core.LevelInfo:
		return `"INFO"`
	case core.LevelWarn:
		return `"WARN"`
	case core.LevelError:
		return `"ERROR"`
	case core.LevelFatal:
		return `"FATAL"`
	}
	return ""
}

// appendHead writes the opening brace and the entries before the fields.
func (j JSON) appendHead(dst []byte, e *core.Event) []byte {
	k := j.Keys.orDefault()
	dst = append(dst, '{')
	if k.Time != "" && !e.Time.IsZero() {
		dst = appendJSONKey(dst, k.Time)
		dst = appendJSONTime(dst, e.Time, timeLayout(j.TimeFormat))
	}
	if k.Level != "" {
		dst = appendJSONKey(dst, k.Level)
		dst = appendJSONString(dst, e.Level.String())
	}
	if k.Logger != "" && e.Logger != "" {
		dst = appendJSONKey(dst, k.Logger)
		dst = appendJSONString(dst, e.Logger)
	}
	if k.Caller != "" {
		if file, line, ok := callerOf(e); ok {
			dst = appendJSONKey(dst, k.Caller)
			dst = append(dst, '"')
			dst = appendJSONEscaped(dst, file)
			dst = append(dst, ':')
			dst = appendInt(dst, int64(line))
			dst = append(dst, '"')
		}
	}
	if k.Message != "" {
		dst = appendJSONKey(dst, k.Message)
		dst = appendJSONString(dst, e.Message)
	}
	return dst
}

// appendJSONKey appends the separator, when a member precedes, and key.
// A member precedes unless the object was just opened: no value ends in
// '{', so the last byte tells.
func appendJSONKey(dst []byte, key string) []byte {
	if dst[len(dst)-1] != '{' {
		dst = append(dst, ',')
	}
	dst = appendJSONString(dst, key)
	return append(dst, ':')
}

// appendJSONFrames appends the scope frames from the outermost in, each
// named frame as a nested object, and own inside the innermost. A frame's
// object is opened before its contents are known and taken back if
// nothing was written into it, so empty groups cost no extra pass.
// slogValues selects SlogJSON's values (appendSlogValue) over JSON's.
func appendJSONFrames(dst []byte, frames []core.Frame, own []core.Field, slogValues bool) []byte {
	if len(frames) == 0 {
		return appendJSONFields(dst, own, slogValues)
	}
	f := &frames[0]
	if f.Group == "" {
		dst = appendJSONFields(dst, f.Fields, slogValues)
		return appendJSONFrames(dst, frames[1:], own, slogValues)
	}
	mark := len(dst)
	dst = appendJSONKey(dst, f.Group)
	dst = append(dst, '{')
	body := len(dst)
	dst = appendJSONFields(dst, f.Fields, slogValues)
	dst = appendJSONFrames(dst, frames[1:], own, slogValues)
	if len(dst) == body {
		return dst[:mark]
	}
	return append(dst, '}')
}

// appendJSONFields appends fields as members of the open object, leaving
// out empty fields and empty groups and inlining unnamed groups.
func appendJSONFields(dst []byte, fields []core.Field, slogValues bool) []byte {
	for i := range fields {
		f := &fields[i]
		switch f.Kind() {
		case core.KindEmpty:
			continue
		case core.KindGroup:
			if f.Key == "" {
				dst = appendJSONFields(dst, f.Group(), slogValues)
				continue
			}
			mark := len(dst)
			dst = appendJSONKey(dst, f.Key)
			dst = append(dst, '{')
			body := len(dst)
			dst = appendJSONFields(dst, f.Group(), slogValues)
			if len(dst) == body {
				dst = dst[:mark]
			} else {
				dst = append(dst, '}')
			}
			continue
		}
		dst = appendJSONKey(dst, f.Key)
		if slogValues {
			dst = appendSlogValue(dst, f)
		} else {
			dst = appendJSONValue(dst, f)
		}
	}
	return dst
}

func appendJSONValue(dst []byte, f *core.Field) []byte {
	switch f.Kind() {
	case core.KindString, core.KindError, core.KindBytes:
		return appendJSONString(dst, f.Str())
	case core.KindInt64:
		return appendInt(dst, f.Int64())
	case core.KindUint64:
		return appendUint(dst, f.Uint64())
	case core.KindFloat64:
		v := f.Float64()
		if name := nonFinite(v); name != "" {
			return appendJSONString(dst, name)
		}
		return appendFloat(dst, v)
	case core.KindBool:
		return appendBool(dst, f.Bool())
	case core.KindTime:
		// RFC 3339 output is plain ASCII: no escaping to do.
		dst = append(dst, '"')
		dst = f.Time().AppendFormat(dst, time.RFC3339Nano)
		return append(dst, '"')
	case core.KindDuration:
		dst = append(dst, '"')
		dst = appendDuration(dst, f.Duration())
		return append(dst, '"')
	case core.KindAny:
		if s := f.Str(); embeddable(s) {
			return append(dst, s...)
		}
		return appendJSONString(dst, f.Str())
	}
	// A kind this encoder does not know: keep the object well formed.
	return append(dst, "null"...)
}

// appendJSONTime appends t as a JSON string. The default layout needs no
// escaping, but a custom one may hold any text.
func appendJSONTime(dst []byte, t time.Time, layout string) []byte {
	dst = append(dst, '"')
	start := len(dst)
	dst = appendTime(dst, t, layout)
	if !jsonIsPlain(view(dst[start:])) {
		dst = rewrite(dst, start, appendJSONEscaped)
	}
	return append(dst, '"')
}
