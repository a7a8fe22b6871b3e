package engine_test

import (
	"context"
	"encoding/json"
	"io"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/ring"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
)

// gatedSink passes writes to its inner sink, except that while stalled is
// set a Write waits for the gate to open (a disk that stops for a while).
type gatedSink struct {
	core.Sink
	stalled atomic.Bool
	entered chan struct{}
	gate    chan struct{}
}

func newGatedSink(inner core.Sink) *gatedSink {
	return &gatedSink{Sink: inner, entered: make(chan struct{}, 1), gate: make(chan struct{})}
}

func (g *gatedSink) Write(ctx context.Context, es []core.Entry) (int, error) {
	if g.stalled.Load() {
		select {
		case g.entered <- struct{}{}:
		default:
		}
		<-g.gate
	}
	return g.Sink.Write(ctx, es)
}

// logThroughAStall logs 0.6s of events at stallRate from 8 goroutines
// while g's sink stalls for 250ms in the middle (its writer inside a
// Write that does not return), then flushes; it returns how many it
// logged.
func logThroughAStall(t *testing.T, e *engine.Engine, g *gatedSink) int {
	t.Helper()
	n := stallRate * 6 / 10
	done := make(chan struct{})
	go func() {
		defer close(done)
		logAtRate(e.Logger(), 8, n, stallRate)
	}()
	time.Sleep(150 * time.Millisecond)
	g.stalled.Store(true)
	<-g.entered
	time.Sleep(250 * time.Millisecond)
	g.stalled.Store(false)
	close(g.gate)
	<-done
	flush(t, e)
	return n
}

// logAtRate logs n events from goroutines spread over the run at up to
// rate events/s in total, and returns once all are logged.
func logAtRate(l *engine.Logger, goroutines, n, rate int) {
	var wg sync.WaitGroup
	per := n / goroutines
	interval := time.Duration(int64(time.Second) * int64(goroutines) / int64(rate))
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			for i := range per {
				if due := start.Add(time.Duration(i) * interval); time.Until(due) > time.Millisecond {
					time.Sleep(time.Until(due))
				}
				l.Info("request handled", core.String("method", "GET"), core.Int("status", 200),
					core.Int("g", g), core.Int("i", i), core.Bool("cached", false))
			}
		}()
	}
	wg.Wait()
}

// The default configuration absorbs a stall of its only sink: 250ms
// without a returning Write, in the middle of a run at up to 200 000
// events/s (40 000 under the race detector, stallRate), loses nothing.
// Mutation caught: lanes of 4 batches (the depth without a budget) drop
// ~48 000 events of the stall as sink-lagging.
func TestSinkStallIsAbsorbedByTheBudget(t *testing.T) {
	forEachQueue(t, func(t *testing.T, q engine.QueueKind) {
		// JSON to io.Discard: a file sink without the disk (a sink that kept
		// every event, as the memory sink does, makes the heap and so the
		// collector's work grow with the test instead of the queue).
		out, err := sinks.NewWriter(io.Discard, format.JSON{})
		require.NoError(t, err)
		g := newGatedSink(out)
		e := newEngine(t, engine.WithQueue(q), engine.WithSink(g, engine.SinkName("disk")))
		n := logThroughAStall(t, e, g)
		rep := e.Stats()
		s := rep.Sinks[0]
		require.Equal(t, uint64(n), s.Accepted)
		require.Zero(t, s.Dropped.Total(), "a 250ms stall is absorbed: %+v", s.Dropped)
		require.Equal(t, uint64(n), s.Written)
		requireBalanced(t, rep)
		b := e.Metrics(false).Engine.Budget
		require.NotNil(t, b)
		require.Positive(t, b.Peak, "the stall was held in the budget")
		require.Less(t, b.Peak, b.Limit)
		t.Logf("budget peak %d KiB of %d KiB", b.Peak>>10, b.Limit>>10)
	})
}

// slowWriter takes delay per write: a sink that can take far less than
// it is sent.
type slowWriter struct{ delay time.Duration }

func (w slowWriter) Write(p []byte) (int, error) {
	time.Sleep(w.delay)
	return len(p), nil
}

func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// flood starts goroutines that log msg, with a fresh 200-byte payload
// each call, as fast as they can for d; wait on the result for them.
func flood(e *engine.Engine, msg string, goroutines int, d time.Duration) *sync.WaitGroup {
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				e.Logger().Info(msg, core.Int("g", g), core.Int("i", i), core.String("payload", strings.Repeat("p", 200)))
			}
		}()
	}
	return &wg
}

