// Package sinktest checks that a core.Sink keeps the contract documented
// on core.Sink, in the manner of testing/slogtest: every sink of the
// project, and any sink written for it elsewhere, calls Run from its tests.
//
// Run needs two things from the caller: a fresh sink, and a way to read
// back what reached its destination, one string per record without the
// final '\n'. A file sink reads its file; a network sink reads what its
// test server received (after waiting for it to arrive); an in-memory
// sink returns its lines:
//
//	func TestFileConformance(t *testing.T) {
//		sinktest.Run(t, func(t *testing.T) (core.Sink, func() []string) {
//			path := filepath.Join(t.TempDir(), "app.log")
//			s, err := sinks.NewFile(sinks.FileOptions{Path: path})
//			require.NoError(t, err)
//			return s, func() []string { return sinktest.ReadLines(t, path) }
//		}, sinktest.WithFormat(sinktest.JSONLines))
//	}
//
// Each behaviour is a subtest named for it (see Names), which calls the
// factory once. The suite writes events made by Events, and, for a sink
// that implements core.Encoding, gives each Entry the Line its Encoder
// makes, as the engine does. It recognises the record of event i by
// Message(i), which the sink's encoding must carry intact; a record
// carrying no such text (a syslog frame counting bytes, say) needs a
// read-back function that unwraps it first.
//
// Every record is also checked to be one line of valid UTF-8 without
// control characters, and, with WithFormat(JSONLines), one JSON object.
//
// The suite runs the sink from one goroutine at a time, as the engine
// does, and closes it when each subtest ends.
package sinktest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks"
)

// Factory returns a new sink and a function that reads back the records
// that have reached its destination so far, in order, each without its
// final '\n'. Run calls it once per subtest, with the subtest's t, so it
// may use t.TempDir and t.Cleanup.
type Factory func(t *testing.T) (sink core.Sink, readBack func() []string)

// Format says how the suite reads a record.
type Format int

const (
	// RawLines: a record is a line holding the event's message as text.
	RawLines Format = iota
	// JSONLines: a record is also one JSON object.
	JSONLines
)

// An Option changes how Run checks a sink.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	format  Format
	skip    []string
	timeout time.Duration
}

// WithFormat sets how records are read; the default is RawLines.
func WithFormat(f Format) Option {
	return optionFunc(func(c *config) { c.format = f })
}

// Skip skips the named subtests, for a sink that documents why it cannot
// pass them (a datagram sink and LargeEvent, say). Repeated uses add up;
// a name that is not a subtest of the suite fails Run.
func Skip(names ...string) Option {
	return optionFunc(func(c *config) { c.skip = append(c.skip, names...) })
}

// WithTimeout sets how long a call made with a cancelled context may take
// before HonoursCancelledContext fails; the default is 5 seconds.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout = d })
}

// test is one behaviour the suite checks.
type test struct {
	name string
	run  func(t *testing.T, h *harness)
}

// tests lists the subtests in the order Run runs them.
var tests = []test{
	{"WriteReturnsCountOfBatch", testWriteReturnsCountOfBatch},
	{"EmptyBatchIsNoop", testEmptyBatchIsNoop},
	{"OrderIsPreserved", testOrderIsPreserved},
	{"FlushMakesDataVisible", testFlushMakesDataVisible},
	{"CloseFlushes", testCloseFlushes},
	{"WriteAfterCloseReturnsErrClosed", testWriteAfterClose},
	{"FlushAfterCloseReturnsErrClosed", testFlushAfterClose},
	{"CloseTwice", testCloseTwice},
	{"DoesNotRetainBatch", testDoesNotRetainBatch},
	{"HonoursCancelledContext", testHonoursCancelledContext},
	{"HostileInput", testHostileInput},
	{"LargeEvent", testLargeEvent},
}

// Names returns the names of the suite's subtests, in the order Run runs
// them.
func Names() []string {
	names := make([]string, len(tests))
	for i, tc := range tests {
		names[i] = tc.name
	}
	return names
}

// Run checks the sinks made by newSink against the contract of core.Sink,
// one subtest per behaviour.
func Run(t *testing.T, newSink Factory, opts ...Option) {
	t.Helper()
	c := config{format: RawLines, timeout: 5 * time.Second}
	for _, o := range opts {
		o.apply(&c)
	}
	for _, name := range c.skip {
		if !slices.Contains(Names(), name) {
			t.Fatalf("sinktest: Skip: no subtest named %q; the names are %v", name, Names())
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if slices.Contains(c.skip, tc.name) {
				t.Skip("skipped by the caller with sinktest.Skip")
			}
			s, read := newSink(t)
			require.NotNil(t, s, "factory returned a nil sink")
			require.NotNil(t, read, "factory returned a nil read-back function")
			h := &harness{sink: s, read: read, cfg: &c}
			t.Cleanup(func() {
				if !h.hung {
					_ = s.Close(context.Background())
				}
			})
			tc.run(t, h)
		})
	}
}

