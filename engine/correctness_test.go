package engine_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/ring"
	"github.com/shardlog/shardlog/sinks"
)

// gateSink holds every Write until release is closed, ignoring its
// context like a hung peer, and says when a Write has started.
type gateSink struct {
	mem     *sinks.Memory
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGateSink() *gateSink {
	return &gateSink{mem: sinks.NewMemory(sinks.MemoryOptions{}), entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gateSink) Write(ctx context.Context, b []core.Entry) (int, error) {
	g.once.Do(func() { close(g.entered) })
	<-g.release
	return g.mem.Write(context.Background(), b)
}
func (g *gateSink) Flush(context.Context) error { return nil }
func (g *gateSink) Close(context.Context) error { return nil }

// stuckPipeline logs e1..e5 into a one-shard Block engine whose sink hangs
// in its first Write: e1 is in that Write, e2 waits in the lane, e3 holds
// the flusher (an enricher that waits for the same gate: a flusher never
// waits for a sink, so a stuck sink alone no longer fills the ring), and
// e4 and e5 fill the ring (capacity 2), so the shard is full.
func stuckPipeline(t *testing.T, q engine.QueueKind, opts ...engine.Option) (*engine.Engine, *gateSink) {
	t.Helper()
	g := newGateSink()
	e, err := engine.New(append([]engine.Option{engine.WithQueue(q), engine.WithShards(1), engine.WithCapacity(2),
		engine.WithBatchSize(1), engine.WithOverflow(ring.Block),
		engine.WithEnricher(func(ev *core.Event) {
			if ev.Message == "e3" {
				<-g.release
			}
		}),
		engine.WithBlockTimeout(10 * time.Second),
		engine.WithSink(g, engine.SinkName("gate"))}, opts...)...)
	require.NoError(t, err)
	log := e.Logger()
	log.Info("e1")
	<-g.entered
	for _, m := range []string{"e2", "e3", "e4", "e5"} {
		log.Info(m)
	}
	require.Eventually(t, func() bool { return e.Depth() == 2 }, 5*time.Second, time.Millisecond, "the ring fills")
	return e, g
}

// A Block call whose context is already canceled (slog's InfoContext with
// the request's context, after the client went away) still waits for room
// on a full shard and is written: by default the context supplies values
// only. With WithContextBoundsWait the context ends the wait, and the
// event is counted as block-timeout. Mutation caught: passing the call's
// context to the ring's wait (the old code) drops "late" at once.
func TestCanceledContextDoesNotDropTheEvent(t *testing.T) {
	forEachQueue(t, func(t *testing.T, q engine.QueueKind) {
		for _, bound := range []bool{false, true} {
			t.Run(map[bool]string{false: "default", true: "WithContextBoundsWait"}[bound], func(t *testing.T) {
				e, g := stuckPipeline(t, q, engine.WithContextBoundsWait(bound))
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				done := make(chan struct{})
				go func() {
					e.Logger().Log(ctx, core.LevelError, "late")
					close(done)
				}()
				if bound {
					<-done // the context ended the wait at once
				} else {
					select {
					case <-done:
						t.Fatal("a canceled context ended the Block wait")
					case <-time.After(50 * time.Millisecond):
					}
				}
				close(g.release)
				<-done
				rep, err := e.Shutdown(context.Background())
				require.NoError(t, err)
				s := rep.Sinks[0]
				require.Equal(t, uint64(6), s.Accepted)
				requireBalanced(t, rep)
				if bound {
					require.Equal(t, uint64(5), s.Written)
					require.Equal(t, uint64(1), s.Dropped.BlockTimeout)
					require.Equal(t, uint64(1), s.Dropped.Total())
				} else {
					require.Equal(t, uint64(6), s.Written)
					require.Contains(t, g.mem.Lines()[5]+g.mem.Events()[5].Message, "late")
				}
			})
		}
	})
}

// Events lost at Shutdown's deadline are counted as shutdown wherever they
// sat (the flusher's hand, the ring, the lane), never as a full queue; the
// report returned at the deadline says which sink is stuck in a call and
// what is pending in it; a second Shutdown returns the settled figures.
// Mutation caught: counting a push refused by an abandoned writer as
// queue-full-newest (the old code) breaks the Shutdown counts.
func TestShutdownDeadlineCountsEveryLossAsShutdown(t *testing.T) {
	forEachQueue(t, func(t *testing.T, q engine.QueueKind) {
		e, g := stuckPipeline(t, q)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		rep, err := e.Shutdown(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		s := rep.Sinks[0]
		require.True(t, s.Stuck, "the writer is inside a Write that has not returned: %+v", s)
		require.Equal(t, uint64(5), s.Accepted)
		require.Zero(t, s.Written)
		require.Equal(t, s.Dropped.Shutdown, s.Dropped.Total(), "every loss is a shutdown loss: %+v", s.Dropped)
		require.Equal(t, s.Accepted, s.Written+s.Diverted+s.Failed+s.Dropped.Total()+s.Pending)
		require.Positive(t, s.Pending, "e1 is still in the hung Write")

		close(g.release) // the hung call returns
		require.Eventually(t, func() bool { return e.Stats().Sinks[0].Pending == 0 }, 5*time.Second, time.Millisecond)
		rep, err = e.Shutdown(context.Background())
		require.ErrorIs(t, err, context.DeadlineExceeded)
		s = rep.Sinks[0]
		require.False(t, s.Stuck)
		require.Equal(t, uint64(1), s.Written, "e1's Write completed")
		require.Equal(t, uint64(4), s.Dropped.Shutdown)
		require.Equal(t, uint64(4), s.Dropped.Total())
		requireBalanced(t, rep)
	})
}

// The mixed-policy promise: errors (Block) wait for room while chatter
// (DropOldest) is evicted (kept in the spill within the budget, or lost).
// A slow sink and a small ring keep the shards full; every error is
// written, and every chatter loss is counted. (Letting DropOldest callers
// evict Block entries, the old ring, lost nearly every error here before
// the spill; the spill would now keep them, so that mutation is caught by
// ring's TestBlockEntriesAreNeverEvicted instead.)
func TestMixedPoliciesKeepEveryError(t *testing.T) {
	forEachQueue(t, func(t *testing.T, q engine.QueueKind) {
		mem := sinks.NewMemory(sinks.MemoryOptions{})
		mem.SetDelay(5 * time.Millisecond)
		e, err := engine.New(engine.WithQueue(q), engine.WithLevel(core.LevelDebug), engine.WithShards(2), engine.WithCapacity(16), engine.WithBatchSize(64),
			engine.WithOverflowAt(core.LevelError, ring.Block), engine.WithOverflow(ring.DropOldest),
			engine.WithBlockTimeout(10*time.Second), engine.WithSink(mem))
		require.NoError(t, err)
		const goroutines, each = 4, 5000 // 20 000 events, 1% errors
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				log := e.Logger().With(core.Int("g", g))
				for i := range each {
					if i%100 == 0 {
						log.Error("error", core.Int("i", i))
					} else {
						log.Debug("chatter", core.Int("i", i))
					}
				}
			}()
		}
		wg.Wait()
		rep, err := e.Shutdown(context.Background())
		require.NoError(t, err)
		s := rep.Sinks[0]
		errorsWritten := 0
		for _, ev := range mem.Events() {
			if ev.Level == core.LevelError {
				errorsWritten++
			}
		}
		require.Equal(t, goroutines*each/100, errorsWritten, "every error is written: %+v", s.Dropped)
		requireBalanced(t, rep)
		// The shards overflowed: the ring evicted chatter for newer events
		// (kept in the spill within the budget, or lost) or refused it.
		var evicted uint64
		for _, sh := range e.Metrics(false).Engine.Shards {
			evicted += sh.Evicted
		}
		require.Positive(t, evicted+s.Dropped.QueueFullOldest+s.Dropped.QueueFullNewest, "the test must overload the shards")
		require.Zero(t, s.Dropped.BlockTimeout+s.Dropped.SinkLagging+s.Dropped.Shutdown)
		t.Logf("written %d of %d; %d evicted; chatter dropped %+v", s.Written, s.Accepted, evicted, s.Dropped)
	})
}

// Printed times follow the order a sink receives events in (the Mono
// order), across shards: every flusher maps Mono to wall time with the
// same anchor. Mutation caught: one anchor per flusher (the old code),
// whose readings differ by tens of nanoseconds, printed times going
// backwards between shards.
func TestPrintedTimesFollowMergeOrderAcrossShards(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	e := newEngine(t, engine.WithShards(4), engine.WithCapacity(4096), engine.WithOverflow(ring.Block), engine.WithSink(mem))
	stop := churnProcs(0)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				e.Logger().Info("t", core.Int("g", g), core.Int("i", i))
			}
		}()
	}
	wg.Wait()
	stop()
	flush(t, e)
	evs := mem.Events()
	require.Len(t, evs, 16000)
	for i := 1; i < len(evs); i++ {
		require.False(t, evs[i].Time.Before(evs[i-1].Time), "event %d printed at %v, before event %d at %v",
			i, evs[i].Time.Format(time.RFC3339Nano), i-1, evs[i-1].Time.Format(time.RFC3339Nano))
	}
}

