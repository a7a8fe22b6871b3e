package core

import (
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
)

// Level is the importance of an event. The named levels share their values
// with log/slog (Debug -4, Info 0, Warn 4, Error 8), so a slog.Level
// converts to a Level with a plain conversion, and add Trace below Debug and
// Fatal above Error. Any int between them is a valid level, as in slog.
type Level int

// The named levels.
const (
	LevelTrace Level = -8
	LevelDebug Level = -4
	LevelInfo  Level = 0
	LevelWarn  Level = 4
	LevelError Level = 8
	LevelFatal Level = 12
)

var levelNames = [...]struct {
	l    Level
	name string
}{
	{LevelTrace, "TRACE"},
	{LevelDebug, "DEBUG"},
	{LevelInfo, "INFO"},
	{LevelWarn, "WARN"},
	{LevelError, "ERROR"},
	{LevelFatal, "FATAL"},
}

// String names the level. A level between two named levels is written as the
// nearest named level below it plus an offset ("INFO+2"), as slog does; a
// level below Trace is written relative to Trace ("TRACE-4").
func (l Level) String() string {
	base := levelNames[0]
	for _, n := range levelNames {
		if l >= n.l {
			base = n
		}
	}
	if l == base.l {
		return base.name
	}
	d := int(l - base.l)
	if d > 0 {
		return base.name + "+" + strconv.Itoa(d)
	}
	return base.name + strconv.Itoa(d)
}

// ParseLevel reads a level written by String (case-insensitive), or a plain
// integer. It returns an error naming the text it could not read.
func ParseLevel(s string) (Level, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	if n, err := strconv.Atoi(t); err == nil {
		return Level(n), nil
	}
	name, off := t, 0
	if i := strings.IndexAny(t, "+-"); i > 0 {
		n, err := strconv.Atoi(t[i:])
		if err != nil {
			return 0, fmt.Errorf("core: unknown level %q", s)
		}
		name, off = t[:i], n
	}
	if name == "WARNING" {
		name = "WARN"
	}
	for _, n := range levelNames {
		if n.name == name {
			// An offset that would wrap around (FATAL+9223372036854775796
			// read as the lowest level) is refused, not wrapped.
			if (off > 0 && int(n.l) > math.MaxInt-off) || (off < 0 && int(n.l) < math.MinInt-off) {
				return 0, fmt.Errorf("core: level %q is out of range", s)
			}
			return n.l + Level(off), nil
		}
	}
	return 0, fmt.Errorf("core: unknown level %q", s)
}

// Level returns l as an slog.Level, so that a Level is an slog.Leveler (a
// fixed level for slog.HandlerOptions.Level, say).
func (l Level) Level() slog.Level { return slog.Level(l) }

// MarshalText implements encoding.TextMarshaler with String's text, so
// encoding/json, YAML and environment configuration write a Level as its
// name ("INFO", "INFO+2"). encoding/json writes it as a JSON string.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler: it reads what
// ParseLevel reads. On error *l is unchanged. As for slog.Level,
// encoding/json reads a Level only from a JSON string ("4", not 4).
func (l *Level) UnmarshalText(text []byte) error {
	v, err := ParseLevel(string(text))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// LevelVar is a level that can be changed while loggers read it. The zero
// value is LevelInfo. Reads are one atomic load, so checking a LevelVar on
// every log call costs one load and one branch.
type LevelVar struct {
	v atomic.Int64
}

// Level returns the current level.
func (v *LevelVar) Level() Level { return Level(v.v.Load()) }

// Set changes the level; loggers see the change on their next call.
func (v *LevelVar) Set(l Level) { v.v.Store(int64(l)) }

// String implements fmt.Stringer.
func (v *LevelVar) String() string { return "LevelVar(" + v.Level().String() + ")" }

// MarshalText implements encoding.TextMarshaler with the current level's
// text (Level.MarshalText).
func (v *LevelVar) MarshalText() ([]byte, error) { return v.Level().MarshalText() }

// UnmarshalText implements encoding.TextUnmarshaler: it reads what
// ParseLevel reads and Sets the result. On error the level is unchanged.
// Like Set, it is safe to call while loggers read v.
func (v *LevelVar) UnmarshalText(text []byte) error {
	l, err := ParseLevel(string(text))
	if err != nil {
		return err
	}
	v.Set(l)
	return nil
}