// harness is the sink under test with what the suite knows about it.
type harness struct {
	sink core.Sink
	read func() []string
	cfg  *config
	hung bool // a call timed out and may still be running: do not call the sink again
}

// write writes evs as one batch and requires all of them written.
func (h *harness) write(t *testing.T, evs []core.Event) {
	t.Helper()
	n, err := h.sink.Write(context.Background(), Entries(h.sink, evs))
	if errors.Is(err, core.ErrNotAttempted) {
		t.Fatalf("Write did not attempt %d of %d entries of a healthy write (%v): a sink sheds only under load or by its own policy, and the suite applies neither", len(evs)-n, len(evs), err)
	}
	require.NoError(t, err, "Write")
	require.Equal(t, len(evs), n, "Write returned a count other than the batch length")
}

func (h *harness) flush(t *testing.T) {
	t.Helper()
	require.NoError(t, h.sink.Flush(context.Background()), "Flush")
}

func (h *harness) close(t *testing.T) {
	t.Helper()
	require.NoError(t, h.sink.Close(context.Background()), "Close")
}

// check reads the destination back and requires exactly the records of
// the events numbered want, in that order.
func (h *harness) check(t *testing.T, want ...int) {
	t.Helper()
	lines := h.read()
	if len(lines) != len(want) {
		t.Fatalf("read back %d records, want %d:\n%s", len(lines), len(want), preview(lines))
	}
	for j, i := range want {
		h.checkRecord(t, j, lines[j], Message(i))
	}
}

// checkRecord requires line to be one well-formed record holding msg.
func (h *harness) checkRecord(t *testing.T, j int, line, msg string) {
	t.Helper()
	if !strings.Contains(line, msg) {
		t.Fatalf("record %d does not hold %q (out of order, lost, or mangled): %s", j, msg, clip(line))
	}
	if !utf8.ValidString(line) {
		t.Fatalf("record %d is not valid UTF-8: %s", j, clip(line))
	}
	if k := strings.IndexFunc(line, func(r rune) bool { return r < 0x20 }); k >= 0 {
		t.Fatalf("record %d holds the raw control character %q at byte %d: %s", j, line[k], k, clip(line))
	}
	if h.cfg.format == JSONLines {
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatalf("record %d is not one JSON object: %v: %s", j, err, clip(line))
		}
	}
}

