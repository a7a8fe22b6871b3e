package format_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks/format"
)

// fullEvent has ten fields, one of every basic kind and a group, under a
// two-frame scope, and strings that need escaping: everything Append does
// on its steady path.
func fullEvent() *core.Event {
	e := &core.Event{
		Time:    testTime,
		Level:   core.LevelWarn,
		Message: "request \"done\"\n",
		Logger:  "http.server",
		Scope: (*core.Scope)(nil).
			With([]core.Field{core.String("service", "api"), core.Int("pid", 4242)}).
			WithGroup("req").
			With([]core.Field{core.String("id", "7f3a"), core.String("path", "/v1/users")}),
	}
	e.SetFields([]core.Field{
		core.String("user", "ada lovelace"),
		core.Int("status", 200),
		core.Uint64("bytes", 1<<20),
		core.Float64("ratio", 0.25),
		core.Bool("cached", true),
		core.Time("started", testTime.Add(-time.Second)),
		core.Duration("took", 1234567*time.Nanosecond),
		core.NamedErr("warning", errors.New("slow \x1b[1mdisk")),
		core.Bytes("body", []byte("{\"ok\":true}\xff")),
		core.Any("tags", json.RawMessage(`["a","b"]`)),
	})
	return e
}

// TestAppendDoesNotAllocate proves the package's promise for events of
// the basic kinds without a caller: with room in dst, Append allocates
// nothing. It also holds under the race detector: no pools are involved.
func TestAppendDoesNotAllocate(t *testing.T) {
	e := fullEvent()
	e.AddField(core.Group("g", core.Int("a", 1), core.Group("empty")))
	for name, enc := range map[string]core.Encoder{
		"JSON":        format.JSON{},
		"Text":        format.Text{},
		"SlogJSON":    format.SlogJSON{},
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
