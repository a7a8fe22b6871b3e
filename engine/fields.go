package engine

import (
	"time"

	"github.com/shardlog/shardlog/core"
)

// Level, Field and the field constructors are re-exported from core for
// the engine's own tests and for programs that use the engine directly;
// package shardlog offers the same names to users. The constructors are
// small functions (not variables) so they inline.

// Level is an event's importance; see core.Level.
type Level = core.Level

// Field is one key and typed value; see core.Field.
type Field = core.Field

// The named levels.
const (
	LevelTrace = core.LevelTrace
	LevelDebug = core.LevelDebug
	LevelInfo  = core.LevelInfo
	LevelWarn  = core.LevelWarn
	LevelError = core.LevelError
	LevelFatal = core.LevelFatal
)

// String makes a string field.
func String(k, v string) Field { return core.String(k, v) }

// Int makes an integer field.
func Int(k string, v int) Field { return core.Int(k, v) }

// Int64 makes an integer field.
func Int64(k string, v int64) Field { return core.Int64(k, v) }

// Uint64 makes an unsigned integer field.
func Uint64(k string, v uint64) Field { return core.Uint64(k, v) }

// Float64 makes a floating-point field.
func Float64(k string, v float64) Field { return core.Float64(k, v) }

// Bool makes a boolean field.
func Bool(k string, v bool) Field { return core.Bool(k, v) }

// Time makes a time field.
func Time(k string, v time.Time) Field { return core.Time(k, v) }

// Duration makes a duration field.
func Duration(k string, v time.Duration) Field { return core.Duration(k, v) }

// Err makes an "error" field, rendered now; nil makes an empty field.
func Err(err error) Field { return core.Err(err) }

// NamedErr makes an error field under key.
func NamedErr(k string, err error) Field { return core.NamedErr(k, err) }

// Bytes makes a field holding a copy of v.
func Bytes(k string, v []byte) Field { return core.Bytes(k, v) }

// Any makes a field from any value, rendered now.
func Any(k string, v any) Field { return core.Any(k, v) }

// Group nests fields under k.
func Group(k string, fields ...Field) Field { return core.Group(k, fields...) }
