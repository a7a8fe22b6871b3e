// Command loadgen drives a service-like workload through the shardlog
// engine and reports what became of every event.
//
// Each of -goroutines goroutines logs "request handled" events with
// -fields fields on a fixed schedule (open loop: -rate events per second
// in total, or as fast as it can with -rate 0) for -duration, into the
// sinks chosen by -sink. A progress line goes to standard error while it
// runs; at the end the engine is shut down and a report goes to standard
// output: the engine's per-sink accounting, the latency of the log calls,
// the delivered throughput, and whether the accounting identity
//
//	accepted == written + diverted + failed + dropped + pending
//
// holds for every sink. Exit status: 0 when it does and nothing failed; 1
// when it does not, the shutdown failed, a sink failed events or wrote
// none, or the engine reported errors ("run: FAILED" says which); 130
// when the run was interrupted ("run: INTERRUPTED"); 2 for invalid flags.
// Drops by policy (queue-full under DropOldest, say) are reported, not
// failed: they are the configuration's choice. The service latency at
// low rates includes the generator's own timer lateness (a sleep on
// Linux overshoots by up to a millisecond); compare it with the call
// latency there.
//
// Usage:
//
//	go run ./cmd/loadgen [flags]
//	go run ./cmd/loadgen -duration 3s -sink discard -json
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/core"
)

// Limits on flag values.
const (
	// maxGoroutines bounds -goroutines: each goroutine has two latency
	// histograms of its own, about 0.9 MiB together.
	maxGoroutines = 256
	// maxFields is the number of fields in the event table.
	maxFields = len(fieldMakers)
)

// File sink settings.
const (
	logFileName   = "loadgen.log"
	logMaxSizeMB  = 64
	logMaxBackups = 3
)

// shutdownTimeout bounds the final drain.
const shutdownTimeout = 10 * time.Second

// config is the validated command line.
type config struct {
	goroutines    int
	rate          int // events/s over all goroutines; 0: closed loop
	duration      time.Duration
	queue         shardlog.QueueKind
	policy        shardlog.Policy
	sink          string // file, console, both or discard
	dir           string
	consoleFormat string // text or json
	fields        int
	shards        int           // 0: the engine's default
	capacity      int           // 0: the engine's default
	coalesce      time.Duration // WithWriteCoalescing; 0: off
	progress      time.Duration
	jsonReport    bool
	metricsJSON   string // file for the final Metrics snapshot, or ""
	metricsAddr   string // address to serve /metrics.json on while running, or ""
}

func (c config) usesFile() bool    { return c.sink == "file" || c.sink == "both" }
func (c config) usesConsole() bool { return c.sink == "console" || c.sink == "both" }
func (c config) logPath() string   { return filepath.Join(c.dir, logFileName) }

// parseFlags reads the command line. -h prints the usage to help and
// returns flag.ErrHelp; every other error is a usage error (exit status 2)
// that names the flag at fault.
func parseFlags(args []string, help io.Writer) (config, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, not printed
	var c config
	var queue, policy string
	fs.IntVar(&c.goroutines, "goroutines", 8, fmt.Sprintf("logging goroutines, 1..%d", maxGoroutines))
	fs.IntVar(&c.rate, "rate", 200000, "target events/s over all goroutines, on a fixed schedule; 0 logs as fast as possible (closed loop)")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long to generate load")
	fs.StringVar(&queue, "queue", shardlog.LockFree.String(), "queue: lockfree or mutex")
	fs.StringVar(&policy, "policy", shardlog.DropOldest.String(), "overflow policy: drop-oldest, drop-newest or block")
	fs.StringVar(&c.sink, "sink", "file", "sinks: file, console (standard error), both, or discard (counts, writes nothing)")
	fs.StringVar(&c.dir, "dir", "./logs", "directory of the file sink's "+logFileName+" (JSON lines, rotated at 64 MiB, 3 backups)")
	fs.StringVar(&c.consoleFormat, "console-format", "text", "console sink format: text or json")
	fs.IntVar(&c.fields, "fields", 5, fmt.Sprintf("fields per event, 1..%d", maxFields))
	fs.IntVar(&c.shards, "shards", 0, "queue shards, a power of two; 0: GOMAXPROCS rounded up to a power of two")
	fs.IntVar(&c.capacity, "capacity", 0, fmt.Sprintf("slots per shard, a power of two >= 2; 0: %d", shardlog.DefaultCapacity))
	fs.DurationVar(&c.coalesce, "coalesce", 0, "let each sink writer wait up to this long to gather a light input into one write (WithWriteCoalescing); 0: off")
	fs.DurationVar(&c.progress, "progress", time.Second, "progress line interval; 0 disables it")
	fs.BoolVar(&c.jsonReport, "json", false, "print the final report as JSON")
	fs.StringVar(&c.metricsJSON, "metrics-json", "", "write the engine's final metrics (schema "+shardlog.MetricsSchema+") to this file")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "serve the engine's metrics while the load runs, as JSON at http://ADDR/metrics.json and for Prometheus at http://ADDR/metrics (e.g. 127.0.0.1:9100)")

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(help)
			fmt.Fprintf(help, "Usage: loadgen [flags]\n\nFlags:\n")
			fs.PrintDefaults()
			return c, err
		}
		// The flag package's messages name the flag: "invalid value "x"
		// for flag -rate: parse error".
		return c, fmt.Errorf("loadgen: %w", err)
	}
	bad := func(format string, args ...any) (config, error) {
		return c, fmt.Errorf("loadgen: "+format, args...)
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q (flags only)", fs.Arg(0))
	}
	var err error
	if c.queue, err = shardlog.ParseQueueKind(queue); err != nil {
		return bad("-queue: %v", err)
	}
	if c.policy, err = shardlog.ParsePolicy(policy); err != nil {
		return bad("-policy: %v", err)
	}
	switch {
	case c.goroutines < 1 || c.goroutines > maxGoroutines:
		return bad("-goroutines must be in 1..%d, got %d", maxGoroutines, c.goroutines)
	case c.rate < 0:
		return bad("-rate must be >= 0 (0: as fast as possible), got %d", c.rate)
	case c.duration <= 0:
		return bad("-duration must be > 0, got %v", c.duration)
	case c.sink != "file" && c.sink != "console" && c.sink != "both" && c.sink != "discard":
		return bad("-sink must be file, console, both or discard, got %q", c.sink)
	case c.usesFile() && c.dir == "":
		return bad("-dir must not be empty with -sink %s", c.sink)
	case c.consoleFormat != "text" && c.consoleFormat != "json":
		return bad("-console-format must be text or json, got %q", c.consoleFormat)
	case c.fields < 1 || c.fields > maxFields:
		return bad("-fields must be in 1..%d, got %d", maxFields, c.fields)
	case c.shards < 0:
		return bad("-shards must be >= 0 (0: the default), got %d", c.shards)
	case c.capacity < 0:
		return bad("-capacity must be >= 0 (0: the default), got %d", c.capacity)
	case c.progress < 0:
		return bad("-progress must be >= 0 (0: off), got %v", c.progress)
	}
	return c, nil
}

