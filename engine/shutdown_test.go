package engine_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/drain"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
)

// heldSink holds every Write until release is closed, then hands the batch
// to its inner sink. With honorCtx it also returns when the call's context
// ends (a well-behaved peer); without, it ignores it (a hung one). It
// records the context error its Flush and Close saw.
type heldSink struct {
	inner    core.Sink
	honorCtx bool
	release  chan struct{}
	once     sync.Once
	entered  chan struct{}

	flushErr, closeErr atomic.Pointer[error]
	flushes, closes    atomic.Int32
}

func newHeldSink(inner core.Sink, honorCtx bool) *heldSink {
	return &heldSink{inner: inner, honorCtx: honorCtx, release: make(chan struct{}), entered: make(chan struct{})}
}

func (h *heldSink) open() {
	select {
	case <-h.release:
	default:
		close(h.release)
	}
}

func (h *heldSink) Write(ctx context.Context, b []core.Entry) (int, error) {
	h.once.Do(func() { close(h.entered) })
	if h.honorCtx {
		select {
		case <-h.release:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	} else {
		<-h.release
		ctx = context.Background() // a hung peer that ignores ctx writes when it wakes
	}
	return h.inner.Write(ctx, b)
}

func (h *heldSink) Flush(ctx context.Context) error {
	err := ctx.Err()
	h.flushErr.Store(&err)
	h.flushes.Add(1)
	return h.inner.Flush(ctx)
}

func (h *heldSink) Close(ctx context.Context) error {
	err := ctx.Err()
	h.closeErr.Store(&err)
	h.closes.Add(1)
	return h.inner.Close(ctx)
}

func (h *heldSink) Encoder() core.Encoder {
	if enc, ok := h.inner.(core.Encoding); ok {
		return enc.Encoder()
	}
	return nil
}

// queueBehind logs n events into e while its only sink is held in its
// first Write, in steps the flushers keep up with, so all n are queued
// (in the ring or absorbed in the sink's lanes) and none is dropped.
func queueBehind(t testing.TB, e *engine.Engine, h *heldSink, n int) {
	t.Helper()
	log := e.Logger()
	log.Info("first")
	<-h.entered
	for i := 1; i < n; i++ {
		log.Info("queued", core.Int("i", i), core.String("k", "v"))
		if i%2000 == 0 {
			for e.Depth() > 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	for e.Depth() > 0 {
		time.Sleep(time.Millisecond)
	}
	s := e.Stats().Sinks[0]
	if s.Accepted != uint64(n) || s.Dropped.Total() != 0 {
		t.Fatalf("queueing %d events: %+v", n, s)
	}
}

// shutdownOptions queue 100 000 events behind a held sink without loss:
// a budget well above what they keep alive.
func shutdownOptions(sink core.Sink) []engine.Option {
	return []engine.Option{engine.WithShards(2), engine.WithMaxQueueBytes(512 << 20), engine.WithSink(sink, engine.SinkName("held"))}
}

func requireStages(t *testing.T, d *drain.Report, s drain.Strategy) {
	t.Helper()
	require.NotNil(t, d, "Shutdown sets Report.Drain")
	require.Equal(t, s, d.Strategy)
	var names []string
	for _, st := range d.Stages {
		names = append(names, st.Name)
	}
	require.Equal(t, []string{"stop intake", "drain shards", "deliver held", "flush sinks", "close sinks"}, names)
}

// FlushPending delivers every queued event to a real file and returns
// once they are on disk. Mutation caught: a Shutdown that stops the
// writers before their lanes are empty (Immediate's path) loses the
// queue.
func TestFlushPendingDeliversEveryQueuedEventToAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	f, err := sinks.NewFile(sinks.FileOptions{Path: path})
	require.NoError(t, err)
	h := newHeldSink(f, false)
	e := newEngine(t, shutdownOptions(h)...)
	const n = 100_000
	queueBehind(t, e, h, n)
	// The sink recovers as the shutdown begins (its first handler), so
	// every event is delivered during the drain.
	require.NoError(t, e.OnShutdown("sink back", func(context.Context) error { h.open(); return nil }))
	start := time.Now()
	rep, err := e.Shutdown(context.Background(), drain.FlushPending)
	took := time.Since(start)
	require.NoError(t, err)
	t.Logf("FlushPending of %d queued events to a file: %v (%.0f events/s)", n, took, n/took.Seconds())
	requireBalanced(t, rep)
	require.Equal(t, uint64(n), rep.Sinks[0].Written)
	requireStages(t, rep.Drain, drain.FlushPending)
	require.Equal(t, uint64(n), rep.Drain.Accounts[0].Delivered, "all delivered during the drain")
	require.True(t, rep.Drain.Clean(), "%s", rep.Drain)

	fh, err := os.Open(path)
	require.NoError(t, err)
	defer fh.Close()
	lines := 0
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		lines++
	}
	require.NoError(t, sc.Err())
	require.Equal(t, n, lines, "every event is in the file")
}

// Immediate discards what is queued, counted dropped{shutdown}, cuts the
// Write in progress short, and still flushes and closes the sink with a
// live context (what it buffered was counted written). Mutations caught
// (both applied and seen failing): a writer that fails the cut call's
// events instead of discarding them (Failed = 1), and discard canceling
// the writer's context, which Flush and Close get (flushErr set).
func TestImmediateDiscardsTheQueueAndClosesTheSink(t *testing.T) {
	forEachQueue(t, func(t *testing.T, q engine.QueueKind) {
		mem := sinks.NewMemory(sinks.MemoryOptions{})
		h := newHeldSink(mem, true)
		e := newEngine(t, append(shutdownOptions(h), engine.WithQueue(q))...)
		const n = 100_000
		queueBehind(t, e, h, n)
		start := time.Now()
		rep, err := e.Shutdown(context.Background(), drain.Immediate)
		took := time.Since(start)
		require.NoError(t, err)
		t.Logf("Immediate with %d queued events: %v", n, took)
		require.Less(t, took, time.Second, "Immediate does not deliver")
		s := rep.Sinks[0]
		requireBalanced(t, rep)
		require.Zero(t, s.Written)
		require.Zero(t, s.Failed)
		require.Equal(t, uint64(n), s.Dropped.Shutdown)
		require.Equal(t, uint64(n), rep.Drain.Accounts[0].Dropped["shutdown"])
		requireStages(t, rep.Drain, drain.Immediate)
		require.EqualValues(t, 1, h.flushes.Load())
		require.EqualValues(t, 1, h.closes.Load())
		require.NoError(t, *h.flushErr.Load(), "Flush gets a live context")
		require.NoError(t, *h.closeErr.Load(), "Close gets a live context")
		require.Zero(t, mem.Len())
	})
}

// Graceful(50ms) with a sink that hangs for ever, ignoring its context:
// Shutdown returns near the deadline, the sink is named stuck, everything
// but the hung call's events is counted dropped{shutdown}, and once the
// call returns the figures settle. Mutation caught: a deliver stage that
// waits for every writer after the deadline, the hung one too (the
// controller then abandons the stage after its overrun). (The stages
// after it may still be skipped on a machine so loaded that they do not
// run within the overrun.)
func TestGracefulAbandonsAHungSink(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	h := newHeldSink(mem, false)
	e := newEngine(t, shutdownOptions(h)...)
	t.Cleanup(h.open)
	const n = 10_000
	queueBehind(t, e, h, n)
	start := time.Now()
	rep, err := e.Shutdown(context.Background(), drain.Graceful(50*time.Millisecond))
	took := time.Since(start)
	t.Logf("Graceful(50ms) with a hung sink returned in %v", took)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, took, 500*time.Millisecond, "the bound is 60ms; the test allows for a loaded machine")
	s := rep.Sinks[0]
	require.True(t, s.Stuck)
	require.Equal(t, uint64(n), s.Accepted)
	require.Equal(t, s.Accepted, s.Dropped.Shutdown+s.Pending)
	require.Positive(t, s.Pending, "the first event is in the hung Write")
	d := rep.Drain
	for _, st := range d.Stages {
		if st.Name == "deliver held" {
			require.False(t, st.Abandoned, "stage %q: %+v", st.Name, st)
		}
	}
	require.True(t, d.DeadlineHit)
	require.True(t, d.Accounts[0].Stuck)
	require.Equal(t, s.Dropped.Shutdown, d.Accounts[0].Dropped["shutdown"])
	require.Equal(t, s.Pending, d.Accounts[0].Pending)
	require.Equal(t, d.Lost(), uint64(n), "the report says exactly what was lost")

	h.open()
	require.Eventually(t, func() bool { return e.Stats().Sinks[0].Pending == 0 }, 5*time.Second, time.Millisecond)
	rep2, err2 := e.Shutdown(context.Background())
	require.ErrorIs(t, err2, context.DeadlineExceeded, "a second call returns the first's error")
	require.Equal(t, d.Duration, rep2.Drain.Duration, "and its drain report")
	requireBalanced(t, rep2)
	require.Equal(t, uint64(1), rep2.Sinks[0].Written, "the hung call completed")
}

