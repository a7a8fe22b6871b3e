package sinks_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
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

func ExampleNewSyslog() {
	// A stand-in for rsyslog: a TCP listener on loopback that prints what
	// it receives.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	received := make(chan string)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		data, _ := io.ReadAll(c)
		received <- string(data)
	}()

	// TCP with octet counting (RFC 6587); the header fields default to
	// the host name, the program name and the process id.
	s, err := sinks.NewSyslog(sinks.SyslogOptions{
		Address:  ln.Addr().String(),
		Facility: format.FacilityLocal0,
		Hostname: "web1",
		AppName:  "api",
		ProcID:   "4242",
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Write(ctx, []core.Entry{{Event: signIn("alice", 1)}}); err != nil {
		log.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-received)
	// Output:
	// 107 <134>1 2025-06-01T12:00:01.000000Z web1 api 4242 - [shardlog@32473 user="alice" attempt="1"] user signed in
}

func ExampleNewHTTP() {
	// A stand-in for a log intake: it prints each request.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("%s %s %s\n%s", r.Method, r.URL.Path, r.Header.Get("Content-Type"), body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	// JSON lines, at most 1000 records or 1 MiB per request by default;
	// here two records per request.
	h, err := sinks.NewHTTP(sinks.HTTPOptions{
		URL:        srv.URL + "/v1/logs",
		Header:     http.Header{"Authorization": {"Bearer token"}},
		MaxEntries: 2,
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	batch := []core.Entry{{Event: signIn("alice", 1)}, {Event: signIn("bob", 2)}, {Event: signIn("carol", 3)}}
	n, err := h.Write(ctx, batch)
	fmt.Println("written:", n, err)
	if err := h.Close(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// POST /v1/logs application/x-ndjson
	// {"time":"2025-06-01T12:00:01.000000000Z","level":"INFO","msg":"user signed in","user":"alice","attempt":1}
	// {"time":"2025-06-01T12:00:02.000000000Z","level":"INFO","msg":"user signed in","user":"bob","attempt":2}
	// POST /v1/logs application/x-ndjson
	// {"time":"2025-06-01T12:00:03.000000000Z","level":"INFO","msg":"user signed in","user":"carol","attempt":3}
	// written: 3 <nil>
}