// pipeline is an engine and the sinks it was built with.
type pipeline struct {
	eng     *shardlog.Engine
	discard *discardSink // nil unless -sink discard
}

// build makes the sinks and the engine of c. Its errors come from the flag
// values (an unwritable -dir, a -shards the engine refuses) and are
// returned as the sinks and the engine word them.
func build(c config, console io.Writer) (*pipeline, error) {
	p := &pipeline{}
	opts := []shardlog.Option{
		shardlog.WithQueue(c.queue),
		shardlog.WithOverflow(c.policy),
	}
	if c.shards > 0 {
		opts = append(opts, shardlog.WithShards(c.shards))
	}
	if c.capacity > 0 {
		opts = append(opts, shardlog.WithCapacity(c.capacity))
	}
	if c.coalesce != 0 {
		opts = append(opts, shardlog.WithWriteCoalescing(c.coalesce))
	}
	// The engine's options are checked before the log file is made: a
	// configuration New refuses leaves nothing behind.
	probe, err := shardlog.New(append(opts[:len(opts):len(opts)], shardlog.WithSink(&discardSink{}))...)
	if err != nil {
		return nil, err
	}
	shutdownQuietly(probe)
	var file *shardlog.File
	if c.usesFile() {
		f, err := shardlog.NewFile(shardlog.FileOptions{
			Path:       c.logPath(),
			MaxSizeMB:  logMaxSizeMB,
			MaxBackups: logMaxBackups,
		})
		if err != nil {
			return nil, err
		}
		file = f
		opts = append(opts, shardlog.WithSink(f, shardlog.SinkName("file")))
	}
	if c.usesConsole() {
		var enc core.Encoder = shardlog.Text{}
		if c.consoleFormat == "json" {
			enc = shardlog.JSON{}
		}
		s, err := shardlog.NewConsole(shardlog.ConsoleOptions{Out: console, Encoder: enc})
		if err != nil {
			return nil, err
		}
		opts = append(opts, shardlog.WithSink(s, shardlog.SinkName("console")))
	}
	if c.sink == "discard" {
		p.discard = &discardSink{}
		opts = append(opts, shardlog.WithSink(p.discard, shardlog.SinkName("discard")))
	}
	// An interrupt ends a Block wait at once (the calls pass the run's
	// context).
	opts = append(opts, shardlog.WithContextBoundsWait(true))
	eng, err := shardlog.New(opts...)
	if err != nil {
		if file != nil {
			_ = file.Close(context.Background())
		}
		return nil, err
	}
	p.eng = eng
	return p, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, stop, os.Args[1:], os.Stdout, os.Stderr, isTerminal(os.Stderr))
	stop()
	os.Exit(code)
}

