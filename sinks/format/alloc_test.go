package format_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/engine/event"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
)

// fullEvent has ten fields, one of every basic kind and a group, under a
// two-frame scope, and strings that need escaping: everything Append does
// on its steady path.
func fullEvent() *event.Event {
	e := &event.Event{
		Time:    testTime,
		Level:   event.LevelWarn,
		Message: "request \"done\"\n",
		Logger:  "http.server",
		Scope: (*event.Scope)(nil).
			With([]event.Field{event.String("service", "api"), event.Int("pid", 4242)}).
			WithGroup("req").
			With([]event.Field{event.String("id", "7f3a"), event.String("path", "/v1/users")}),
	}
	e.SetFields([]event.Field{
		event.String("user", "ada lovelace"),
		event.Int("status", 200),
		event.Uint64("bytes", 1<<20),
		event.Float64("ratio", 0.25),
		event.Bool("cached", true),
		event.Time("started", testTime.Add(-time.Second)),
		event.Duration("took", 1234567*time.Nanosecond),
		event.NamedErr("warning", errors.New("slow \x1b[1mdisk")),
		event.Bytes("body", []byte("{\"ok\":true}\xff")),
		event.Any("tags", json.RawMessage(`["a","b"]`)),
	})
	return e
}

// TestAppendDoesNotAllocate proves the package's promise for events of
// the basic kinds without a caller: with room in dst, Append allocates
// nothing. It also holds under the race detector: no pools are involved.
func TestAppendDoesNotAllocate(t *testing.T) {
	e := fullEvent()
	e.AddField(event.Group("g", event.Int("a", 1), event.Group("empty")))
	for name, enc := range map[string]sinks.Encoder{
		"JSON":        format.JSON{},
		"Text":        format.Text{},
		"JSON layout": format.JSON{TimeFormat: "\"2006\" 01"},
		"Text layout": format.Text{TimeFormat: time.DateTime},
	} {
		t.Run(name, func(t *testing.T) {
			require.Len(t, e.Fields(), 11)
			dst := make([]byte, 0, 4096)
			allocs := testing.AllocsPerRun(100, func() {
				dst = enc.Append(dst[:0], e)
			})
			require.Zero(t, allocs, "%s", dst)
		})
	}
}