// A flood far beyond what the sink can take, from 16 goroutines: the live
// heap stays within MaxQueueBytes plus the engine's overhead
// (MemoryOverhead: rings, free lists, the batch in hand, lanes),
// every drop is counted by reason, and once the flood stops and the sink
// catches up nothing more is dropped. Mutation caught: calls admitted
// while the budget is over and the flushers not shedding (2 of 2 runs:
// charged peak 56-61 MiB, live heap 75-86 MiB). Shedding and admission
// each bound the flood alone, and the spill and the encodings charge the
// budget too, so no single one of them is caught. (Before the spill, not
// charging drained events alone took the live heap to 60-79 MiB.)
func TestFloodStaysWithinTheBudget(t *testing.T) {
	const budgetBytes = 8 << 20
	runtime.GC()
	base := liveHeap()
	out, err := sinks.NewWriter(slowWriter{delay: 2 * time.Millisecond}, format.JSON{})
	require.NoError(t, err)
	e := newEngine(t, engine.WithCapacity(1024), engine.WithMaxQueueBytes(budgetBytes),
		engine.WithSink(out, engine.SinkName("slow")))

	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			if h := liveHeap(); h > base && h-base > peak.Load() {
				peak.Store(h - base)
			}
		}
	}()
	wg := flood(e, "flood", 16, 1500*time.Millisecond)
	wg.Wait()
	close(stop)
	<-sampled

	flush(t, e)
	before := e.Stats().Sinks[0]
	// Shed by the budget, or (when the flusher is starved of processor
	// time, under a loaded test run) refused by the ring: either way,
	// counted by reason.
	require.Positive(t, before.Dropped.Budget+before.Dropped.QueueFullOldest+before.Dropped.QueueFullNewest,
		"the flood was shed: %+v", before.Dropped)
	requireBalanced(t, e.Stats())
	// After the flood: everything logged is delivered.
	for i := range 1000 {
		e.Logger().Info("after", core.Int("i", i))
	}
	flush(t, e)
	after := e.Stats().Sinks[0]
	require.Equal(t, before.Dropped.Total(), after.Dropped.Total(), "nothing dropped once the flood stopped")
	require.Equal(t, before.Written+1000, after.Written)

	m := e.Metrics(false).Engine
	// What the engine keeps outside the budget at this configuration
	// (MemoryOverhead), what the budget charged late past its limit (the
	// charged peak, bounded below), and 20 MiB for the rest of the
	// process: goroutine stacks, the test's own allocations, and what a
	// collection counts live because it was allocated during its mark.
	// That last part is the flood's allocation rate times the length of
	// a mark: about 100 MB/s of 200-byte payloads, nearly all shed at
	// once, so a mark of 100 ms (an estimate, not measured: 16 flooding
	// goroutines and the pipeline share 2 processors with the collector)
	// would count 10 MB of them live.
	// Typical runs peak at the overhead plus 0-2 MiB; 1 run in 8 to 10
	// peaks 8-19 MiB higher, at the commit before the fifth session's
	// faster call as well as after (with 4 MiB, 3 of 24 runs failed).
	// With another test process competing for the 2 processors (make
	// compat ran the stress suite beside it) one run peaked 16.4 MiB
	// higher, so the allowance is 20 MiB.
	overhead := e.MemoryOverhead()
	t.Logf("budget peak %d KiB (limit %d KiB); live heap above baseline at most %d KiB (overhead %d KiB); %d written, %d shed, %d refused",
		m.Budget.Peak>>10, m.Budget.Limit>>10, peak.Load()>>10, overhead>>10, after.Written, after.Dropped.Budget, m.Budget.Refused)
	// Past the limit only late charges land: the flushers charge what
	// they drain (at most the rings' contents, 2 x 1024 events here, with
	// their batches' slots and encodings: about 3 MiB), which new calls
	// cannot add to once the limit is reached. Measured 8.6-10.6 MiB,
	// and once 12.3 MiB (a make compat run at e922d3b, failing the old
	// bound of 1.5 times the limit): the bound is 1.75 times.
	require.LessOrEqual(t, m.Budget.Peak, int64(budgetBytes)*7/4, "charged memory stays near the limit")
	require.LessOrEqual(t, peak.Load(), uint64(m.Budget.Peak+overhead+20<<20), "live heap within what was charged plus the overhead")
}

