package shardlogtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/core"
)

// DefaultTimeout is Config.Timeout when it is zero.
const DefaultTimeout = 5 * time.Second

// Config configures the helper itself; the engine's options are passed
// to New and NewWithConfig separately. The zero Config is New's.
type Config struct {
	// Quiet leaves out the t.Log sink; the observer still records every
	// event.
	Quiet bool
	// Encoder formats the lines written to t.Log. Nil means shardlog.Text
	// without the time: t.Log keeps the lines in order, and without the
	// time they are short and the same on every run.
	Encoder core.Encoder
	// Timeout bounds each wait of the helper: a Block call's wait for room
	// (shardlog.WithBlockTimeout), each read's wait for delivery, and the
	// shutdown in t.Cleanup. Zero means DefaultTimeout.
	Timeout time.Duration
	// Allow lists the drop reasons the cleanup accepts, for a test that
	// drops events on purpose (a filter under test, a deliberate
	// overflow); for example engine.Filtered. Failed and pending events
	// always fail the test.
	Allow []shardlog.Reason
}

// The sink names, as they appear in the engine's Report and in failures.
const (
	TestLogSinkName  = "testlog"
	ObserverSinkName = "observer"
)

// A test engine's queue is smaller than the engine's default: a test run
// may hold many engines at once (parallel tests), and Block makes a full
// queue wait rather than drop. Fewer shards also mean fewer flushers to
// schedule: with 16 of them on 2 CPUs under -race (go test -cpu 16),
// delivering 9600 events took about 4s, past a read's wait; with 4, under
// 1s.
const (
	testCapacity  = 256
	testMaxShards = 4
)

// testShards is GOMAXPROCS, as the engine's default, capped at
// testMaxShards and kept a power of two.
func testShards() int {
	n := 1
	for n < testMaxShards && n < runtime.GOMAXPROCS(0) {
		n *= 2
	}
	return n
}

// New returns a logger for the test t and the events it records. It is
// NewWithConfig with the zero Config: level Debug, overflow policy Block,
// a small queue (at most 4 shards of 256 slots), each event written to
// t.Log and kept for Observed; t.Cleanup shuts the engine down and fails
// the test if an event was lost. opts are the engine's options, applied
// after these defaults so that they win.
// An option New refuses fails the test at once (t.Fatalf).
func New(t testing.TB, opts ...shardlog.Option) (*shardlog.Logger, *Observed) {
	t.Helper()
	return NewWithConfig(t, Config{}, opts...)
}

// NewWithConfig is New configured by cfg.
func NewWithConfig(t testing.TB, cfg Config, opts ...shardlog.Option) (*shardlog.Logger, *Observed) {
	t.Helper()
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	out := &testOutput{t: t}
	obs := &Observed{out: out, timeout: timeout}

	base := []shardlog.Option{
		shardlog.WithLevel(shardlog.LevelDebug),
		shardlog.WithOverflow(shardlog.Block),
		shardlog.WithBlockTimeout(timeout),
		shardlog.WithShards(testShards()),
		shardlog.WithCapacity(testCapacity),
		shardlog.WithErrorHandler(func(err error) { out.errorf("shardlogtest: %v", err) }),
	}
	if !cfg.Quiet {
		enc := cfg.Encoder
		if enc == nil {
			keys := shardlog.DefaultKeys()
			keys.Time = ""
			enc = shardlog.Text{Keys: keys}
		}
		base = append(base, shardlog.WithSink(&testLogSink{out: out, enc: enc}, shardlog.SinkName(TestLogSinkName)))
	}
	base = append(base, shardlog.WithSink(&obs.sink, shardlog.SinkName(ObserverSinkName)))

	e, err := shardlog.New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("shardlogtest: %v", err)
		return nil, nil // a fake t whose Fatalf returns
	}
	obs.e = e
	allow := slices.Clone(cfg.Allow)
	t.Cleanup(func() {
		t.Helper()
		finish(t, e, out, timeout, allow)
	})
	return e.Logger(), obs
}

// finish is the cleanup: shut down, stop calling t from the engine's
// goroutines, then fail the test for what the accounting shows lost.
func finish(t testing.TB, e *shardlog.Engine, out *testOutput, timeout time.Duration, allow []shardlog.Reason) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	rep, err := e.Shutdown(ctx)
	// The shutdown's last lines went to t.Log above; anything later (a
	// sink call that outlived the deadline) must not reach t.
	out.close()
	if err != nil {
		t.Errorf("shardlogtest: shutdown: %v", err)
	}
	if lost := losses(rep, allow); len(lost) > 0 {
		t.Errorf("shardlogtest: the test logger lost events: %s", strings.Join(lost, "; "))
	}
}

// losses describes, per sink, what rep shows dropped (for a reason not in
// allow), failed or pending.
func losses(rep shardlog.Report, allow []shardlog.Reason) []string {
	var out []string
	for _, s := range rep.Sinks {
		var parts []string
		for _, r := range shardlog.Reasons() {
			if n := s.Dropped.Count(r); n > 0 && !slices.Contains(allow, r) {
				parts = append(parts, fmt.Sprintf("%d dropped (%s)", n, r))
			}
		}
		if s.Failed > 0 {
			parts = append(parts, fmt.Sprintf("%d failed", s.Failed))
		}
		if s.Pending > 0 {
			p := fmt.Sprintf("%d pending", s.Pending)
			if s.Stuck {
				p += " (the sink is stuck in a call)"
			}
			parts = append(parts, p)
		}
		if len(parts) > 0 {
			out = append(out, fmt.Sprintf("sink %q: %s", s.Name, strings.Join(parts, ", ")))
		}
	}
	return out
}

// testOutput is the helper's way to t from any goroutine. It serializes
// the calls and refuses them once close has run, because t.Log and
// t.Errorf panic after the test has completed; close waits for a call in
// progress, so none outlives the cleanup.
type testOutput struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

// errTestDone is what the t.Log sink returns for lines that arrive after
// the cleanup.
var errTestDone = errors.New("shardlogtest: the test has finished")

func (o *testOutput) log(line string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done {
		return false
	}
	// No t.Helper here: the caller is the engine's writer goroutine, and
	// skipping this frame would only name an engine file instead.
	o.t.Log(line)
	return true
}

func (o *testOutput) errorf(format string, args ...any) {
	o.t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.done {
		o.t.Errorf(format, args...)
	}
}

func (o *testOutput) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.done = true
}

// testLogSink writes each event's line to t.Log. It implements
// core.Encoding, so the engine hands it the lines already encoded.
type testLogSink struct {
	out *testOutput
	enc core.Encoder
}

var (
	_ core.Sink     = (*testLogSink)(nil)
	_ core.Encoding = (*testLogSink)(nil)
)

func (s *testLogSink) Encoder() core.Encoder { return s.enc }

func (s *testLogSink) Write(_ context.Context, batch []core.Entry) (int, error) {
	for i, en := range batch {
		line := en.Line
		if line == nil { // only when called outside the engine
			line = s.enc.Append(nil, en.Event)
		}
		// t.Log ends the line itself.
		if !s.out.log(string(bytes.TrimSuffix(line, []byte("\n")))) {
			return i, errTestDone
		}
	}
	return len(batch), nil
}

func (s *testLogSink) Flush(context.Context) error { return nil }
func (s *testLogSink) Close(context.Context) error { return nil }
