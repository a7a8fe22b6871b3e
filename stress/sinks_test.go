package stress

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/breaker"
	"github.com/shardlog/shardlog/engine"
)

// logLoad has producers() goroutines log each events apiece at Info, with
// their identities, and returns the calls per producer.
func logLoad(t *testing.T, e *shardlog.Engine, each int) []int64 {
	t.Helper()
	counts := make([]int64, producers())
	logMore(t, e, counts, each)
	return counts
}

// logMore is logLoad continuing from counts, which it updates.
func logMore(t *testing.T, e *shardlog.Engine, counts []int64, each int) {
	t.Helper()
	run(t, len(counts), func(p int) {
		log := e.Logger()
		for range each {
			log.Info("load", shardlog.Int("p", p), shardlog.Int64("s", counts[p]))
			counts[p]++
		}
	})
}

func sum(counts []int64) uint64 {
	var n int64
	for _, c := range counts {
		n += c
	}
	return uint64(n)
}

// resilientSinkOptions are the engine options of the misbehaving-sink
// scenarios: Block with a long timeout, so that nothing is lost before
// the sinks (every loss is the sinks' doing), and small batches, so that
// each sink gets many calls.
func resilientSinkOptions(opts ...shardlog.Option) []shardlog.Option {
	return append([]shardlog.Option{shardlog.WithOverflow(shardlog.Block), shardlog.WithBlockTimeout(time.Minute),
		shardlog.WithShards(4), shardlog.WithCapacity(256), engine.WithBatchSize(16), shardlog.WithErrorHandler(quiet)}, opts...)
}

// retryOnce retries a failed rest once, at once: the retry is the sink's
// next call. MaxElapsed is long so that the retry always happens.
var retryOnce = shardlog.RetryPolicy{MaxAttempts: 2, InitialBackoff: 100 * time.Microsecond, MaxBackoff: time.Millisecond,
	Multiplier: 2, MaxElapsed: time.Minute}

// A flapping sink under load: every 7th call writes half its batch and
// fails, and calls 20-23 of every 40 fail outright (the sink is down).
// Its breaker (3 failures, 2ms open) opens in the down periods and its
// batches go to the fallback, which itself writes only half of every
// 9th batch it gets; a failed rest is retried once. A healthy sink beside
// it. Checked: the two-sided accounting adds up exactly (accepted =
// written + diverted + failed; diverted = fallback written + fallback
// failed; each side holds exactly what it was counted to write), no
// event reached both the sink and the fallback, each side in order, and
// the healthy sink got everything.
func TestFlappingSinkWithBreakerRetryAndFallback(t *testing.T) {
	flappy := newFaultySink("flappy", func(c int64) faultKind {
		switch {
		case c%40 >= 20 && c%40 < 24:
			return writeFail
		case c%7 == 0:
			return writeHalf
		}
		return writeOK
	})
	fallback := newFaultySink("fallback", func(c int64) faultKind {
		if c%9 == 0 {
			return writeHalf
		}
		return writeOK
	})
	healthy := newRecorder("healthy")
	e, err := shardlog.New(resilientSinkOptions(
		shardlog.WithSink(flappy, shardlog.SinkName("flappy"), shardlog.SinkFallback(fallback),
			shardlog.SinkBreaker(shardlog.BreakerConfig{FailureThreshold: 3, ResetTimeout: 2 * time.Millisecond}),
			shardlog.SinkRetry(retryOnce)),
		shardlog.WithSink(healthy, shardlog.SinkName("healthy")))...)
	require.NoError(t, err)
	counts := logLoad(t, e, scaled(5000))
	m := e.Metrics(false).Sinks[0]
	rep := shutdown(t, e)

	s := sinkStats(t, rep, "flappy")
	t.Logf("flappy: %d calls, %d failed; written %d, diverted %d (fallback wrote %d, failed %d), failed %d, retries %d; breaker %+v",
		flappy.calls.Load(), flappy.fails.Load(), s.Written, s.Diverted, s.FallbackWritten, s.FallbackFailed, s.Failed, s.Retries, m.Breaker)
	requireExact(t, s, sum(counts), flappy.rec.count())
	requireOnlyDrops(t, s) // a fallback takes what the open breaker refuses
	require.Equal(t, s.FallbackWritten, uint64(fallback.rec.count()), "the fallback holds exactly what it was counted to write")
	require.Equal(t, int(s.Written+s.FallbackWritten), union(t, flappy.rec, fallback.rec), "no event on both sides")
	flappy.rec.check(t, callsOf(counts))
	fallback.rec.check(t, callsOf(counts))
	// Written, diverted and failed all happened: the down periods open
	// the breaker (three failed calls in a row), and a half write whose
	// retry lands in a down period fails its rest.
	require.Positive(t, s.Written)
	require.Positive(t, s.Diverted, "the breaker opened while events flowed")
	require.NotNil(t, m.Breaker)
	require.Positive(t, m.Breaker.Transitions[breaker.Open])
	require.Positive(t, s.Retries)

	h := sinkStats(t, rep, "healthy")
	requireExact(t, h, sum(counts), healthy.count())
	require.Equal(t, h.Accepted, h.Written, "the healthy sink lost nothing")
	healthy.check(t, callsOf(counts))
}