// Events that are too large have a defined outcome within the budget: cut
// and delivered with explicit markers (Truncate, the default), or refused
// and counted (Refuse). A 100 MiB message, a million fields, a value
// whose rendering is huge, invalid UTF-8: never a crash, never another
// event corrupted.
func TestOversizedEventsHaveADefinedOutcome(t *testing.T) {
	huge := strings.Repeat("x", 100<<20)
	million := make([]core.Field, 1_000_000)
	for i := range million {
		million[i] = core.Int("k", i)
	}
	bigValue := make([]string, 5000)
	for i := range bigValue {
		bigValue[i] = strings.Repeat("v", 1000)
	}
	badUTF8 := strings.Repeat("\xff\xfeé", 1<<20)

	for _, action := range []engine.OversizeAction{engine.Truncate, engine.Refuse} {
		t.Run(action.String(), func(t *testing.T) {
			var out strings.Builder
			w, err := sinks.NewWriter(&out, format.JSON{})
			require.NoError(t, err)
			e := newEngine(t, engine.WithOversizedEvents(action), engine.WithMaxEventBytes(64<<10),
				engine.WithOverflow(ring.Block), engine.WithSink(w, engine.SinkName("out")))
			l := e.Logger()
			l.Info("before")
			l.Info(huge)
			l.Info("many", million...)
			l.Info("rendered", core.Any("v", bigValue))
			l.Info("bad", core.String("s", badUTF8))
			l.Info("after")
			flush(t, e)
			rep := e.Stats()
			requireBalanced(t, rep)
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			for i, line := range lines {
				var m map[string]any
				require.NoError(t, json.Unmarshal([]byte(line), &m), "record %d is valid JSON", i)
				// JSON escaping may grow a value up to 6x (\ufffd for each invalid byte).
				require.LessOrEqual(t, len(line), 6*(64<<10)+1024, "record %d is bounded by the limit", i)
			}
			require.Contains(t, lines[0], `"msg":"before"`)
			require.Contains(t, lines[len(lines)-1], `"msg":"after"`)
			s := rep.Sinks[0]
			if action == engine.Refuse {
				require.Len(t, lines, 2)
				require.Equal(t, uint64(4), s.Dropped.TooLarge)
				require.Zero(t, e.Metrics(false).Engine.Truncated)
				return
			}
			require.Len(t, lines, 6, "every event delivered")
			require.Zero(t, s.Dropped.Total())
			require.Equal(t, uint64(4), e.Metrics(false).Engine.Truncated)
			require.Contains(t, lines[1], "…[truncated ")
			require.Contains(t, lines[2], `"!TRUNCATED":"…[truncated `)
			require.Contains(t, lines[3], `"v":"…[truncated `, "a rendered value too large is replaced whole")
			require.Contains(t, lines[4], "…[truncated ")
		})
	}
}

// The limit hook runs off the caller's goroutine, one call at a time, and
// a hook that never returns blocks nobody: callers keep logging (and
// being refused) while it hangs. The test logs until the hook is called,
// so it does not depend on how the budget fills. Mutation caught: calling
// the hook from the refused call (the caller) hangs that call.
func TestOnLimitExceededIsRateLimitedAndNeverBlocksACaller(t *testing.T) {
	g := newGatedSink(sinks.NewMemory(sinks.MemoryOptions{}))
	g.stalled.Store(true)
	calls := make(chan engine.LimitExceeded, 16)
	hang := make(chan struct{})
	defer close(hang)
	e := newEngine(t, engine.WithMaxQueueBytes(256<<10), engine.WithMaxEventBytes(64<<10), engine.WithCapacity(1024),
		engine.WithSink(g, engine.SinkName("stuck")),
		engine.WithOnLimitExceeded(func(le engine.LimitExceeded) {
			calls <- le
			<-hang // a hook that never returns
		}))
	stop, done := make(chan struct{}), make(chan struct{})
	var slowest atomic.Int64
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			e.Logger().Info("fill", core.Int("i", i), core.String("pad", strings.Repeat("p", 100)))
			if d := int64(time.Since(start)); d > slowest.Load() {
				slowest.Store(d)
			}
			if i%100 == 99 {
				time.Sleep(time.Millisecond) // let the pipeline run
			}
		}
	}()
	var le engine.LimitExceeded
	select {
	case le = <-calls:
	case <-time.After(20 * time.Second):
		m := e.Metrics(false)
		t.Fatalf("the hook was not called: budget %+v, drops %+v", *m.Engine.Budget, m.Sinks[0].Dropped)
	}
	time.Sleep(100 * time.Millisecond) // callers go on while the hook hangs
	close(stop)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a log call is blocked behind the hook")
	}
	require.Equal(t, int64(256<<10), le.Limit)
	require.Positive(t, le.Dropped, "the hook reports what was lost to the budget")
	require.Empty(t, calls, "one call at a time: the hanging hook holds the next")
	require.Less(t, time.Duration(slowest.Load()), time.Second, "no call waited for the hook")
	close(g.gate)
	g.stalled.Store(false)
	flush(t, e)
	requireBalanced(t, e.Stats())
	require.Positive(t, e.Stats().Sinks[0].Dropped.Budget)
}

