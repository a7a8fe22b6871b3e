package shardlog_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shardlog/shardlog"
)

func noTime() shardlog.Keys {
	k := shardlog.DefaultKeys()
	k.Time = ""
	return k
}

// A file and the console, one import: JSON to the file, logfmt to the
// console for warnings and above, Sync to deliver, Shutdown to end.
func Example() {
	dir, _ := os.MkdirTemp("", "shardlog-example")
	defer os.RemoveAll(dir)
	file, err := shardlog.NewFile(shardlog.FileOptions{Path: filepath.Join(dir, "app.log"), MaxSizeMB: 100})
	if err != nil {
		panic(err)
	}
	console, err := shardlog.NewConsole(shardlog.ConsoleOptions{Out: os.Stdout, Encoder: shardlog.Text{Keys: noTime()}})
	if err != nil {
		panic(err)
	}
	e, err := shardlog.New(
		shardlog.WithSink(file, shardlog.SinkName("file")),
		shardlog.WithSink(console, shardlog.SinkName("console"), shardlog.SinkLevel(shardlog.LevelWarn)),
	)
	if err != nil {
		panic(err)
	}
	log := e.Logger().Named("api").With(shardlog.String("region", "eu"))
	log.Info("request handled", shardlog.Int("status", 200), shardlog.Duration("took", 1500*time.Microsecond))
	log.Warn("slow upstream", shardlog.String("upstream", "billing"))
	if err := log.Sync(); err != nil { // delivered and flushed, engine still running
		panic(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "app.log"))
	fmt.Println("file lines:", strings.Count(string(data), "\n"))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := e.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// level=WARN logger=api msg="slow upstream" region=eu upstream=billing
	// file lines: 2
}

