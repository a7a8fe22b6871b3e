package sinks_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
)

// signIn returns an event as a log call would capture it.
func signIn(user string, attempt int) *core.Event {
	e := &core.Event{
		Time:    time.Date(2025, 6, 1, 12, 0, attempt, 0, time.UTC),
		Level:   core.LevelInfo,
		Message: "user signed in",
	}
	e.SetFields([]core.Field{core.String("user", user), core.Int("attempt", attempt)})
	return e
}

func ExampleNewFile() {
	dir, err := os.MkdirTemp("", "shardlog-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "logs", "app.log")

	// JSON lines, rotated at 100 MiB, keeping the 7 newest backups gzipped.
	f, err := sinks.NewFile(sinks.FileOptions{
		Path:       path,
		MaxSizeMB:  100,
		MaxBackups: 7,
		Compress:   true,
	})
	if err != nil {
		log.Fatal(err)
	}

	// The engine calls Write with batches; here, a batch of two.
	ctx := context.Background()
	batch := []core.Entry{{Event: signIn("alice", 1)}, {Event: signIn("bob", 2)}}
	if _, err := f.Write(ctx, batch); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(ctx); err != nil {
		log.Fatal(err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(data))
	// Output:
	// {"time":"2025-06-01T12:00:01.000000000Z","level":"INFO","msg":"user signed in","user":"alice","attempt":1}
	// {"time":"2025-06-01T12:00:02.000000000Z","level":"INFO","msg":"user signed in","user":"bob","attempt":2}
}

func ExampleNewMemory() {
	m := sinks.NewMemory(sinks.MemoryOptions{Encoder: format.Text{}})

	// The engine writes from its own goroutine; a test waits for it.
	go func() {
		batch := []core.Entry{{Event: signIn("alice", 1)}, {Event: signIn("bob", 2)}}
		_, _ = m.Write(context.Background(), batch)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Wait(ctx, 2); err != nil {
		log.Fatal(err)
	}

	for _, e := range m.Events() {
		fmt.Println(e.Level, e.Message, e.Fields()[0].Str())
	}
	for _, line := range m.Lines() {
		fmt.Println(line)
	}
	// Output:
	// INFO user signed in alice
	// INFO user signed in bob
	// time=2025-06-01T12:00:01.000000000Z level=INFO msg="user signed in" user=alice attempt=1
	// time=2025-06-01T12:00:02.000000000Z level=INFO msg="user signed in" user=bob attempt=2
}

// A Memory can play a failing destination in an engine test.
func ExampleMemory_FailAfter() {
	m := sinks.NewMemory(sinks.MemoryOptions{})
	m.FailAfter(1, errors.New("disk full"))

	n, err := m.Write(context.Background(), []core.Entry{{Event: signIn("alice", 1)}, {Event: signIn("bob", 2)}})
	fmt.Println(n, err, m.Len())
	// Output:
	// 1 disk full 1
}

func ExampleNewConsole() {
	c, err := sinks.NewConsole(sinks.ConsoleOptions{Stream: sinks.Stdout})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Write(ctx, []core.Entry{{Event: signIn("alice", 1)}}); err != nil {
		log.Fatal(err)
	}
	if err := c.Close(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// time=2025-06-01T12:00:01.000000000Z level=INFO msg="user signed in" user=alice attempt=1
}
