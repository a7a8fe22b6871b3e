package core

import (
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"time"
	"unsafe"
)

// Kind says which of a Field's representations holds its value.
type Kind uint8

// The kinds of field. The zero Kind marks an empty field, which encoders
// skip (Err(nil) returns one, as zap's Error(nil) does).
const (
	KindEmpty    Kind = iota
	KindString        // a string, referenced (strings are immutable)
	KindInt64         // int, int8..int64
	KindUint64        // uint, uint8..uint64, uintptr
	KindFloat64       // float32, float64
	KindBool          // bool
	KindTime          // time.Time: Unix nanoseconds plus its location
	KindDuration      // time.Duration
	KindError         // an error, rendered by Error() at call time
	KindBytes         // a []byte, copied at call time
	KindAny           // any other value, rendered to JSON text at call time
	KindGroup         // a named group of fields
)

var kindNames = [...]string{"Empty", "String", "Int64", "Uint64", "Float64", "Bool", "Time", "Duration", "Error", "Bytes", "Any", "Group"}

// String names the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Field is one key and typed value. It is a small value type (40 bytes on
// 64-bit platforms) so that a log call can keep its fields inline in its
// Event without allocating: every byte of it is written by the call,
// copied into the queue, copied out by the flusher and cleared twice, so
// its size is a cost per event (docs/bench/engine.md).
//
// A Field never refers to memory the caller may change later: strings are
// immutable, []byte is copied, and errors and other reference values are
// rendered to text when the Field is made. Mutating an argument after the
// call therefore never changes what is logged.
//
// Two Fields compare equal with == only when their texts share their
// bytes; compare Key, Kind and the accessors' values to compare contents.
type Field struct {
	Key string
	// ptr and num hold the value, as kind says:
	//   KindString, KindError, KindBytes, KindAny: the text's bytes, num its length
	//   KindTime: *time.Location (nil for UTC), num the Unix nanoseconds
	//   KindGroup: the first member, num the member count
	//   numbers, bools, durations: num alone
	// A string is kept as its data pointer and length rather than as a
	// string header so that the text and the other kinds share one word:
	// 40 bytes instead of 56.
	ptr   unsafe.Pointer
	num   uint64
	kind  Kind
	flags uint8 // flagPlaceholder
}

// textKinds is the set of kinds whose value is text (ptr, num).
const textKinds = 1<<KindString | 1<<KindError | 1<<KindBytes | 1<<KindAny

// textField makes a field of a text kind holding s; it keeps s alive
// through its data pointer.
func textField(key, s string, kind Kind) Field {
	return Field{Key: key, ptr: unsafe.Pointer(unsafe.StringData(s)), num: uint64(len(s)), kind: kind}
}

// text returns the value of a text kind, and "" for any other kind.
func (f *Field) text() string {
	if textKinds>>f.kind&1 == 0 {
		return ""
	}
	return unsafe.String((*byte)(f.ptr), int(f.num))
}

// textLen is len(f.text()) without making the string, and without a
// branch: Footprint runs it for every field, twice per event.
func (f *Field) textLen() int {
	isText := uint64(textKinds>>f.kind) & 1
	return int(f.num & -isText)
}

// setText replaces the value of a text-kind field.
func (f *Field) setText(s string) {
	f.ptr, f.num = unsafe.Pointer(unsafe.StringData(s)), uint64(len(s))
}

// Kind reports which accessor holds the value.
func (f Field) Kind() Kind { return f.kind }

// Placeholder reports whether the field holds a placeholder text instead of
// its value, because the value could not be rendered: a cycle, too deep or
// too big a value, a marshal error, or a panic in one of its methods (see
// Any). Such a field is KindString, except that NamedErr keeps KindError
// when Error panics. Placeholders counts them.
func (f Field) Placeholder() bool { return f.flags&flagPlaceholder != 0 }

