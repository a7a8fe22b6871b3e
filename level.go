package shardlog

import "github.com/shardlog/shardlog/core"

// Level is an event's importance, with slog's values plus Trace and Fatal;
// see core.Level. It implements slog.Leveler and encoding.TextMarshaler.
type Level = core.Level

// LevelVar is a level that can be changed while loggers read it, and
// served over HTTP; see core.LevelVar.
type LevelVar = core.LevelVar

// The named levels.
const (
	LevelTrace = core.LevelTrace
	LevelDebug = core.LevelDebug
	LevelInfo  = core.LevelInfo
	LevelWarn  = core.LevelWarn
	LevelError = core.LevelError
	LevelFatal = core.LevelFatal
)

// ParseLevel reads a level by name ("debug", "WARN", "INFO+2") or number.
func ParseLevel(s string) (Level, error) { return core.ParseLevel(s) }
