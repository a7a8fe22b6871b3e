package format_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks/format"
)

// The fixed-layout time writer promises time.Format's bytes: an offset of
// 100 hours or more (only a hand-made zone has one) goes to time.Format.
// Mutation caught: no fallback (it wrote "+:0:01" for +100:01).
func TestDefaultTimeWithAnOffsetOfHundredHours(t *testing.T) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("", 100*3600+60))
	e := &core.Event{Time: at, Level: core.LevelInfo, Message: "m"}
	got := encode(format.JSON{}, e)
	require.Contains(t, got, `"time":"`+at.Format(format.DefaultTimeFormat)+`"`)
}

// RFC 5424's TIME-OFFSET has hours 00-23: a time in a zone 24 hours or
// more from UTC is written as the same instant in UTC. Mutation caught:
// the offset as it is ("+30:00", which time.Parse and strict receivers
// refuse).
func TestSyslogTimestampOffsetBeyondRFC5424IsUTC(t *testing.T) {
	e := newEvent("m")
	e.Time = time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("", 30*3600))
	m := mustParse(t, format.Syslog{}, e)
	require.Equal(t, "2024-12-30T18:00:00.000000Z", m.timestamp) // 2025-01-01T00:00 at +30:00
	_, err := time.Parse(time.RFC3339Nano, m.timestamp)
	require.NoError(t, err)
}
