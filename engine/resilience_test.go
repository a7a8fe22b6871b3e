package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/breaker"
	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
)

// troubledSink fails, hangs or panics on the calls its mode picks, and
// otherwise writes to its Memory.
type troubledSink struct {
	*sinks.Memory
	calls atomic.Int64
	mode  func(call int64) string // "ok", "fail", "hang" (until ctx ends), "panic"
}

var errFlap = errors.New("flap")

func (s *troubledSink) Write(ctx context.Context, es []core.Entry) (int, error) {
	switch s.mode(s.calls.Add(1)) {
	case "fail":
		return 0, errFlap
	case "hang":
		<-ctx.Done()
		return 0, ctx.Err()
	case "panic":
		panic("sink exploded")
	}
	return s.Memory.Write(ctx, es)
}

// logSlowly logs n events, one every interval, so that the sink sees
// many small batches (and its breaker many calls).
func logSlowly(e *engine.Engine, n int, interval time.Duration) {
	for i := range n {
		e.Logger().Info("e", core.Int("i", i))
		time.Sleep(interval)
	}
}

// requireFallbackExact checks the two-sided accounting of a sink with a
// fallback: the fallback got exactly what was diverted, and every event
// the sink accepted has one outcome.
func requireFallbackExact(t *testing.T, s engine.SinkStats, fallback *sinks.Memory) {
	t.Helper()
	require.Zero(t, s.Pending, "%+v", s)
	require.Equal(t, s.Accepted, s.Written+s.Diverted+s.Failed+s.Dropped.Total(), "%+v", s)
	require.Equal(t, s.Diverted, s.FallbackWritten+s.FallbackFailed, "%+v", s)
	require.Equal(t, int(s.FallbackWritten), fallback.Len(), "the fallback holds exactly what it was said to write")
}

// A sink that fails in bursts: its breaker opens, its batches go to the
// fallback while it is open, it is probed and closes again when it
// recovers. Every event is accounted for once on each side, and a healthy
// sink beside it receives everything. Mutation caught: counting a diverted
// batch also as written or failed breaks the equations.
func TestFlappingSinkFallsBackExactly(t *testing.T) {
	s := &troubledSink{Memory: sinks.NewMemory(sinks.MemoryOptions{}), mode: func(c int64) string {
		if c%40 >= 10 && c%40 < 13 { // bursts of three failed calls: 10-12, 50-52, ...
			return "fail"
		}
		return "ok"
	}}
	fb := sinks.NewMemory(sinks.MemoryOptions{})
	healthy := sinks.NewMemory(sinks.MemoryOptions{})
	e := newEngine(t, engine.WithBatchSize(1),
		engine.WithSink(s, engine.SinkName("flappy"), engine.SinkFallback(fb),
			engine.SinkBreaker(breaker.Config{FailureThreshold: 3, ResetTimeout: 20 * time.Millisecond})),
		engine.WithSink(healthy, engine.SinkName("healthy")),
		engine.WithErrorHandler(func(error) {}))
	const n = 300
	logSlowly(e, n, 500*time.Microsecond)
	flush(t, e)
	rep := e.Stats()
	st := rep.Sinks[0]
	requireFallbackExact(t, st, fb)
	require.Positive(t, st.Diverted, "the breaker opened and the fallback took batches")
	require.Positive(t, st.Written, "the sink wrote while closed")
	require.Zero(t, st.Dropped.BreakerOpen, "with a fallback nothing is dropped for the breaker")
	m := e.Metrics(false).Sinks[0]
	require.NotNil(t, m.Breaker)
	require.Positive(t, m.Breaker.Transitions[breaker.Open], "it opened")
	require.Positive(t, m.Breaker.Transitions[breaker.Closed], "and closed again after a probe")
	require.Equal(t, uint64(n), rep.Sinks[1].Written, "the healthy sink got everything")
	requireBalanced(t, engine.Report{Sinks: rep.Sinks[1:]})
}

// Without a fallback, what the open breaker refuses is dropped
// (breaker-open) for that sink alone.
func TestOpenBreakerWithoutFallbackDrops(t *testing.T) {
	s := &troubledSink{Memory: sinks.NewMemory(sinks.MemoryOptions{}), mode: func(int64) string { return "fail" }}
	e := newEngine(t, engine.WithBatchSize(1),
		engine.WithSink(s, engine.SinkName("down"), engine.SinkBreaker(breaker.Config{FailureThreshold: 3, ResetTimeout: time.Hour})),
		engine.WithErrorHandler(func(error) {}))
	logSlowly(e, 50, 200*time.Microsecond)
	flush(t, e)
	st := e.Stats().Sinks[0]
	requireBalanced(t, e.Stats())
	// The first event is tried three times (the default retry policy),
	// which trips the breaker (threshold 3); it fails, and the rest are
	// refused while the breaker is open.
	require.Equal(t, uint64(1), st.Failed)
	require.Equal(t, uint64(2), st.Retries)
	require.Equal(t, uint64(49), st.Dropped.BreakerOpen, "the rest are refused while it is open")
	require.Equal(t, int64(3), s.calls.Load(), "an open breaker keeps the writer from calling the sink")
}