// seq returns from, from+1, ..., to-1.
func seq(from, to int) []int {
	s := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func testWriteReturnsCountOfBatch(t *testing.T, h *harness) {
	evs := Events(6)
	for _, b := range [][]core.Event{evs[:1], evs[1:]} {
		h.write(t, b)
	}
	h.flush(t)
	h.check(t, seq(0, 6)...)
}

func testEmptyBatchIsNoop(t *testing.T, h *harness) {
	for _, batch := range [][]core.Entry{nil, {}} {
		n, err := h.sink.Write(context.Background(), batch)
		require.NoError(t, err)
		require.Zero(t, n)
	}
	h.flush(t)
	h.check(t)
	// Nothing stray (an empty line, a frame) was left before this record.
	h.write(t, Events(1))
	h.flush(t)
	h.check(t, 0)
}

func testOrderIsPreserved(t *testing.T, h *harness) {
	evs := Events(30)
	for _, b := range [][2]int{{0, 1}, {1, 8}, {8, 9}, {9, 30}} {
		h.write(t, evs[b[0]:b[1]])
	}
	h.flush(t)
	h.check(t, seq(0, 30)...)
}

func testFlushMakesDataVisible(t *testing.T, h *harness) {
	evs := Events(5)
	h.write(t, evs[:3])
	h.flush(t)
	h.check(t, 0, 1, 2)
	h.write(t, evs[3:])
	h.flush(t)
	h.check(t, seq(0, 5)...)
}

func testCloseFlushes(t *testing.T, h *harness) {
	h.write(t, Events(3))
	h.close(t)
	h.check(t, 0, 1, 2)
}

func testWriteAfterClose(t *testing.T, h *harness) {
	h.close(t)
	for _, batch := range [][]core.Entry{Entries(h.sink, Events(1)), nil} {
		n, err := h.sink.Write(context.Background(), batch)
		require.ErrorIs(t, err, sinks.ErrClosed, "Write of %d entries after Close", len(batch))
		require.Zero(t, n)
	}
	h.check(t)
}

func testFlushAfterClose(t *testing.T, h *harness) {
	h.close(t)
	require.ErrorIs(t, h.sink.Flush(context.Background()), sinks.ErrClosed)
}

// testCloseTwice accepts either outcome sinks leave open to a second
// Close: nil (a no-op) or ErrClosed. The sink's own documentation says
// which.
func testCloseTwice(t *testing.T, h *harness) {
	h.write(t, Events(2))
	h.close(t)
	err := h.sink.Close(context.Background())
	if err != nil {
		require.ErrorIs(t, err, sinks.ErrClosed, "second Close must return nil or ErrClosed")
	}
	h.check(t, 0, 1)
}

// testDoesNotRetainBatch plays the engine: once Write returns it
// overwrites the events and lines it passed, then reuses the same batch,
// events and line buffers for the next batch.
func testDoesNotRetainBatch(t *testing.T, h *harness) {
	evs := Events(8)
	slots := slices.Clone(evs[:4]) // the engine's ring slots
	batch := Entries(h.sink, slots)
	n, err := h.sink.Write(context.Background(), batch)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	scribble(batch)

	copy(slots, evs[4:])
	enc := encoderOf(h.sink)
	for i := range batch {
		batch[i].Event = &slots[i]
		if enc != nil {
			batch[i].Line = enc.Append(batch[i].Line[:0], &slots[i])
		}
	}
	n, err = h.sink.Write(context.Background(), batch)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	scribble(batch)

	h.close(t)
	lines := h.read()
	for j, line := range lines {
		if strings.Contains(line, "MUTATED") || strings.Contains(line, "XXXXXXXX") {
			t.Fatalf("record %d shows a change made to the batch after Write returned: %s", j, clip(line))
		}
	}
	h.check(t, seq(0, 8)...)
}

// scribble overwrites everything a sink could have kept from batch.
func scribble(batch []core.Entry) {
	for i := range batch {
		line := batch[i].Line
		for j := range line {
			if line[j] != '\n' {
				line[j] = 'X'
			}
		}
		e := batch[i].Event
		fields := e.Fields()
		for k := range fields {
			fields[k] = core.String("MUTATED", "MUTATED")
		}
		e.Message, e.Logger = "MUTATED", "MUTATED"
		e.Time = e.Time.Add(99 * time.Hour)
	}
}

func testHonoursCancelledContext(t *testing.T, h *harness) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	evs := Events(6)

	var n int
	var err error
	h.within(t, "Write with a cancelled context", func() {
		n, err = h.sink.Write(ctx, Entries(h.sink, evs[:3]))
	})
	if err != nil {
		require.ErrorIs(t, err, context.Canceled, "Write with a cancelled context failed with another error")
		require.LessOrEqual(t, n, 3)
		require.GreaterOrEqual(t, n, 0)
	} else {
		require.Equal(t, 3, n, "Write with a cancelled context returned nil but did not write the batch")
	}
	h.within(t, "Flush with a cancelled context", func() { err = h.sink.Flush(ctx) })
	if err != nil {
		require.ErrorIs(t, err, context.Canceled, "Flush with a cancelled context failed with another error")
	}

	// The sink is still usable with a live context, and wrote exactly the
	// n entries it reported.
	h.write(t, evs[3:])
	h.flush(t)
	h.check(t, append(seq(0, n), seq(3, 6)...)...)

	// Close releases the sink even with a cancelled context.
	h.within(t, "Close with a cancelled context", func() { err = h.sink.Close(ctx) })
	if err != nil {
		require.ErrorIs(t, err, context.Canceled, "Close with a cancelled context failed with another error")
	}
	_, err = h.sink.Write(context.Background(), Entries(h.sink, evs[:1]))
	require.ErrorIs(t, err, sinks.ErrClosed, "Write after a Close with a cancelled context")
}

// within runs f, failing the test if it has not returned after the
// configured timeout. f runs on another goroutine, but never alongside
// another call to the sink: after a timeout the sink is not called again.
func (h *harness) within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	timer := time.NewTimer(h.cfg.timeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		h.hung = true
		t.Fatalf("%s did not return within %v", what, h.cfg.timeout)
	}
}

// hostile are message suffixes that a sink must not let split, forge or
// corrupt a record.
var hostile = []string{
	"line\nbreak",
	"forged\n{\"level\":\"ERROR\",\"msg\":\"event 999999\"}",
	"carriage\rreturn",
	"crlf\r\n",
	"escape \x1b[31mred\x1b[0m",
	"invalid \xff\xfe UTF-8 \xc3",
	"nul \x00 byte",
	"separators \u2028 and \u2029",
	"tab\tquote\" backslash\\",
	"trailing newline\n",
	"",
}