// Handlers registered with OnShutdown run first, under the drain's
// context, and what they log is delivered; registering after the
// shutdown began is refused. A handler that panics or fails is reported
// and does not stop the drain.
func TestShutdownHandlersRunFirstAndTheirEventsAreDelivered(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	e := newEngine(t, engine.WithSink(mem))
	require.NoError(t, e.OnShutdown("goodbye", func(ctx context.Context) error {
		e.Logger().Info("closing the listener")
		return nil
	}))
	require.NoError(t, e.OnShutdown("broken", func(ctx context.Context) error { panic("cleanup exploded") }))
	boom := errors.New("db close failed")
	require.NoError(t, e.OnShutdown("db", func(ctx context.Context) error { return boom }))
	rep, err := e.Shutdown(context.Background())
	require.ErrorIs(t, err, boom)
	require.ErrorContains(t, err, "cleanup exploded")
	requireBalanced(t, rep)
	require.Equal(t, 1, mem.Len())
	require.Equal(t, "closing the listener", mem.Events()[0].Message)
	require.Len(t, rep.Drain.Handlers, 3)
	require.ErrorIs(t, e.OnShutdown("late", func(context.Context) error { return nil }), drain.ErrShutDown)
}

// Shutdown under every strategy while goroutines log, flush and read
// metrics, with several concurrent Shutdown calls: every call gets the
// same drain report, nothing stays pending, and every event is accounted
// for; logging after the shutdown counts dropped{closed}.
func TestShutdownRacesWithLoggingFlushAndMetrics(t *testing.T) {
	for _, s := range []drain.Strategy{drain.FlushPending, drain.Graceful(20 * time.Millisecond), drain.Immediate} {
		t.Run(s.String(), func(t *testing.T) {
			mem := sinks.NewMemory(sinks.MemoryOptions{})
			e := newEngine(t, engine.WithSink(mem), engine.WithShards(2))
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						e.Logger().Info("load", core.Int("g", g), core.Int("i", i))
						switch i % 500 {
						case 100:
							_ = e.Flush(context.Background())
						case 200:
							_ = e.Metrics(false)
						}
					}
				}()
			}
			time.Sleep(20 * time.Millisecond)
			reps := make([]engine.Report, 8)
			errs := make([]error, 8)
			var sw sync.WaitGroup
			for i := range reps {
				sw.Add(1)
				go func() {
					defer sw.Done()
					reps[i], errs[i] = e.Shutdown(context.Background(), s)
				}()
			}
			sw.Wait()
			close(stop)
			wg.Wait()
			for i := range reps {
				require.Equal(t, errs[0], errs[i])
				require.Equal(t, reps[0].Drain.Started, reps[i].Drain.Started, "one drain")
			}
			if errs[0] != nil {
				// The deadline passed: a writer may settle just after
				// the drain returned (Stuck, or a stage abandoned on a
				// loaded machine); it does settle.
				require.Eventually(t, func() bool { return e.Stats().Sinks[0].Pending == 0 }, 5*time.Second, time.Millisecond)
			}
			rep, _ := e.Shutdown(context.Background())
			requireBalanced(t, rep)
			require.Zero(t, rep.Sinks[0].Failed, "a call the shutdown cut short loses its rest to the shutdown")
			st := rep.Sinks[0]
			require.Positive(t, st.Dropped.Closed, "the loggers kept logging after the shutdown")
			if s.Kind() == drain.KindFlushPending {
				require.NoError(t, errs[0])
				require.Zero(t, st.Dropped.Shutdown, "FlushPending delivers everything")
			}
			require.Equal(t, int(st.Written), mem.Len())
		})
	}
}