// Code written against log/slog logs through shardlog; the handler still
// reaches its engine for Shutdown after slog.SetDefault.
func Example_slog() {
	console, _ := shardlog.NewConsole(shardlog.ConsoleOptions{Out: os.Stdout, Encoder: shardlog.JSON{Keys: noTime()}})
	e, err := shardlog.New(shardlog.WithSink(console))
	if err != nil {
		panic(err)
	}
	slog.SetDefault(slog.New(shardlog.NewHandler(e.Logger(), nil)))
	slog.Info("user signed in", "user", "ann", slog.Group("req", "id", 7))

	h := slog.Default().Handler().(*shardlog.Handler)
	if _, err := h.Engine().Shutdown(context.Background()); err != nil {
		panic(err)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	// Output:
	// {"level":"INFO","msg":"user signed in","user":"ann","req":{"id":7}}
}

// Errors wait for room (Block, never evicted) while debug chatter is shed
// (DropOldest); one call site may choose its own policy.
func Example_perLevelPolicies() {
	console, _ := shardlog.NewConsole(shardlog.ConsoleOptions{Out: os.Stdout, Encoder: shardlog.Text{Keys: noTime()}})
	e, err := shardlog.New(
		shardlog.WithSink(console),
		shardlog.WithLevel(shardlog.LevelDebug),
		shardlog.WithOverflow(shardlog.DropOldest),
		shardlog.WithOverflowAt(shardlog.LevelError, shardlog.Block),
		shardlog.WithBlockTimeout(50*time.Millisecond),
	)
	if err != nil {
		panic(err)
	}
	log := e.Logger()
	log.Debug("cache miss")
	log.Error("payment failed", shardlog.String("order", "A-17"))
	log.WithPolicy(shardlog.DropNewest).Info("progress", shardlog.Int("pct", 50))
	rep, _ := e.Shutdown(context.Background())
	fmt.Println("dropped:", rep.Sinks[0].Dropped.Total())
	// Output:
	// level=DEBUG msg="cache miss"
	// level=ERROR msg="payment failed" order=A-17
	// level=INFO msg=progress pct=50
	// dropped: 0
}

// Each sink has its own minimum level, on top of the engine's.
func Example_perSinkLevels() {
	var all, errs bytes.Buffer
	allSink, _ := shardlog.NewWriter(&all, shardlog.Text{Keys: noTime()})
	errSink, _ := shardlog.NewWriter(&errs, shardlog.Text{Keys: noTime()})
	e, err := shardlog.New(
		shardlog.WithSink(allSink, shardlog.SinkName("all")),
		shardlog.WithSink(errSink, shardlog.SinkName("errors"), shardlog.SinkLevelName("error")),
	)
	if err != nil {
		panic(err)
	}
	e.Logger().Info("started")
	e.Logger().Error("disk full")
	rep, _ := e.Shutdown(context.Background())
	fmt.Print("all:\n", all.String(), "errors:\n", errs.String())
	for _, s := range rep.Sinks {
		fmt.Printf("%s: accepted %d, written %d\n", s.Name, s.Accepted, s.Written)
	}
	// Output:
	// all:
	// level=INFO msg=started
	// level=ERROR msg="disk full"
	// errors:
	// level=ERROR msg="disk full"
	// all: accepted 2, written 2
	// errors: accepted 1, written 1
}

// The level can change at run time, over HTTP on an admin mux (GET reads
// it, PUT sets it), as zap's AtomicLevel does.
func Example_levelOverHTTP() {
	var level shardlog.LevelVar // Info
	console, _ := shardlog.NewConsole(shardlog.ConsoleOptions{Out: os.Stdout, Encoder: shardlog.Text{Keys: noTime()}})
	e, err := shardlog.New(shardlog.WithSink(console), shardlog.WithLevelVar(&level))
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/log/level", &level)

	e.Logger().Debug("hidden")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/log/level", strings.NewReader(`{"level":"debug"}`)))
	fmt.Print(rec.Body.String())
	e.Logger().Debug("shown")
	if _, err := e.Shutdown(context.Background()); err != nil {
		panic(err)
	}
	// Output:
	// {"level":"debug"}
	// level=DEBUG msg=shown
}

type requestIDKey struct{}

// A context extractor adds what a request's context carries (here a
// request ID stored by middleware) to every event logged with it.
func Example_contextExtraction() {
	console, _ := shardlog.NewConsole(shardlog.ConsoleOptions{Out: os.Stdout, Encoder: shardlog.Text{Keys: noTime()}})
	e, err := shardlog.New(shardlog.WithSink(console),
		shardlog.WithContextExtractor(func(ctx context.Context) []shardlog.Field {
			fs, _ := ctx.Value(requestIDKey{}).([]shardlog.Field)
			return fs
		}))
	if err != nil {
		panic(err)
	}
	// Middleware stores the fields once per request, so the extractor
	// returns them without allocating.
	ctx := context.WithValue(context.Background(), requestIDKey{}, []shardlog.Field{shardlog.String("request_id", "r-42")})
	e.Logger().Log(ctx, shardlog.LevelInfo, "handled", shardlog.Int("status", 200))
	if _, err := e.Shutdown(context.Background()); err != nil {
		panic(err)
	}
	// Output:
	// level=INFO msg=handled status=200 request_id=r-42
}

// In main: shut the engine down with a deadline before exiting, and look
// at what was delivered and what was lost.
func Example_shutdownInMain() {
	var out bytes.Buffer
	sink, _ := shardlog.NewWriter(&out, shardlog.JSON{})
	e, err := shardlog.New(shardlog.WithSink(sink, shardlog.SinkName("stdout")))
	if err != nil {
		panic(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rep, err := e.Shutdown(ctx)
		s := rep.Sinks[0]
		fmt.Printf("shutdown: err=%v written=%d dropped=%d pending=%d\n", err, s.Written, s.Dropped.Total(), s.Pending)
	}()
	for i := range 1000 {
		e.Logger().Info("work", shardlog.Int("i", i))
	}
	// Output:
	// shutdown: err=<nil> written=1000 dropped=0 pending=0
}

// A service's shutdown: cleanup handlers run first (what they log is
// delivered), then the engine drains for at most 2s (Graceful), and the
// drain's report says what each sink received and lost. In a service, let
// drain.HandleSignals(ctx, e.Controller(), drain.SignalConfig{...}) start
// it on SIGTERM.
func Example_shutdown() {
	console, _ := shardlog.NewConsole(shardlog.ConsoleOptions{Out: os.Stdout, Encoder: shardlog.Text{Keys: noTime()}})
	e, err := shardlog.New(shardlog.WithSink(console, shardlog.SinkName("console")))
	if err != nil {
		panic(err)
	}
	_ = e.OnShutdown("http server", func(ctx context.Context) error {
		e.Logger().Info("listener closed")
		return nil
	})
	e.Logger().Info("serving")

	rep, err := e.Shutdown(context.Background(), shardlog.Graceful(2*time.Second))
	if err != nil {
		panic(err)
	}
	d := rep.Drain
	fmt.Println("strategy:", d.Strategy, "clean:", d.Clean())
	for _, s := range rep.Sinks {
		fmt.Printf("%s: written %d, lost %d\n", s.Name, s.Written, d.Lost())
	}
	// Output:
	// level=INFO msg=serving
	// level=INFO msg="listener closed"
	// strategy: graceful(2s) clean: true
	// console: written 2, lost 0
}

// A file that gets one write a millisecond under a light input instead of
// one every few events: fewer system calls, events on disk up to about
// 2ms later. Sync (like Flush and Shutdown) does not wait for the
// interval, and every event is counted written only once its write
// returned.
func Example_writeCoalescing() {
	dir, _ := os.MkdirTemp("", "shardlog-example")
	defer os.RemoveAll(dir)
	file, err := shardlog.NewFile(shardlog.FileOptions{Path: filepath.Join(dir, "app.log")})
	if err != nil {
		panic(err)
	}
	e, err := shardlog.New(shardlog.WithSink(file, shardlog.SinkName("file")),
		shardlog.WithWriteCoalescing(time.Millisecond))
	if err != nil {
		panic(err)
	}
	log := e.Logger()
	for i := range 100 {
		log.Info("tick", shardlog.Int("i", i))
	}
	if err := log.Sync(); err != nil {
		panic(err)
	}
	fmt.Println("written:", e.Stats().Sinks[0].Written)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := e.Shutdown(ctx); err != nil {
		panic(err)
	}
	// Output:
	// written: 100
}
