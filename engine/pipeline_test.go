package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
)

func TestValuesAreCapturedAtCallTime(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	e := newEngine(t, engine.WithSink(mem))
	b := []byte("before")
	m := map[string]int{"a": 1}
	type point struct{ X, Y int }
	p := &point{1, 2}
	s := []string{"x", "y"}
	e.Logger().Info("captured", core.Bytes("b", b), core.Any("m", m), core.Any("p", p), core.Any("s", s))
	copy(b, "AFTER!")
	m["a"] = 99
	p.X = 99
	s[0] = "changed"
	flush(t, e)
	line := mem.Lines()[0]
	require.Contains(t, line, `"b":"before"`)
	require.Contains(t, line, `"m":{"a":1}`)
	require.Contains(t, line, `"p":{"X":1,"Y":2}`)
	require.Contains(t, line, `"s":["x","y"]`)
}

func TestSinkLevelsRouteAndAccountPerSink(t *testing.T) {
	all := sinks.NewMemory(sinks.MemoryOptions{})
	warn := sinks.NewMemory(sinks.MemoryOptions{})
	e := newEngine(t, engine.WithLevel(core.LevelDebug),
		engine.WithSink(all, engine.SinkName("all")),
		engine.WithSink(warn, engine.SinkName("warn"), engine.SinkLevel(core.LevelWarn)))
	log := e.Logger()
	log.Trace("below engine level")
	log.Debug("d")
	log.Info("i")
	log.Warn("w")
	log.Error("e")
	flush(t, e)
	msgs := func(m *sinks.Memory) (out []string) {
		for _, ev := range m.Events() {
			out = append(out, ev.Message)
		}
		return out
	}
	require.Equal(t, []string{"d", "i", "w", "e"}, msgs(all))
	require.Equal(t, []string{"w", "e"}, msgs(warn))
	st := e.Stats()
	require.Equal(t, uint64(4), st.Sinks[0].Accepted)
	require.Equal(t, uint64(2), st.Sinks[1].Accepted)
	requireBalanced(t, st)
}

func TestLevelVarChangesAtRunTime(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	var lv core.LevelVar
	e := newEngine(t, engine.WithSink(mem), engine.WithLevelVar(&lv))
	log := e.Logger()
	log.Debug("hidden")
	lv.Set(core.LevelDebug)
	require.True(t, log.Enabled(core.LevelDebug))
	log.Debug("shown")
	flush(t, e)
	require.Equal(t, 1, mem.Len())
	require.Equal(t, "shown", mem.Events()[0].Message)
}

func TestWithNamedGroupAndCaller(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	e := newEngine(t, engine.WithSink(mem), engine.WithCaller(true), engine.WithName("svc"))
	log := e.Logger().Named("http").With(core.String("req", "r1")).WithGroup("g")
	log.Info("hi", core.Int("n", 1))
	flush(t, e)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(mem.Lines()[0]), &got))
	require.Equal(t, "svc.http", got["logger"])
	require.Equal(t, "r1", got["req"])
	require.Equal(t, map[string]any{"n": float64(1)}, got["g"])
	require.Contains(t, got["caller"], "pipeline_test.go:")
}

func TestEnrichersFiltersAndContextExtractors(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	type key struct{}
	e := newEngine(t, engine.WithSink(mem),
		engine.WithEnricher(func(ev *core.Event) { ev.AddField(core.String("host", "h1")) }),
		engine.WithFilter(func(ev *core.Event) bool { return !strings.HasPrefix(ev.Message, "noise") }),
		engine.WithContextExtractor(func(ctx context.Context) []core.Field {
			fs, _ := ctx.Value(key{}).([]core.Field)
			return fs
		}))
	ctx := context.WithValue(context.Background(), key{}, []core.Field{core.String("trace_id", "t-1")})
	log := e.Logger()
	log.Log(ctx, core.LevelInfo, "kept")
	log.Info("noise: dropped")
	flush(t, e)
	require.Equal(t, 1, mem.Len())
	line := mem.Lines()[0]
	require.Contains(t, line, `"trace_id":"t-1"`)
	require.Contains(t, line, `"host":"h1"`)
	st := e.Stats()
	require.Equal(t, uint64(1), st.Sinks[0].Dropped.Filtered)
	requireBalanced(t, st)
}

