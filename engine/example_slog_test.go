package engine_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
)

// Code written against log/slog logs through the engine. Here ReplaceAttr
// removes the time, to keep the output stable, and redacts a key wherever
// it appears.
func ExampleNewHandler() {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	e, err := engine.New(engine.WithSink(mem))
	if err != nil {
		panic(err)
	}
	h := engine.NewHandler(e.Logger().Named("api"), &engine.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			switch {
			case groups == nil && a.Key == slog.TimeKey:
				return slog.Attr{}
			case a.Key == "token":
				return slog.String(a.Key, "REDACTED")
			}
			return a
		},
	})
	log := slog.New(h).With("region", "eu").WithGroup("req")
	log.Info("handled", "method", "GET", "status", 200, slog.Group("auth", "user", "ann", "token", "s3cr3t"))
	if _, err := e.Shutdown(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println(mem.Lines()[0])
	// Output:
	// {"level":"INFO","logger":"api","msg":"handled","region":"eu","req":{"method":"GET","status":200,"auth":{"user":"ann","token":"REDACTED"}}}
}