// A self-referential value never crashes the caller: it is logged as a
// placeholder and counted.
func TestCyclicValueIsLoggedAsAPlaceholder(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	e := newEngine(t, engine.WithSink(mem))
	m := map[string]any{"a": 1}
	m["self"] = m
	before := e.Stats().Placeholders
	e.Logger().Info("cyclic", core.Any("m", m))
	flush(t, e)
	require.Equal(t, 1, mem.Len())
	require.True(t, strings.HasPrefix(mem.Events()[0].Fields()[0].Str(), "!CYCLE("), mem.Events()[0].Fields()[0].Str())
	require.Equal(t, before+1, e.Stats().Placeholders)
}

// Order across shards for one goroutine rests on one assumption, stated in
// docs/DESIGN.md: the monotonic clock advances between two log calls of
// one goroutine (its resolution is finer than a call), so their Monos
// differ and the merge cannot swap them. This checks the assumption on the
// platform the tests run on, with the goroutine moving between shards.
func TestMonoAdvancesBetweenCallsOfOneGoroutine(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	e := newEngine(t, engine.WithShards(4), engine.WithCapacity(4096), engine.WithOverflow(ring.Block), engine.WithSink(mem))
	stop := churnProcs(0)
	for i := range 10000 {
		e.Logger().Info("m", core.Int("i", i))
	}
	stop()
	flush(t, e)
	evs := mem.Events()
	require.Len(t, evs, 10000)
	for i := 1; i < len(evs); i++ {
		require.Greater(t, evs[i].Mono, evs[i-1].Mono, "calls %d and %d of one goroutine share a Mono", i-1, i)
		require.Equal(t, int64(i), evs[i].Fields()[0].Int64())
	}
}