// A context extractor that panics costs the event its fields, not the
// caller: the call returns, the event is delivered without them, and the
// panic is reported. Mutation caught: calling the extractor without the
// recover (the panic reaches the test).
func TestPanickingContextExtractorDoesNotReachTheCaller(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	reported := make(chan string, 1)
	e := newEngine(t, engine.WithSink(mem),
		engine.WithErrorHandler(func(err error) { reported <- err.Error() }),
		engine.WithContextExtractor(func(ctx context.Context) []core.Field { panic("extractor bug") }),
		engine.WithContextExtractor(func(ctx context.Context) []core.Field {
			return []core.Field{core.String("trace_id", "t-1")}
		}))
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, 1)
	require.NotPanics(t, func() { e.Logger().Log(ctx, core.LevelInfo, "still logged") })
	flush(t, e)
	require.Equal(t, 1, mem.Len())
	require.Contains(t, mem.Lines()[0], `"trace_id":"t-1"`, "the other extractor's fields are kept")
	select {
	case msg := <-reported:
		require.Equal(t, "engine: context extractor panicked: extractor bug", msg)
	case <-time.After(5 * time.Second):
		t.Fatal("the panic was not reported")
	}
	requireBalanced(t, e.Stats())
}

func TestSinkErrorsAndPanicsAreCountedNotPropagated(t *testing.T) {
	failing := sinks.NewMemory(sinks.MemoryOptions{})
	failing.SetErr(errors.New("disk on fire"))
	var handled atomic.Int64
	var lastErr atomic.Value
	e := newEngine(t,
		engine.WithSink(failing, engine.SinkName("failing")),
		engine.WithSink(panicSink{}, engine.SinkName("panicky")),
		engine.WithErrorHandler(func(err error) { handled.Add(1); lastErr.Store(err.Error()) }))
	for range 10 {
		e.Logger().Info("x")
	}
	flush(t, e)
	st := e.Stats()
	// Each sink's events failed, or were refused once its breaker opened
	// (5 failed calls in a row, retries included).
	for _, s := range st.Sinks {
		require.Positive(t, s.Failed, "%s", s.Name)
		require.Equal(t, uint64(10), s.Failed+s.Dropped.BreakerOpen, "%s: %+v", s.Name, s)
	}
	require.Positive(t, handled.Load())
	require.Positive(t, st.Errors)
	requireBalanced(t, st)
}

type panicSink struct{}

func (panicSink) Write(context.Context, []core.Entry) (int, error) { panic("sink exploded") }
func (panicSink) Flush(context.Context) error                      { return nil }
func (panicSink) Close(context.Context) error                      { return nil }

