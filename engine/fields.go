package engine

import (
	"time"

	"github.com/shardlog/shardlog/engine/event"
)

// Level, Field and the field constructors are re-exported from
// engine/event so that most programs import only this package. The
// constructors are small functions (not variables) so they inline.

// Level is an event's importance; see event.Level.
type Level = event.Level

// Field is one key and typed value; see event.Field.
type Field = event.Field

// The named levels.
const (
	LevelTrace = event.LevelTrace
	LevelDebug = event.LevelDebug
	LevelInfo  = event.LevelInfo
	LevelWarn  = event.LevelWarn
	LevelError = event.LevelError
	LevelFatal = event.LevelFatal
)

// String makes a string field.
func String(k, v string) Field { return event.String(k, v) }

// Int makes an integer field.
func Int(k string, v int) Field { return event.Int(k, v) }

// Int64 makes an integer field.
func Int64(k string, v int64) Field { return event.Int64(k, v) }

// Uint64 makes an unsigned integer field.
func Uint64(k string, v uint64) Field { return event.Uint64(k, v) }

// Float64 makes a floating-point field.
func Float64(k string, v float64) Field { return event.Float64(k, v) }

// Bool makes a boolean field.
func Bool(k string, v bool) Field { return event.Bool(k, v) }

// Time makes a time field.
func Time(k string, v time.Time) Field { return event.Time(k, v) }

// Duration makes a duration field.
func Duration(k string, v time.Duration) Field { return event.Duration(k, v) }

// Err makes an "error" field, rendered now; nil makes an empty field.
func Err(err error) Field { return event.Err(err) }

// NamedErr makes an error field under key.
func NamedErr(k string, err error) Field { return event.NamedErr(k, err) }

// Bytes makes a field holding a copy of v.
func Bytes(k string, v []byte) Field { return event.Bytes(k, v) }

// Any makes a field from any value, rendered now.
func Any(k string, v any) Field { return event.Any(k, v) }

// Group nests fields under k.
func Group(k string, fields ...Field) Field { return event.Group(k, fields...) }