// Block callers are pushed back at the door by a sink that is slower than
// they are but working: the flusher paces itself to the sink, the ring
// fills and the callers wait, so the queue stays a few batches deep and
// nothing is lost. Mutation caught: never pacing (every batch absorbed in
// memory, as for the drop policies) lets the backlog grow to the budget's
// trim mark, where Block events are shed.
func TestBlockCallersArePacedByAWorkingSink(t *testing.T) {
	out, err := sinks.NewWriter(slowWriter{delay: 2 * time.Millisecond}, format.JSON{})
	require.NoError(t, err)
	e := newEngine(t, engine.WithOverflow(ring.Block), engine.WithBlockTimeout(time.Minute),
		engine.WithSink(out, engine.SinkName("slow")))
	wg := flood(e, "paced", 4, 300*time.Millisecond)
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, e.Flush(ctx))
	rep := e.Stats()
	requireBalanced(t, rep)
	require.Zero(t, rep.Sinks[0].Dropped.Total(), "%+v", rep.Sinks[0].Dropped)
	b := e.Metrics(false).Engine.Budget
	t.Logf("%d written; budget peak %d KiB of %d KiB", rep.Sinks[0].Written, b.Peak>>10, b.Limit>>10)
	require.Less(t, b.Peak, b.Limit/2, "the backlog stayed small")
}

// A sink that stalls once (a 10ms hiccup) and then works again, slowly,
// under Block callers that never let up: once it completes a write the
// flusher paces to it again, so the backlog stays small and no Block
// event is shed. Mutation caught: clearing the stalled mark only when the
// sink's lanes are empty (the old code), which these callers never allow:
// the backlog then grows to the budget's trim mark and Block events are
// shed (budget).
func TestASinkThatRecoversFromAStallIsPacedAgain(t *testing.T) {
	out, err := sinks.NewWriter(slowWriter{delay: 2 * time.Millisecond}, format.JSON{})
	require.NoError(t, err)
	g := newGatedSink(out)
	e := newEngine(t, engine.WithOverflow(ring.Block), engine.WithBlockTimeout(time.Minute),
		engine.WithSink(g, engine.SinkName("slow")))
	g.stalled.Store(true)
	wg := flood(e, "paced", 4, 400*time.Millisecond)
	<-g.entered
	time.Sleep(10 * time.Millisecond) // past stallAfter: marked stalled, its backlog absorbed
	g.stalled.Store(false)
	close(g.gate)
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, e.Flush(ctx))
	rep := e.Stats()
	requireBalanced(t, rep)
	b := e.Metrics(false).Engine.Budget
	t.Logf("%d written; budget peak %d KiB of %d KiB", rep.Sinks[0].Written, b.Peak>>10, b.Limit>>10)
	require.Zero(t, rep.Sinks[0].Dropped.Total(), "%+v", rep.Sinks[0].Dropped)
	require.Less(t, b.Peak, b.Limit/2, "the backlog stayed small once the sink worked again")
}

// A sink that stalls is absorbed under Block too: once it has completed
// no write for stallAfter, the flusher stops pacing for it and queues its
// batches in memory, so Block callers do not wait out the stall (and lose
// events at the block timeout). Mutation caught: pacing until there is
// room whatever the sink does (no stall detection) holds the callers for
// the whole 250ms stall, beyond the 100ms block timeout.
func TestBlockCallersDoNotWaitOutAStall(t *testing.T) {
	out, err := sinks.NewWriter(io.Discard, format.JSON{})
	require.NoError(t, err)
	g := newGatedSink(out)
	// 4096 slots: the ring must also cover the flusher's own scheduling
	// delays when the test machine is loaded (at the default 1024, four
	// race-enabled test processes at once made 2 calls of one run wait
	// out the block timeout). The mutation named above is caught in a
	// plain build (make compat: 16 calls timed out); under -race the
	// slower rate fills 4096 slots in about 200ms, too close to the stall.
	e := newEngine(t, engine.WithOverflow(ring.Block), engine.WithBlockTimeout(100*time.Millisecond),
		engine.WithCapacity(4096), engine.WithSink(g, engine.SinkName("disk")))
	n := logThroughAStall(t, e, g)
	rep := e.Stats()
	requireBalanced(t, rep)
	s := rep.Sinks[0]
	require.Zero(t, s.Dropped.Total(), "%+v", s.Dropped)
	require.Equal(t, uint64(n), s.Written)
}