// A sink that hangs must not delay or cost the others anything, under
// every policy: flushers never wait for it, its batches queue until the
// memory budget's trim mark, and from there its oldest batches are shed
// for it alone (budget), so the budget never fills and no call is
// refused. Mutations caught: shedding from this shard's longest lane
// instead of the sink furthest behind over all shards (the fast sink
// loses events on a shard where the slow sink's lane is short), and not
// shedding at all (the budget fills and calls are refused, which the fast
// sink sees).
func TestSlowSinkDoesNotDelayOthers(t *testing.T) {
	forEachQueue(t, func(t *testing.T, q engine.QueueKind) {
		for _, pol := range []ring.Policy{ring.DropOldest, ring.Block} {
			t.Run(pol.String(), func(t *testing.T) {
				fast := sinks.NewMemory(sinks.MemoryOptions{})
				slow := sinks.NewMemory(sinks.MemoryOptions{})
				slow.SetDelay(time.Hour) // honours ctx: Shutdown's deadline releases it
				// The ring holds the whole burst, so the fast sink can lose
				// events only if the slow one is not isolated. The budget
				// holds about half of what the slow sink is sent.
				e, err := engine.New(engine.WithQueue(q), engine.WithBatchSize(16), engine.WithCapacity(4096), engine.WithMaxQueueBytes(1<<20),
					engine.WithOverflow(pol), engine.WithBlockTimeout(100*time.Millisecond),
					engine.WithSink(fast, engine.SinkName("fast")), engine.WithSink(slow, engine.SinkName("slow")))
				require.NoError(t, err)
				const n = 2000
				start := time.Now()
				for i := range n {
					e.Logger().Info("e", core.Int("i", i))
					if i%100 == 0 {
						time.Sleep(time.Millisecond) // let flushers keep up; the test is about the sinks
					}
				}
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				require.NoError(t, fast.Wait(ctx, n), "fast sink got %d of %d in %v: %+v %+v", fast.Len(), n, time.Since(start), e.Stats().Sinks[0], e.Metrics(false).Engine.Budget)

				sctx, scancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				defer scancel()
				start = time.Now()
				rep, err := e.Shutdown(sctx)
				require.ErrorIs(t, err, context.DeadlineExceeded)
				require.Less(t, time.Since(start), 2*time.Second, "Shutdown returns by its deadline")
				require.Equal(t, uint64(n), rep.Sinks[0].Written)
				require.Zero(t, rep.Sinks[0].Dropped.Total())
				require.False(t, rep.Sinks[0].Stuck)
				require.Positive(t, rep.Sinks[1].Dropped.Budget, "the slow sink's oldest batches were shed: %+v", rep.Sinks[1].Dropped)
				require.Zero(t, rep.Sinks[1].Dropped.QueueFullNewest, "a lagging sink is not a full queue")

				// Once the slow sink's writer lets go, its accounting closes
				// exactly, and a second Shutdown reports the settled figures.
				require.Eventually(t, func() bool {
					s := e.Stats().Sinks[1]
					return s.Pending == 0
				}, 5*time.Second, 5*time.Millisecond)
				rep, err = e.Shutdown(context.Background())
				require.ErrorIs(t, err, context.DeadlineExceeded, "the second call returns the first's error")
				s := rep.Sinks[1]
				require.Zero(t, s.Pending)
				require.False(t, s.Stuck)
				require.Equal(t, s.Accepted, s.Written+s.Diverted+s.Failed+s.Dropped.Total(), "%+v", s)
			})
		}
	})
}

// Under overload every event is accounted for exactly, for each policy.
func TestOverloadAccountingIsExact(t *testing.T) {
	for _, q := range queues {
		for _, pol := range []string{"drop-oldest", "drop-newest", "block"} {
			t.Run(q.String()+"/"+pol, func(t *testing.T) {
				p := map[string]int{"drop-oldest": 0, "drop-newest": 1, "block": 2}[pol]
				slowish := sinks.NewMemory(sinks.MemoryOptions{})
				slowish.SetDelay(50 * time.Microsecond)
				e, err := engine.New(engine.WithQueue(q), engine.WithCapacity(16), engine.WithShards(2),
					engine.WithBatchSize(8), engine.WithBlockTimeout(time.Millisecond),
					engine.WithOverflow(policies[p]), engine.WithSink(slowish))
				require.NoError(t, err)
				var wg sync.WaitGroup
				const goroutines, each = 8, 2000
				for g := range goroutines {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range each {
							e.Logger().Info("burst", core.Int("g", g), core.Int("i", i))
						}
					}()
				}
				wg.Wait()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				rep, err := e.Shutdown(ctx)
				require.NoError(t, err)
				s := rep.Sinks[0]
				require.Equal(t, uint64(goroutines*each), s.Accepted)
				require.Equal(t, uint64(slowish.Len()), s.Written)
				requireBalanced(t, rep)
				t.Logf("%s: %+v", pol, s.Dropped)
				if pol != "block" {
					// Lost, or (DropOldest) evicted and kept by the spill.
					overloaded := s.Dropped.Total()
					for _, sh := range e.Metrics(false).Engine.Shards {
						overloaded += sh.Evicted
					}
					require.Positive(t, overloaded, "the test must overload the queue")
				}
				// After shutdown, calls are dropped as closed.
				e.Logger().Info("late")
				late := e.Stats().Sinks[0]
				require.Equal(t, s.Dropped.Closed+1, late.Dropped.Closed)
				requireBalanced(t, e.Stats())
			})
		}
	}
}

func TestShutdownIsIdempotentAndFlushAfterReturnsErrClosed(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	e, err := engine.New(engine.WithSink(mem))
	require.NoError(t, err)
	e.Logger().Info("one")
	r1, err := e.Shutdown(context.Background())
	require.NoError(t, err)
	r2, err := e.Shutdown(context.Background())
	require.NoError(t, err)
	require.Equal(t, r1.Sinks[0].Written, r2.Sinks[0].Written)
	require.Equal(t, uint64(1), r1.Sinks[0].Written)
	require.ErrorIs(t, e.Flush(context.Background()), engine.ErrClosed)
	require.ErrorIs(t, mem.Flush(context.Background()), sinks.ErrClosed, "Shutdown closes the sinks")
}