// runMain is the whole command; it returns the exit status. stdout gets
// the report; stderr the progress line, the console sink and errors.
// Once the load has been generated it calls stopSignals, so that a second
// interrupt during the drain kills the process.
func runMain(ctx context.Context, stopSignals func(), args []string, stdout, stderr io.Writer, tty bool) int {
	c, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		fmt.Fprintln(stderr, "Run 'loadgen -h' for the flags.")
		return 2
	}
	// What can be refused is refused before build makes the log file: the
	// metrics address, and the metrics file (created now, so that a bad
	// path is not found after the run, throwing its report away).
	ln, err := listenMetrics(c.metricsAddr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	var metricsFile *os.File
	if c.metricsJSON != "" {
		if metricsFile, err = os.Create(c.metricsJSON); err != nil {
			fmt.Fprintf(stderr, "loadgen: -metrics-json: %v\n", err)
			if ln != nil {
				_ = ln.Close()
			}
			return 2
		}
		defer metricsFile.Close()
	}
	p, err := build(c, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		if ln != nil {
			_ = ln.Close()
		}
		if metricsFile != nil {
			_ = os.Remove(c.metricsJSON)
		}
		return 2
	}
	// The console sink shares standard error with the progress line: a
	// line rewritten in place would be torn by log lines.
	tty = tty && !c.usesConsole()
	stopServer := func() {}
	if ln != nil {
		_, stopServer = serveMetricsOn(ln, p.eng)
	}
	res, err := runLoad(ctx, c, p, stderr, tty, stopSignals)
	stopServer()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if metricsFile != nil {
		if err := writeMetrics(metricsFile, p.eng); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	if c.jsonReport {
		err = res.writeJSON(stdout)
	} else {
		err = res.writeText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: writing the report: %v\n", err)
		return 1
	}
	switch {
	case res.Interrupted:
		return 130 // as a shell reports a run ended by SIGINT
	case !res.ok():
		return 1
	}
	return 0
}

// shutdownQuietly shuts an engine down after a usage error: its files are
// closed and its goroutines stopped before the command exits.
func shutdownQuietly(e *shardlog.Engine) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	_, _ = e.Shutdown(ctx)
}

// isTerminal reports whether f is a character device, where the progress
// line can be rewritten in place.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// capacityOrDefault is the slots per shard the engine uses.
func (c config) capacityOrDefault() int {
	if c.capacity > 0 {
		return c.capacity
	}
	return shardlog.DefaultCapacity
}

// runLoad generates the load of c through p, with progress lines on
// progressOut every c.progress, then shuts the engine down and returns the
// report. When ctx is done the load stops early and the run is reported
// as far as it went. stopSignals, if not nil, is called once the load
// stops, before the drain.
func runLoad(ctx context.Context, c config, p *pipeline, progressOut io.Writer, tty bool, stopSignals func()) (*result, error) {
	w, err := newWorkload(c, p.eng.Logger().Named("http"))
	if err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		_, _ = p.eng.Shutdown(ctx)
		return nil, err
	}
	start := time.Now()
	stopProgress, progressDone := make(chan struct{}), make(chan struct{})
	if c.progress > 0 {
		go func() {
			defer close(progressDone)
			newProgress(progressOut, tty, p.eng, w, start).run(c.progress, stopProgress)
		}()
	} else {
		close(progressDone)
	}

	w.run(ctx, start, c.duration)
	generate := time.Since(start)
	interrupted := ctx.Err() != nil
	if stopSignals != nil {
		stopSignals()
	}

	// The progress line keeps going through the drain, so a slow one shows.
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	rep, shutdownErr := p.eng.Shutdown(sctx)
	cancel()
	wall := time.Since(start)
	close(stopProgress)
	<-progressDone

	discarded := int64(-1)
	if p.discard != nil {
		discarded = int64(p.discard.Events())
	}
	res := newResult(c, p.eng, w, rep, shutdownErr, generate, wall, discarded)
	res.Interrupted = interrupted
	return res, nil
}

// serveMetrics serves the engine's metrics at addr/metrics.json and, in
// Prometheus's text format, at addr/metrics, until
// the returned stop is called, and returns the address it listens on;
// with an empty addr it does nothing.
func serveMetrics(addr string, e *shardlog.Engine) (net.Addr, func(), error) {
	ln, err := listenMetrics(addr)
	if err != nil || ln == nil {
		return nil, func() {}, err
	}
	a, stop := serveMetricsOn(ln, e)
	return a, stop, nil
}

// listenMetrics listens on addr for the metrics server (nil for none), so
// that a bad address is refused before the run makes any file.
func listenMetrics(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("loadgen: -metrics-addr: %w", err)
	}
	return ln, nil
}

// serveMetricsOn serves e's metrics on ln until the returned stop.
func serveMetricsOn(ln net.Listener, e *shardlog.Engine) (net.Addr, func()) {
	mux := http.NewServeMux()
	mux.Handle("/metrics.json", e.MetricsHandler())
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_ = writePromText(w, e.Metrics(false))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return ln.Addr(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}
}

// writeMetrics writes the engine's final metrics, histograms included, as
// indented JSON to path.
func writeMetrics(f *os.File, e *shardlog.Engine) error {
	data, err := json.MarshalIndent(e.Metrics(true), "", "  ")
	if err != nil {
		return fmt.Errorf("loadgen: -metrics-json: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("loadgen: -metrics-json: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("loadgen: -metrics-json: %w", err)
	}
	return nil
}