// A sink that hangs in Write (until its context ends) or panics: each
// call is a failure (a timeout, a recovered panic), the breaker opens,
// the fallback takes over, and a healthy sink beside it is not delayed.
// Mutation caught: not reporting outcomes to the breaker (a hung sink is
// then called, and waited for, every time).
func TestHangingAndPanickingSinksFallBack(t *testing.T) {
	for _, mode := range []string{"hang", "panic"} {
		t.Run(mode, func(t *testing.T) {
			s := &troubledSink{Memory: sinks.NewMemory(sinks.MemoryOptions{}), mode: func(int64) string { return mode }}
			fb := sinks.NewMemory(sinks.MemoryOptions{})
			healthy := sinks.NewMemory(sinks.MemoryOptions{})
			e := newEngine(t, engine.WithBatchSize(1),
				engine.WithSink(s, engine.SinkName("bad"), engine.SinkFallback(fb), engine.SinkWriteTimeout(20*time.Millisecond),
					engine.SinkBreaker(breaker.Config{FailureThreshold: 2, ResetTimeout: time.Hour})),
				engine.WithSink(healthy, engine.SinkName("healthy")),
				engine.WithErrorHandler(func(error) {}))
			start := time.Now()
			logSlowly(e, 100, 100*time.Microsecond)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			require.NoError(t, healthy.Wait(ctx, 100))
			require.Less(t, time.Since(start), 2*time.Second, "the healthy sink is not held up")
			flush(t, e)
			st := e.Stats().Sinks[0]
			requireFallbackExact(t, st, fb)
			// The first event's first call and its retry fail, which opens
			// the breaker (threshold 2); its second retry is refused, so it
			// is diverted like every later one.
			require.Zero(t, st.Failed)
			require.Equal(t, uint64(1), st.Retries)
			require.Equal(t, uint64(100), st.Diverted)
			require.Equal(t, int64(2), s.calls.Load())
			if mode == "hang" {
				require.Equal(t, uint64(2), st.Timeouts)
			}
		})
	}
}

// A failed write is retried with backoff and counted once, when it is
// finally written; a healthy sink beside it is not held up meanwhile.
// Mutations caught: counting each attempt's failure as failed events, and
// not waiting between attempts (the retries then land within a
// millisecond).
func TestFailedWriteIsRetriedWithBackoff(t *testing.T) {
	var firstAt, lastAt atomic.Int64
	s := &troubledSink{Memory: sinks.NewMemory(sinks.MemoryOptions{}), mode: func(c int64) string {
		now := time.Now().UnixNano()
		if c == 1 {
			firstAt.Store(now)
		}
		lastAt.Store(now)
		if c <= 2 {
			return "fail"
		}
		return "ok"
	}}
	healthy := sinks.NewMemory(sinks.MemoryOptions{})
	var reported atomic.Int64
	e := newEngine(t, engine.WithSink(s, engine.SinkName("flaky")), engine.WithSink(healthy, engine.SinkName("healthy")),
		engine.WithErrorHandler(func(err error) {
			if errors.Is(err, errFlap) {
				reported.Add(1)
			}
		}))
	e.Logger().Info("once")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, healthy.Wait(ctx, 1))
	require.Eventually(t, func() bool { return s.calls.Load() >= 1 }, 5*time.Second, time.Millisecond)
	e.Logger().Info("meanwhile")
	require.NoError(t, healthy.Wait(ctx, 2), "the healthy sink is not held up by the retries")
	flush(t, e)
	st := e.Stats().Sinks[0]
	requireBalanced(t, e.Stats())
	require.Equal(t, uint64(2), st.Written)
	require.Zero(t, st.Failed)
	require.Equal(t, uint64(2), st.Retries)
	// Each failed call is counted and reported, although the retries
	// wrote its events. Mutation caught: counting only a batch's last
	// attempt (Errors 0, nothing reported).
	require.Equal(t, uint64(2), st.Errors)
	require.Equal(t, int64(2), reported.Load())
	require.Equal(t, "once", s.Events()[0].Message)
	// 50ms then 100ms, each within ±20%.
	require.GreaterOrEqual(t, time.Duration(lastAt.Load()-firstAt.Load()), 120*time.Millisecond)
}