// Str returns the value of a KindString, KindError or KindBytes field, and
// the JSON text of a KindAny field.
func (f Field) Str() string { return f.text() }

// Int64 returns the value of a KindInt64 field.
func (f Field) Int64() int64 { return int64(f.num) }

// Uint64 returns the value of a KindUint64 field.
func (f Field) Uint64() uint64 { return f.num }

// Float64 returns the value of a KindFloat64 field.
func (f Field) Float64() float64 { return math.Float64frombits(f.num) }

// Bool returns the value of a KindBool field.
func (f Field) Bool() bool { return f.num != 0 }

// Duration returns the value of a KindDuration field.
func (f Field) Duration() time.Duration { return time.Duration(int64(f.num)) }

// Time returns the value of a KindTime field, in its original location.
func (f Field) Time() time.Time {
	t := time.Unix(0, int64(f.num))
	if f.ptr != nil {
		return t.In((*time.Location)(f.ptr))
	}
	return t.UTC()
}

// Group returns the members of a KindGroup field. The caller must not
// modify the returned slice.
func (f Field) Group() []Field {
	if f.kind != KindGroup || f.ptr == nil {
		return nil
	}
	return unsafe.Slice((*Field)(f.ptr), int(f.num))
}

// String makes a string field.
func String(key, value string) Field { return textField(key, value, KindString) }

// Int makes an integer field.
func Int(key string, value int) Field { return Int64(key, int64(value)) }

// Int64 makes an integer field.
func Int64(key string, value int64) Field {
	return Field{Key: key, num: uint64(value), kind: KindInt64}
}

// Uint64 makes an unsigned integer field.
func Uint64(key string, value uint64) Field { return Field{Key: key, num: value, kind: KindUint64} }

// Float64 makes a floating-point field. NaN and the infinities are kept;
// encoders that cannot represent them write them as strings.
func Float64(key string, value float64) Field {
	return Field{Key: key, num: math.Float64bits(value), kind: KindFloat64}
}

// Bool makes a boolean field.
func Bool(key string, value bool) Field {
	var n uint64
	if value {
		n = 1
	}
	return Field{Key: key, num: n, kind: KindBool}
}

// Duration makes a duration field.
func Duration(key string, value time.Duration) Field {
	return Field{Key: key, num: uint64(value), kind: KindDuration}
}

// minUnixNanoTime and maxUnixNanoTime bound the times whose UnixNano is
// defined; times outside them are rendered to text at call time instead.
var (
	minUnixNanoTime = time.Unix(0, math.MinInt64)
	maxUnixNanoTime = time.Unix(0, math.MaxInt64)
)

// Time makes a time field. Its location is kept (a pointer, no copy), so
// encoders can write the original offset.
func Time(key string, value time.Time) Field {
	if value.Before(minUnixNanoTime) || value.After(maxUnixNanoTime) {
		return String(key, value.Format(time.RFC3339Nano))
	}
	f := Field{Key: key, num: uint64(value.UnixNano()), kind: KindTime}
	if loc := value.Location(); loc != time.UTC {
		f.ptr = unsafe.Pointer(loc)
	}
	return f
}

// ErrorKey is the key Err uses.
const ErrorKey = "error"

// Err makes an error field under the key "error". A nil error makes an
// empty field, which encoders skip.
func Err(err error) Field { return NamedErr(ErrorKey, err) }

// NamedErr makes an error field under key; the error is rendered with
// Error() now. A nil error makes an empty field. A panicking Error method is
// recovered and its panic value is logged instead.
func NamedErr(key string, err error) Field {
	if err == nil {
		return Field{Key: key}
	}
	s, ok := safeError(err)
	if !ok {
		return placeholder(key, s, KindError)
	}
	return textField(key, s, KindError)
}

// Bytes makes a field holding a copy of value, so later writes to value do
// not change the log. It allocates once for the copy.
func Bytes(key string, value []byte) Field {
	return textField(key, string(value), KindBytes)
}