// At a light load, a stalled sink's backlog is queued in full batches:
// while every writer is behind, a flusher keeps filling its batch instead
// of pushing one nearly empty batch (and its ~180 KiB of slots) per epoch.
// Mutation caught: never holding (flusher.hold false) charges the budget
// tens of MiB for a few hundred events.
func TestStalledSinkQueuesFullBatches(t *testing.T) {
	out, err := sinks.NewWriter(io.Discard, format.JSON{})
	require.NoError(t, err)
	g := newGatedSink(out)
	e := newEngine(t, engine.WithSink(g, engine.SinkName("disk")))
	g.stalled.Store(true)
	e.Logger().Info("first")
	<-g.entered
	logAtRate(e.Logger(), 1, 500, 1000) // half a second at 1000 events/s
	peak := e.Metrics(false).Engine.Budget.Peak
	g.stalled.Store(false)
	close(g.gate)
	flush(t, e)
	rep := e.Stats()
	requireBalanced(t, rep)
	require.Equal(t, uint64(501), rep.Sinks[0].Written)
	t.Logf("budget peak %d KiB for 500 queued events", peak>>10)
	require.Less(t, peak, int64(4<<20), "a few full batches, not one per epoch")
}

// Every byte charged is released: after a mix of small and large events
// (a large one charges itself at the call), ring evictions or refusals,
// and a truncation, once everything is written the budget's usage is
// back to zero. Mutations caught: not releasing a large event's charge
// when the ring evicts it and the spill keeps it (its charge must move to
// the spill's batch: drop-oldest fails), or when the ring refuses it
// (enqueue: drop-newest fails).
func TestBudgetUsageReturnsToZero(t *testing.T) {
	for _, pol := range []ring.Policy{ring.DropOldest, ring.DropNewest} {
		t.Run(pol.String(), func(t *testing.T) {
			out, err := sinks.NewWriter(io.Discard, format.JSON{})
			require.NoError(t, err)
			// An enricher holds the flusher on "first", so the 16-slot ring
			// overflows for certain (a flusher that kept up would absorb
			// everything in memory and evict nothing).
			entered, release := make(chan struct{}), make(chan struct{})
			e := newEngine(t, engine.WithShards(1), engine.WithCapacity(16), engine.WithOverflow(pol),
				engine.WithMaxQueueBytes(1<<20), engine.WithMaxEventBytes(64<<10),
				engine.WithEnricher(func(ev *core.Event) {
					if ev.Message == "first" {
						close(entered)
						<-release
					}
				}),
				engine.WithSink(out, engine.SinkName("disk")))
			l := e.Logger()
			l.Info("first")
			<-entered
			big := strings.Repeat("b", 32<<10)
			for i := range 200 {
				l.Info("small", core.Int("i", i))
				l.Info("large", core.String("body", big)) // charges itself at the call
			}
			l.Info(strings.Repeat("t", 200<<10)) // truncated to 64 KiB
			require.Positive(t, e.Metrics(false).Engine.Budget.Usage)
			close(release)
			flush(t, e)
			rep := e.Stats()
			requireBalanced(t, rep)
			d := rep.Sinks[0].Dropped
			if pol == ring.DropOldest {
				// Evicted events are kept (spilled) while the budget has
				// room, and lost after.
				sh := e.Metrics(false).Engine.Shards[0]
				t.Logf("evicted %d, spilled %d", sh.Evicted, sh.Spilled)
				require.Positive(t, sh.Spilled, "the small ring evicted and the spill kept: %+v", sh)
				require.Equal(t, sh.Evicted, sh.Spilled+d.QueueFullOldest, "an evicted event is kept or lost")
			} else {
				require.Positive(t, d.QueueFullNewest, "the small ring refused: %+v", d)
			}
			// The flusher drops its own reference to the last batch just
			// after handing it over, so the last release may follow Flush
			// by a moment.
			require.Eventually(t, func() bool { return e.Metrics(false).Engine.Budget.Usage == 0 }, 5*time.Second, time.Millisecond,
				"every charge released: %+v", e.Metrics(false).Engine.Budget)
			b := e.Metrics(false).Engine.Budget
			t.Logf("peak %d KiB, refused %d, drops %+v", b.Peak>>10, b.Refused, d)
			require.False(t, b.Over)
		})
	}
}