// A failure the sink marks permanent (core.ErrPermanent) is not retried:
// its events count failed at once, and the call as one error. Mutation
// caught: retrying it (Retries 2, the sink called three times).
func TestPermanentFailureIsNotRetried(t *testing.T) {
	s := &refusingSink{}
	e := newEngine(t, engine.WithSink(s, engine.SinkName("picky"), engine.SinkWithoutBreaker()),
		engine.WithErrorHandler(func(error) {}))
	e.Logger().Info("once")
	flush(t, e)
	st := e.Stats().Sinks[0]
	requireBalanced(t, e.Stats())
	require.Equal(t, uint64(1), st.Failed)
	require.Zero(t, st.Retries)
	require.Equal(t, uint64(1), st.Errors)
	require.Equal(t, int64(1), s.calls.Load())
}

// refusingSink refuses every batch for good.
type refusingSink struct{ calls atomic.Int64 }

func (s *refusingSink) Write(context.Context, []core.Entry) (int, error) {
	s.calls.Add(1)
	return 0, fmt.Errorf("receiver refused the batch: %w", core.ErrPermanent)
}
func (s *refusingSink) Flush(context.Context) error { return nil }
func (s *refusingSink) Close(context.Context) error { return nil }

// SinkRetry and SinkBreaker refuse bad policies, naming the field.
func TestResilienceOptionsAreChecked(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	for _, c := range []struct {
		opt  engine.SinkOption
		want string
	}{
		{engine.SinkRetry(engine.RetryPolicy{}), "SinkRetry: RetryPolicy.MaxAttempts must be >= 1, got 0"},
		{engine.SinkRetry(engine.RetryPolicy{MaxAttempts: 2}), "SinkRetry: RetryPolicy.InitialBackoff must be > 0"},
		{engine.SinkRetry(engine.RetryPolicy{MaxAttempts: 2, InitialBackoff: time.Second, MaxBackoff: time.Millisecond}), "MaxBackoff must be >= InitialBackoff"},
		{engine.SinkBreaker(breaker.Config{ResetTimeout: -time.Second}), "SinkBreaker: breaker: ResetTimeout must be > 0"},
		{engine.SinkFallback(nil), "SinkFallback: nil sink"},
		{engine.SinkWriteTimeout(0), "SinkWriteTimeout: must be > 0"},
	} {
		_, err := engine.New(engine.WithSink(mem, c.opt))
		require.ErrorContains(t, err, c.want)
	}
	newEngine(t, engine.WithSink(mem, engine.SinkRetry(engine.NoRetry))) // valid; shut down at the end
}

// Slow calls count as failures when the breaker is told to (SlowCall):
// a sink that succeeds, but slowly, is taken out of the path like one
// that fails.
func TestSlowSinkTripsItsBreaker(t *testing.T) {
	slow := sinks.NewMemory(sinks.MemoryOptions{})
	slow.SetDelay(20 * time.Millisecond)
	e := newEngine(t, engine.WithBatchSize(1),
		engine.WithSink(slow, engine.SinkName("slow"),
			engine.SinkBreaker(breaker.Config{FailureThreshold: 2, SlowCall: 5 * time.Millisecond, ResetTimeout: time.Hour})),
		engine.WithErrorHandler(func(error) {}))
	logSlowly(e, 20, time.Millisecond)
	flush(t, e)
	st := e.Stats().Sinks[0]
	requireBalanced(t, e.Stats())
	require.Equal(t, uint64(2), st.Written, "the two slow calls wrote their events")
	require.Equal(t, uint64(18), st.Dropped.BreakerOpen, "then the breaker kept the writer off the sink")
	require.Equal(t, breaker.Open, e.Metrics(false).Sinks[0].Breaker.State)
}