func TestFatalLogsDrainsAndExits(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	code := -1
	e, err := engine.New(engine.WithSink(mem), engine.WithExitFunc(func(c int) { code = c }))
	require.NoError(t, err)
	e.Logger().Info("before")
	e.Logger().Fatal("fatal", core.String("why", "test"))
	require.Equal(t, 1, code)
	require.Equal(t, 2, mem.Len(), "both events written before exit")
	require.Equal(t, core.LevelFatal, mem.Events()[1].Level)
}

func TestPerCallSitePolicy(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	mem.SetDelay(time.Millisecond)
	e := newEngine(t, engine.WithSink(mem), engine.WithCapacity(2), engine.WithShards(1), engine.WithBatchSize(1),
		engine.WithOverflow(policies[1]), engine.WithOverflowAt(core.LevelError, policies[2]), engine.WithBlockTimeout(time.Second))
	for i := range 50 {
		e.Logger().Error("must not be dropped", core.Int("i", i))
	}
	flush(t, e)
	st := e.Stats().Sinks[0]
	require.Equal(t, uint64(50), st.Written, "errors block rather than drop: %+v", st)
	strict := e.Logger().WithPolicy(policies[1])
	for range 50 {
		strict.Error("may be dropped")
	}
	flush(t, e)
	requireBalanced(t, e.Stats())
}

func ExampleLogger() {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	e, err := engine.New(engine.WithSink(mem))
	if err != nil {
		panic(err)
	}
	log := e.Logger().Named("api").With(core.String("region", "eu"))
	log.Info("request handled", core.Int("status", 200), core.Duration("took", 1500*time.Microsecond))
	rep, _ := e.Shutdown(context.Background())
	var line map[string]any
	_ = json.Unmarshal([]byte(mem.Lines()[0]), &line)
	fmt.Println(line["msg"], line["logger"], line["region"], line["status"], line["took"])
	fmt.Println("written:", rep.Sinks[0].Written, "pending:", rep.Sinks[0].Pending)
	// Output:
	// request handled api eu 200 1.5ms
	// written: 1 pending: 0
}

// The wall time is derived from the monotonic clock on the flusher; it
// must still be the time of the call.
func TestWallTimeIsTheCallTime(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	e := newEngine(t, engine.WithSink(mem))
	var before, after []time.Time
	for range 5 {
		before = append(before, time.Now())
		e.Logger().Info("tick")
		after = append(after, time.Now())
		time.Sleep(30 * time.Millisecond) // spans anchor refreshes (100ms)
	}
	flush(t, e)
	evs := mem.Events()
	require.Len(t, evs, 5)
	for i, ev := range evs {
		require.False(t, ev.WallFromMono, "sinks see the time filled in")
		// Wall readings of before/after and the derived time can differ by
		// the clock's granularity; allow a microsecond.
		require.False(t, ev.Time.Before(before[i].Add(-time.Microsecond)), "event %d: %v before %v", i, ev.Time, before[i])
		require.False(t, ev.Time.After(after[i].Add(time.Microsecond)), "event %d: %v after %v", i, ev.Time, after[i])
	}
}

func TestFlusherAffinityWorks(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	var errs atomic.Int64
	e := newEngine(t, engine.WithSink(mem), engine.WithFlusherAffinity(true),
		engine.WithErrorHandler(func(error) { errs.Add(1) }))
	for i := range 100 {
		e.Logger().Info("bound", core.Int("i", i))
	}
	flush(t, e)
	require.Equal(t, 100, mem.Len())
	require.Zero(t, errs.Load(), "binding to an allowed CPU succeeds on Linux")
}