// Passing more than one strategy is refused and starts nothing.
func TestShutdownRefusesTwoStrategies(t *testing.T) {
	e := newEngine(t, engine.WithSink(sinks.NewMemory(sinks.MemoryOptions{})))
	_, err := e.Shutdown(context.Background(), drain.Immediate, drain.FlushPending)
	require.ErrorContains(t, err, "at most one strategy")
	require.NoError(t, e.Flush(context.Background()), "the engine still runs")
}

// A handler that hangs holds the drain only until the deadline: it is
// named abandoned, the engine's stages then run with the done context and
// count everything still queued as dropped{shutdown}, and nothing is left
// pending. Mutation caught: stages that return at once on a done context
// without giving up on the pipeline (expire) leave the queue pending.
func TestAHungHandlerCannotHoldTheShutdown(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	h := newHeldSink(mem, true)
	e := newEngine(t, shutdownOptions(h)...)
	const n = 5_000
	queueBehind(t, e, h, n)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	require.NoError(t, e.OnShutdown("hung", func(context.Context) error { <-release; return nil }))
	start := time.Now()
	rep, err := e.Shutdown(context.Background(), drain.Graceful(50*time.Millisecond))
	t.Logf("returned in %v", time.Since(start))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 500*time.Millisecond)
	require.Len(t, rep.Drain.Handlers, 1)
	require.True(t, rep.Drain.Handlers[0].Abandoned, "%+v", rep.Drain.Handlers[0])
	require.Contains(t, rep.Drain.String(), `"hung": still running`)
	s := rep.Sinks[0]
	require.Equal(t, uint64(n), s.Dropped.Shutdown, "%+v", s)
	requireBalanced(t, rep)
}