// Under sustained load (a quarter of stallRate, four goroutines, 0.6s), a
// sink that fails in bursts falls back and recovers over and over, and
// every event ends exactly once: written by the sink, written or failed by
// the fallback, or failed after its retries; the healthy sink beside it
// receives all of them.
func TestFlappingSinkUnderLoadAccountsExactly(t *testing.T) {
	var start atomic.Int64
	s := &troubledSink{Memory: sinks.NewMemory(sinks.MemoryOptions{}), mode: func(int64) string {
		// Down for 30ms of every 100ms, by the clock.
		if ms := (time.Now().UnixNano() - start.Load()) / 1e6; ms%100 < 30 {
			return "fail"
		}
		return "ok"
	}}
	fb := sinks.NewMemory(sinks.MemoryOptions{})
	healthy := sinks.NewMemory(sinks.MemoryOptions{})
	start.Store(time.Now().UnixNano())
	e := newEngine(t,
		engine.WithSink(s, engine.SinkName("flappy"), engine.SinkFallback(fb),
			engine.SinkBreaker(breaker.Config{FailureThreshold: 3, ResetTimeout: 10 * time.Millisecond}),
			engine.SinkRetry(engine.RetryPolicy{MaxAttempts: 2, InitialBackoff: 5 * time.Millisecond, MaxBackoff: 5 * time.Millisecond, Multiplier: 1, MaxElapsed: time.Second})),
		engine.WithSink(healthy, engine.SinkName("healthy")),
		engine.WithErrorHandler(func(error) {}))
	n := stallRate / 4 * 6 / 10
	logAtRate(e.Logger(), 4, n, stallRate/4)
	flush(t, e)
	rep := e.Stats()
	st := rep.Sinks[0]
	requireFallbackExact(t, st, fb)
	require.Equal(t, uint64(n), st.Accepted)
	require.Zero(t, st.Dropped.Total(), "with a fallback nothing is dropped: %+v", st.Dropped)
	require.Positive(t, st.Diverted)
	require.Positive(t, st.Written)
	require.Equal(t, uint64(n), rep.Sinks[1].Written, "the healthy sink got everything")
	m := e.Metrics(false).Sinks[0].Breaker
	t.Logf("written %d, diverted %d, failed %d, retries %d; breaker opened %d times", st.Written, st.Diverted, st.Failed, st.Retries, m.Transitions[breaker.Open])
	require.Greater(t, m.Transitions[breaker.Open], uint64(1), "it flapped")
}

// A sink that hangs in a Write and ignores its context (a peer that never
// answers, a write on a dead NFS mount) holds only its own writer: under
// every policy the callers do not wait for it (the flushers stop pacing a
// sink that completes no write and queue its batches within the budget),
// and a healthy sink beside it receives everything promptly. Its events
// stay accounted for: queued (pending) or dropped for a counted reason.
func TestASinkHungIgnoringItsContextHoldsOnlyItsOwnWriter(t *testing.T) {
	for _, p := range policies {
		t.Run(p.String(), func(t *testing.T) {
			// Sinks that keep nothing: a memory sink keeping every event
			// makes the collector's work, not the hung sink, the limit.
			hung := newHeldSink(&encodingCountSink{}, false)
			healthy := &encodingCountSink{}
			// A ring that holds the load's bursts (DropNewest has no spill),
			// so the healthy sink can lose events only if the hung one is
			// not isolated.
			e := newEngine(t, engine.WithOverflow(p), engine.WithCapacity(4096),
				engine.WithSink(hung, engine.SinkName("hung"), engine.SinkWithoutBreaker()),
				engine.WithSink(healthy, engine.SinkName("healthy")),
				engine.WithErrorHandler(func(error) {}))
			t.Cleanup(hung.open) // before the engine's shutdown (cleanups run last first)
			e.Logger().Info("first")
			<-hung.entered
			n := stallRate / 4 // a quarter of a second of load
			var slowest atomic.Int64
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					interval := time.Duration(int64(time.Second) * 4 / int64(stallRate))
					start := time.Now()
					for i := range n / 4 {
						if due := start.Add(time.Duration(i) * interval); time.Until(due) > time.Millisecond {
							time.Sleep(time.Until(due))
						}
						t0 := time.Now()
						e.Logger().Info("request handled", core.Int("g", g), core.Int("i", i))
						if d := int64(time.Since(t0)); d > slowest.Load() {
							slowest.Store(d) // racy max: good enough for a bound
						}
					}
				}()
			}
			wg.Wait()
			waitStart := time.Now()
			require.Eventually(t, func() bool { return healthy.n.Load() == int64(n+1) }, 5*time.Second, time.Millisecond,
				"the healthy sink gets everything: %+v", e.Stats().Sinks)
			t.Logf("%s: slowest call %v; the healthy sink had everything %v after the last call", p, time.Duration(slowest.Load()), time.Since(waitStart))
			require.Less(t, time.Duration(slowest.Load()), 200*time.Millisecond, "no caller waits for the hung sink")
			st := e.Stats()
			require.Zero(t, st.Sinks[1].Dropped.Total(), "%+v", st.Sinks[1])
			h := st.Sinks[0]
			require.Equal(t, uint64(n+1), h.Accepted)
			require.Zero(t, h.Written)
			require.Equal(t, h.Accepted, h.Pending+h.Dropped.Total(), "%+v", h)
		})
	}
}
