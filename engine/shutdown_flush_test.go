package engine_test

import (
	"context"
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

// slowFlushSink writes to its inner sink at once, but once armed its
// Flush blocks until release is closed; with honorCtx it also returns as
// soon as the call's context ends (a well-behaved sink), without it it
// ignores the context (a hung one).
type slowFlushSink struct {
	inner    core.Sink
	honorCtx bool
	armed    atomic.Bool
	entered  chan struct{}
	once     sync.Once
	release  chan struct{}
	relOnce  sync.Once
}

func newSlowFlushSink(inner core.Sink, honorCtx bool) *slowFlushSink {
	return &slowFlushSink{inner: inner, honorCtx: honorCtx, entered: make(chan struct{}), release: make(chan struct{})}
}

func (s *slowFlushSink) open() { s.relOnce.Do(func() { close(s.release) }) }

func (s *slowFlushSink) Write(ctx context.Context, b []core.Entry) (int, error) {
	return s.inner.Write(ctx, b)
}

func (s *slowFlushSink) Flush(ctx context.Context) error {
	if s.armed.Load() {
		s.once.Do(func() { close(s.entered) })
		if s.honorCtx {
			select {
			case <-s.release:
			case <-ctx.Done():
				return ctx.Err()
			}
		} else {
			<-s.release
		}
	}
	return s.inner.Flush(ctx)
}

func (s *slowFlushSink) Close(ctx context.Context) error { return s.inner.Close(ctx) }

// A sink Flush made for a caller's Flush or Sync is cancelled when
// Shutdown gives up on the writer, as the writer's own calls are: a sink
// that honours its context returns, is not reported stuck, and what was
// queued behind the Flush is counted shutdown by the time Shutdown
// returns. Mutation caught: the sink's Flush under the caller's context
// alone (Stuck true, Pending 200, before the fix).
func TestShutdownCancelsAFlushInProgress(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	s := newSlowFlushSink(mem, true)
	e := newEngine(t, engine.WithShards(2), engine.WithSink(s, engine.SinkName("slowflush")))

	s.armed.Store(true)
	fctx, fcancel := context.WithCancel(context.Background())
	flushDone := make(chan error, 1)
	go func() { flushDone <- e.Flush(fctx) }()
	t.Cleanup(func() {
		fcancel() // the sink's Flush honours it: the writer comes back
		<-flushDone
		s.open()
	})
	<-s.entered

	const n = 200
	for i := range n {
		e.Logger().Info("behind the flush", core.Int("i", i))
	}
	for e.Depth() > 0 {
		time.Sleep(time.Millisecond)
	}

	start := time.Now()
	rep, err := e.Shutdown(context.Background(), drain.Graceful(50*time.Millisecond))
	t.Logf("Shutdown returned in %v: %v", time.Since(start), err)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	st := rep.Sinks[0]
	t.Logf("at Shutdown's return: %+v", st)
	// The writer gets 2ms (callGrace) to come back from the canceled
	// Flush before Shutdown reports it stuck; on a loaded machine it may
	// need longer, so the settled figures are read once it has (the bug
	// left the Flush running, and the events pending, for good).
	require.Eventually(t, func() bool {
		s := e.Stats().Sinks[0]
		return !s.Stuck && s.Pending == 0
	}, 2*time.Second, time.Millisecond, "the shutdown canceled the sink's Flush: nothing stuck or pending")
	st = e.Stats().Sinks[0]
	require.Equal(t, uint64(n), st.Dropped.Shutdown, "%+v", st)
}

// Report.Sinks and Report.Drain agree on Stuck: a writer whose final
// Flush hangs past the deadline has settled its accounting but is inside
// a sink call, and both say so. Mutation caught: Stats' old definition
// (abandoned and not settled), which said false.
func TestStuckAgreesBetweenStatsAndDrainReport(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	s := newSlowFlushSink(mem, false)
	e := newEngine(t, engine.WithShards(2), engine.WithSink(s, engine.SinkName("hungflush")))
	t.Cleanup(s.open)

	e.Logger().Info("written before the shutdown")
	require.Eventually(t, func() bool { return mem.Len() == 1 }, 5*time.Second, time.Millisecond)
	s.armed.Store(true)

	rep, err := e.Shutdown(context.Background(), drain.Graceful(50*time.Millisecond))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	<-s.entered
	require.NotNil(t, rep.Drain)
	require.True(t, rep.Drain.Accounts[0].Stuck, "the drain report names the sink stuck in its Flush")
	require.Equal(t, rep.Drain.Accounts[0].Stuck, rep.Sinks[0].Stuck,
		"Report.Sinks and Report.Drain disagree about the same sink: %+v vs %+v", rep.Sinks[0], rep.Drain.Accounts[0])
}
