package format_test

import (
	"os"
	"time"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks/format"
)

func exampleEvent() *core.Event {
	e := &core.Event{
		Time:    time.Date(2024, 5, 6, 7, 8, 9, 500, time.UTC),
		Level:   core.LevelInfo,
		Message: "request done",
		Logger:  "http",
		Scope:   (*core.Scope)(nil).With([]core.Field{core.Int("pid", 42)}).WithGroup("req"),
	}
	e.SetFields([]core.Field{
		core.String("path", "/users"),
		core.Duration("took", 1500*time.Microsecond),
		core.Group("empty"),
	})
	return e
}

func ExampleJSON() {
	os.Stdout.Write(format.JSON{}.Append(nil, exampleEvent()))
	// Output:
	// {"time":"2024-05-06T07:08:09.000000500Z","level":"INFO","logger":"http","msg":"request done","pid":42,"req":{"path":"/users","took":"1.5ms"}}
}

func ExampleText() {
	os.Stdout.Write(format.Text{}.Append(nil, exampleEvent()))
	// Output:
	// time=2024-05-06T07:08:09.000000500Z level=INFO logger=http msg="request done" pid=42 req.path=/users req.took=1.5ms
}

func ExampleKeys() {
	keys := format.DefaultKeys()
	keys.Time = "" // leave the time out, e.g. when the collector stamps lines
	keys.Message = "message"
	os.Stdout.Write(format.Text{Keys: keys}.Append(nil, exampleEvent()))
	// Output:
	// level=INFO logger=http message="request done" pid=42 req.path=/users req.took=1.5ms
}