// A sink that panics on every 5th call: each panic is recovered (nothing
// reaches a caller or kills the writer), the call is counted (Writes), and
// the batch is retried once (the retry is the next call, which does not
// panic): exactly one retry per panic, nothing lost. The breaker (5
// failures in a row) never opens. (Errors is not checked here; see
// TestEveryPanickingSinkCallIsCountedAndReported.)
func TestPanickingSinkIsRetriedExactly(t *testing.T) {
	bad := newFaultySink("panicky", func(c int64) faultKind {
		if c%5 == 0 {
			return writePanic
		}
		return writeOK
	})
	e, err := shardlog.New(resilientSinkOptions(shardlog.WithSink(bad, shardlog.SinkName("panicky"),
		shardlog.SinkRetry(retryOnce)))...)
	require.NoError(t, err)
	counts := logLoad(t, e, scaled(5000))
	rep := shutdown(t, e)
	s := sinkStats(t, rep, "panicky")
	requireExact(t, s, sum(counts), bad.rec.count())
	require.Equal(t, s.Accepted, s.Written, "every panicked batch was retried and written")
	require.Positive(t, bad.panics.Load())
	require.Equal(t, uint64(bad.panics.Load()), s.Retries, "one retry per panic")
	require.Equal(t, uint64(bad.calls.Load()), s.Writes, "every call counted, the panicked ones too")
	bad.rec.check(t, callsOf(counts))
}

// SinkStats.Errors and SinkMetrics.Errors count "failed or panicking
// sink calls", and a sink panic is sent to the error handler
// (docs/DESIGN.md, "Failures"), also for a call whose batch a retry then
// writes. (This found them counted and reported once per batch, after
// its retries: a sink that panicked on one call in five, every retry
// succeeding, showed 0 errors.)
func TestEveryPanickingSinkCallIsCountedAndReported(t *testing.T) {
	bad := newFaultySink("panicky", func(c int64) faultKind {
		if c%5 == 0 {
			return writePanic
		}
		return writeOK
	})
	var reported atomic.Int64
	e, err := shardlog.New(resilientSinkOptions(shardlog.WithErrorHandler(func(error) { reported.Add(1) }),
		shardlog.WithSink(bad, shardlog.SinkName("panicky"), shardlog.SinkRetry(retryOnce)))...)
	require.NoError(t, err)
	logLoad(t, e, scaled(500))
	s := sinkStats(t, shutdown(t, e), "panicky")
	require.Positive(t, bad.panics.Load())
	require.Equal(t, bad.panics.Load(), int64(s.Errors), "one sink error per panicking call")
	require.GreaterOrEqual(t, reported.Load(), bad.panics.Load(), "every panic reaches the error handler")
}