// Group makes a field that nests fields under key. The fields are copied.
// A group with no fields is skipped by encoders, as slog does.
func Group(key string, fields ...Field) Field {
	if len(fields) == 0 {
		return Field{Key: key, kind: KindGroup}
	}
	cp := make([]Field, len(fields))
	copy(cp, fields)
	return Field{Key: key, ptr: unsafe.Pointer(unsafe.SliceData(cp)), num: uint64(len(cp)), kind: KindGroup}
}

// Any makes a field from any value. Values of the basic kinds become typed
// fields without rendering; errors are rendered with Error(); values with
// their own text form (fmt.Stringer, encoding.TextMarshaler, json.Marshaler)
// are rendered with it; everything else is rendered to JSON text
// (KindAny). Rendering happens now, so the caller may mutate the value as
// soon as Any returns.
//
// Rendering never crashes the caller. A value that cannot be rendered
// becomes a KindString field holding a placeholder (KindError for an error
// whose Error method panics), for which Field.Placeholder reports true and
// Placeholders counts one:
//
//	!CYCLE(T)        the value contains itself; T is the type of the
//	                 pointer, map or slice found again on its own path
//	!DEPTH>32(T)     more than MaxRenderDepth levels; T is the type of the
//	                 first value too deep
//	!TOOBIG>10000(T) more than MaxRenderNodes JSON values; T is the type
//	                 of the whole value
//	!ERROR: msg      json.Marshal or MarshalText failed (a chan, func,
//	                 complex or NaN inside, a marshaler's error)
//	!PANIC: msg      a method run while rendering panicked
//
// The limits are checked by walking the value as encoding/json will
// before marshaling it; values within them render exactly as json.Marshal
// renders them.
func Any(key string, value any) Field {
	switch v := value.(type) {
	case nil:
		return textField(key, "null", KindAny)
	case Field:
		v.Key = key
		return v
	case string:
		return String(key, v)
	case int:
		return Int64(key, int64(v))
	case int8:
		return Int64(key, int64(v))
	case int16:
		return Int64(key, int64(v))
	case int32:
		return Int64(key, int64(v))
	case int64:
		return Int64(key, v)
	case uint:
		return Uint64(key, uint64(v))
	case uint8:
		return Uint64(key, uint64(v))
	case uint16:
		return Uint64(key, uint64(v))
	case uint32:
		return Uint64(key, uint64(v))
	case uint64:
		return Uint64(key, v)
	case uintptr:
		return Uint64(key, uint64(v))
	case float32:
		return Float64(key, float64(v))
	case float64:
		return Float64(key, v)
	case bool:
		return Bool(key, v)
	case time.Time:
		return Time(key, v)
	case time.Duration:
		return Duration(key, v)
	case []byte:
		return Bytes(key, v)
	case error:
		return NamedErr(key, v)
	case json.Marshaler:
		return renderAny(key, v)
	case fmt.Stringer:
		return renderString(key, v)
	case encoding.TextMarshaler:
		return renderText(key, v)
	default:
		return renderAny(key, v)
	}
}

func renderText(key string, v encoding.TextMarshaler) (f Field) {
	defer func() {
		if r := recover(); r != nil {
			f = placeholder(key, "!PANIC: "+panicText(r), KindString)
		}
	}()
	b, err := v.MarshalText()
	if err != nil {
		return placeholder(key, "!ERROR: "+err.Error(), KindString)
	}
	return textField(key, string(b), KindString)
}

// safeError returns err.Error(), or a placeholder text and false when it
// panics.
func safeError(err error) (s string, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			s, ok = "!PANIC: "+panicText(r), false
		}
	}()
	return err.Error(), true
}

func renderString(key string, v fmt.Stringer) (f Field) {
	defer func() {
		if r := recover(); r != nil {
			f = placeholder(key, "!PANIC: "+panicText(r), KindString)
		}
	}()
	return textField(key, v.String(), KindString)
}