func testHostileInput(t *testing.T, h *harness) {
	evs := Events(len(hostile))
	for i, s := range hostile {
		evs[i].Message = Message(i) + " " + s
		evs[i].Logger = "logger\n" + s
		evs[i].AddField(core.String("key\n"+s, s))
		evs[i].AddField(core.Bytes("bytes", []byte(s)))
	}
	h.write(t, evs[:1])
	h.write(t, evs[1:])
	h.flush(t)
	h.check(t, seq(0, len(evs))...)
}

// LargeMessage is the size of the message LargeEvent writes.
const LargeMessage = 1 << 20

func testLargeEvent(t *testing.T, h *harness) {
	evs := Events(3)
	big := strings.Repeat("x", LargeMessage)
	evs[1].Message = Message(1) + " " + big
	h.write(t, evs[:1])
	h.write(t, evs[1:])
	h.flush(t)
	h.check(t, 0, 1, 2)
	if line := h.read()[1]; !strings.Contains(line, big) {
		t.Fatalf("the large record lost part of its message: %d bytes read back, message of %d", len(line), LargeMessage)
	}
}

// base is the time of the first event Events makes.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

// scope is the logger scope of every third event; it is never modified.
var scope = (*core.Scope)(nil).With([]core.Field{core.String("service", "sinktest")}).WithGroup("req")

// Message returns the message of event i of Events: "event " and i in six
// digits, so that no event's message contains another's.
func Message(i int) string { return fmt.Sprintf("event %06d", i) }

// Events returns n events, the same on every call: event i has message
// Message(i), a time i milliseconds after a fixed UTC instant, Mono i+1,
// a level cycling through Info, Debug, Warn and Error, and fields of
// several kinds. Every third event carries a scope with a group, and every
// fifth has more fields than an Event holds inline.
func Events(n int) []core.Event {
	levels := [...]core.Level{core.LevelInfo, core.LevelDebug, core.LevelWarn, core.LevelError}
	evs := make([]core.Event, n)
	for i := range evs {
		e := &evs[i]
		e.Time = base.Add(time.Duration(i) * time.Millisecond)
		e.Mono = int64(i + 1)
		e.Level = levels[i%len(levels)]
		e.Message = Message(i)
		e.Logger = "sinktest"
		if i%3 == 2 {
			e.Scope = scope
		}
		e.SetFields([]core.Field{
			core.Int("seq", i),
			core.String("user", "alice"),
			core.Bool("even", i%2 == 0),
			core.Duration("took", time.Duration(i)*time.Microsecond),
			core.Float64("ratio", float64(i)/4),
		})
		if i%5 == 4 {
			for k := range core.InlineFields + 2 {
				e.AddField(core.Int(fmt.Sprintf("k%d", k), k))
			}
		}
	}
	return evs
}

// Entries returns a batch holding a pointer to each of events, with the
// Line the sink's Encoder makes when the sink implements core.Encoding,
// as the engine fills it. Each Line has its own backing array.
func Entries(s core.Sink, events []core.Event) []core.Entry {
	enc := encoderOf(s)
	batch := make([]core.Entry, len(events))
	for i := range events {
		batch[i].Event = &events[i]
		if enc != nil {
			batch[i].Line = enc.Append(nil, &events[i])
		}
	}
	return batch
}

func encoderOf(s core.Sink) core.Encoder {
	if e, ok := s.(core.Encoding); ok {
		return e.Encoder()
	}
	return nil
}

// SplitLines splits a stream of records into records, each without its
// '\n'. A final record without '\n' is kept; an empty stream has none.
func SplitLines(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// ReadLines reads the files at paths, in order, and splits their records
// with SplitLines. A file that does not exist holds no records.
func ReadLines(t testing.TB, paths ...string) []string {
	t.Helper()
	var all []byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		require.NoError(t, err)
		all = append(all, data...)
	}
	return SplitLines(all)
}

// clip shortens a record for a failure message.
func clip(s string) string {
	const max = 200
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q... (%d bytes)", s[:max], len(s))
}

func preview(lines []string) string {
	var b bytes.Buffer
	for i, l := range lines {
		if i == 10 {
			fmt.Fprintf(&b, "  ... %d more\n", len(lines)-i)
			break
		}
		fmt.Fprintf(&b, "  %d: %s\n", i, clip(l))
	}
	return b.String()
}