// A sink's run-time level (SinkLevelVar) changes what it takes while the
// engine runs; what falls below it is counted for that sink alone, and
// the other sinks are untouched.
func TestSinkLevelVarChangesAtRunTime(t *testing.T) {
	forEachQueue(t, func(t *testing.T, q engine.QueueKind) {
		var lv core.LevelVar // Info
		mem := sinks.NewMemory(sinks.MemoryOptions{})
		all := sinks.NewMemory(sinks.MemoryOptions{})
		e := newEngine(t, engine.WithQueue(q), engine.WithLevel(core.LevelDebug),
			engine.WithSink(mem, engine.SinkName("leveled"), engine.SinkLevelVar(&lv)),
			engine.WithSink(all, engine.SinkName("all")))
		log := e.Logger()
		log.Debug("d1")
		log.Info("i1")
		flush(t, e)
		lv.Set(core.LevelWarn)
		log.Info("i2")
		log.Warn("w2")
		flush(t, e)
		lv.Set(core.LevelDebug)
		log.Debug("d3")
		flush(t, e)

		var got []string
		for _, ev := range mem.Events() {
			got = append(got, ev.Message)
		}
		require.Equal(t, []string{"i1", "w2", "d3"}, got)
		require.Equal(t, 5, all.Len())
		rep := e.Stats()
		requireBalanced(t, rep)
		require.Equal(t, uint64(2), rep.Sinks[0].Dropped.BelowSinkLevel)
		require.Equal(t, uint64(2), rep.Sinks[0].Dropped.Total())
		require.Zero(t, rep.Sinks[1].Dropped.Total())
	})
}

// Flush on a quiet engine never waits for a safety timer (one second):
// whatever the flushers and the writer were doing when the request came,
// someone is woken for it. 200 engines, two Flushes each, after a filtered
// event (nothing to write) and after nothing at all. Mutations caught:
// a writer that sleeps right after taking a fresh request without going
// round again (about one Flush in twenty took 1s: the worst fails), and
// flushers that decline to park by looping at once (nearly every second
// Flush took ~20ms, the writer starved of a processor: the median fails).
func TestFlushOnAQuietEngineIsPrompt(t *testing.T) {
	var worst time.Duration
	var seconds []time.Duration
	for i := range 200 {
		mem := sinks.NewMemory(sinks.MemoryOptions{})
		e, err := engine.New(engine.WithSink(mem),
			engine.WithFilter(func(ev *core.Event) bool { return ev.Message != "secret" }))
		require.NoError(t, err)
		time.Sleep(time.Duration(i%7) * time.Millisecond) // flushers at every stage of idling
		e.Logger().Info("secret")
		for k := range 2 {
			start := time.Now()
			require.NoError(t, e.Flush(context.Background()))
			d := time.Since(start)
			worst = max(worst, d)
			if k == 1 {
				seconds = append(seconds, d)
			}
		}
		_, err = e.Shutdown(context.Background())
		require.NoError(t, err)
	}
	require.Less(t, worst, 300*time.Millisecond, "a Flush waited for a safety timer")
	slices.Sort(seconds)
	median := seconds[len(seconds)/2]
	require.Less(t, median, 10*time.Millisecond, "second Flushes are slow: the flushers spin and starve the writer")
	t.Logf("slowest Flush: %v; median second Flush: %v", worst, median)
}

// A sink with a loss marker learns of a gap in its own output: after
// events were lost (here refused by a full shard), the next batch it gets
// starts with one record counting them by reason. The marker is counted
// apart, so the accounting of real events stays exact, and a sink without
// the option gets no marker.
func TestLossMarkerPrecedesTheNextEvent(t *testing.T) {
	marked := sinks.NewMemory(sinks.MemoryOptions{})
	plain := sinks.NewMemory(sinks.MemoryOptions{})
	// An enricher holds the flusher on "first", so the shard (2 slots)
	// fills and later calls are refused (a flusher never waits for a
	// sink, so a hung sink alone would not fill it).
	entered, release := make(chan struct{}), make(chan struct{})
	e := newEngine(t, engine.WithShards(1), engine.WithCapacity(2), engine.WithBatchSize(1),
		engine.WithOverflow(ring.DropNewest),
		engine.WithEnricher(func(ev *core.Event) {
			if ev.Message == "first" {
				close(entered)
				<-release
			}
		}),
		engine.WithSink(marked, engine.SinkName("marked"), engine.SinkLossMarker(true)),
		engine.WithSink(plain, engine.SinkName("plain")))
	log := e.Logger()
	log.Info("first")
	<-entered // the flusher is held: the shard fills
	for range 20 {
		log.Info("lost or kept")
	}
	close(release)
	flush(t, e)
	log.Info("after")
	flush(t, e)

	rep := e.Stats()
	requireBalanced(t, rep)
	lost := rep.Sinks[0].Dropped.QueueFullNewest
	require.Positive(t, lost, "the test must lose events")
	require.Equal(t, uint64(1), rep.Sinks[0].Markers)
	require.Zero(t, rep.Sinks[1].Markers)

	evs := marked.Events()
	var markers []core.Event
	for _, ev := range evs {
		if ev.Logger == "shardlog" {
			markers = append(markers, ev)
		}
	}
	require.Len(t, markers, 1)
	require.Equal(t, "events lost", markers[0].Message)
	require.Equal(t, core.LevelWarn, markers[0].Level)
	require.Equal(t, "queue-full-newest", markers[0].Fields()[0].Key)
	require.Equal(t, lost, markers[0].Fields()[0].Uint64())
	require.Equal(t, uint64(len(evs)-1), rep.Sinks[0].Written, "the marker is not a written event")
	require.Equal(t, len(evs)-1, plain.Len())
}