// A sink that hangs (until its write timeout ends the call's context) on
// every 100th call: each hang is a timed-out, failed call, retried once,
// so nothing is lost; a healthy sink beside it gets everything.
func TestHangingSinkHonouringItsContextLosesNothing(t *testing.T) {
	bad := newFaultySink("hangs", func(c int64) faultKind {
		if c%100 == 0 {
			return writeHang
		}
		return writeOK
	})
	healthy := newRecorder("healthy")
	e, err := shardlog.New(resilientSinkOptions(
		shardlog.WithSink(bad, shardlog.SinkName("hangs"), shardlog.SinkWriteTimeout(50*time.Millisecond),
			shardlog.SinkRetry(retryOnce)),
		shardlog.WithSink(healthy, shardlog.SinkName("healthy")))...)
	require.NoError(t, err)
	counts := logLoad(t, e, scaled(1500))
	rep := shutdown(t, e)
	s := sinkStats(t, rep, "hangs")
	t.Logf("hangs: %d calls, %d hung; timeouts %d, retries %d", bad.calls.Load(), bad.hangs.Load(), s.Timeouts, s.Retries)
	requireExact(t, s, sum(counts), bad.rec.count())
	require.Equal(t, s.Accepted, s.Written, "every hung batch was retried and written")
	require.Positive(t, bad.hangs.Load())
	// A call that the machine descheduled past 50ms also counts as timed
	// out (and, returning nil, is still written and not retried): at
	// least one timeout per hang.
	require.GreaterOrEqual(t, s.Timeouts, uint64(bad.hangs.Load()), "every hang counted as a timeout")
	require.Equal(t, uint64(bad.hangs.Load()), s.Retries, "every hung batch retried, once")
	bad.rec.check(t, callsOf(counts))
	h := sinkStats(t, rep, "healthy")
	requireExact(t, h, sum(counts), healthy.count())
	require.Equal(t, h.Accepted, h.Written)
	healthy.check(t, callsOf(counts))
}

// A stalled sink beside a fast one (docs/DESIGN.md, "Per-sink isolation"):
// the fast sink receives every event while the stalled one is still held
// in its Write, under Block (paced, then absorbed once the sink counts as
// stalled) and under DropOldest (absorbed). Then the stalled sink
// recovers and, within the default budget, gets everything too. The
// stall-and-recover cycle repeats once per unit of scale.
func TestStalledSinkDoesNotHoldUpAFastOne(t *testing.T) {
	for _, pol := range []shardlog.Policy{shardlog.Block, shardlog.DropOldest} {
		t.Run(pol.String(), func(t *testing.T) {
			slow := newFaultySink("slow", nil)
			defer slow.open()
			fast := newRecorder("fast")
			e, err := shardlog.New(resilientSinkOptions(shardlog.WithOverflow(pol),
				shardlog.WithSink(slow, shardlog.SinkName("slow"), shardlog.SinkWriteTimeout(time.Minute)),
				shardlog.WithSink(fast, shardlog.SinkName("fast")))...)
			require.NoError(t, err)
			counts := make([]int64, producers())
			for range scale {
				slow.stall()
				held := slow.rec.count()
				logMore(t, e, counts, 5000)
				// Nothing else the fast sink could be waiting for: it must
				// get every event the ring accepted, the other sink stuck.
				eventually(t, 20*time.Second, func() bool {
					st := sinkStats(t, e.Stats(), "fast")
					return st.Pending == 0 && fast.count() == int(st.Written)
				}, "the fast sink did not get its events while the slow one stalled: %+v", sinkStats(t, e.Stats(), "fast"))
				require.Equal(t, held, slow.rec.count(), "the slow sink is still held")
				select {
				case <-slow.entered:
				default:
					t.Fatal("the slow sink was never called")
				}
				f := sinkStats(t, e.Stats(), "fast")
				require.Zero(t, f.Dropped.SinkLagging+f.Dropped.Budget, "the stalled sink cost the fast one nothing: %+v", f.Dropped)
				if pol == shardlog.Block {
					require.Equal(t, int(sum(counts)), fast.count(), "the fast sink got every event")
				}
				slow.open()
				eventually(t, 20*time.Second, func() bool {
					st := sinkStats(t, e.Stats(), "slow")
					return st.Pending == 0 && slow.rec.count() == int(st.Written)
				}, "the slow sink did not catch up: %+v", sinkStats(t, e.Stats(), "slow"))
			}
			rep := shutdown(t, e)
			f, s := sinkStats(t, rep, "fast"), sinkStats(t, rep, "slow")
			requireExact(t, f, sum(counts), fast.count())
			requireExact(t, s, sum(counts), slow.rec.count())
			requireOnlyDrops(t, f, shardlog.QueueFullOldest, shardlog.QueueFullNewest)
			requireOnlyDrops(t, s, shardlog.QueueFullOldest, shardlog.QueueFullNewest)
			require.Equal(t, f.Dropped, s.Dropped, "the only losses are the ring's, common to both sinks")
			fast.check(t, callsOf(counts))
			slow.rec.check(t, callsOf(counts))
		})
	}
}