// ctxSink blocks in Write until its context ends, the first time only.
type ctxSink struct {
	*sinks.Memory
	hung atomic.Bool
}

func (s *ctxSink) Write(ctx context.Context, es []core.Entry) (int, error) {
	if s.hung.CompareAndSwap(false, true) {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	return s.Memory.Write(ctx, es)
}

// A sink's Write gets a context that ends at its write timeout: a sink
// that waits on its context is released, the call is counted as timed
// out, and the retry (default policy) gets a fresh context and writes.
// Mutation caught: handing Write the writer's long-lived context (the
// engine before) hangs the writer for ever.
func TestWriteTimeoutEndsAHungWrite(t *testing.T) {
	s := &ctxSink{Memory: sinks.NewMemory(sinks.MemoryOptions{})}
	e := newEngine(t, engine.WithSink(s, engine.SinkName("hung"), engine.SinkWriteTimeout(50*time.Millisecond)),
		engine.WithErrorHandler(func(error) {}))
	e.Logger().Info("first")
	require.Eventually(t, func() bool { return e.Stats().Sinks[0].Written == 1 }, 5*time.Second, time.Millisecond)
	e.Logger().Info("second")
	flush(t, e)
	st := e.Stats().Sinks[0]
	require.Equal(t, uint64(1), st.Timeouts)
	require.Equal(t, uint64(1), st.Retries)
	require.Equal(t, uint64(2), st.Written)
	require.Zero(t, st.Failed)
	require.Equal(t, "first", s.Events()[0].Message)
	requireBalanced(t, e.Stats())
	require.Equal(t, uint64(1), e.Metrics(false).Sinks[0].Timeouts)
}

// shedSink writes the first half of each batch and says the rest was not
// attempted, as a load-shedding decorator would.
type shedSink struct{ *sinks.Memory }

func (s shedSink) Write(ctx context.Context, es []core.Entry) (int, error) {
	half := len(es) / 2
	n, err := s.Memory.Write(ctx, es[:half])
	if err != nil {
		return n, err
	}
	return n, fmt.Errorf("shed half: %w", core.ErrNotAttempted)
}

// A Write whose error wraps core.ErrNotAttempted accounts the rest of the
// batch as dropped (not-attempted), not as failed, and is not a sink
// error. Mutation caught: ignoring the sentinel counts them failed.
func TestNotAttemptedIsADropNotAFailure(t *testing.T) {
	s := shedSink{sinks.NewMemory(sinks.MemoryOptions{})}
	var reported atomic.Int64
	e := newEngine(t, engine.WithSink(s, engine.SinkName("shed")), engine.WithBatchSize(4),
		engine.WithErrorHandler(func(error) { reported.Add(1) }))
	for i := range 40 {
		e.Logger().Info("e", core.Int("i", i))
	}
	flush(t, e)
	st := e.Stats().Sinks[0]
	requireBalanced(t, e.Stats())
	require.Zero(t, st.Failed)
	require.Zero(t, st.Errors)
	require.Zero(t, reported.Load())
	require.Positive(t, st.Dropped.NotAttempted)
	require.Equal(t, uint64(40), st.Written+st.Dropped.NotAttempted)
	require.Equal(t, int(st.Written), s.Len())
}
