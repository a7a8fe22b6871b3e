package stress

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/shardlog/shardlog"
)

// Shutdown while producers log under every policy (Block, DropNewest,
// DropOldest, and the slog handler under Block) and call Sync and Flush:
// under each strategy (FlushPending, Immediate, Graceful(30ms)) and under
// a context deadline (30ms), on both queues. Graceful and the deadline
// face a sink that stalls (honouring its context) so that they must give
// up. Producers keep logging until each has made 50 calls after Shutdown
// returned. Checked: no call panics or blocks for ever, Shutdown returns
// within 10s with the error its strategy implies, every call is accounted
// for (written, or dropped as closed or shutdown, or by the ring's drop
// policies), FlushPending loses nothing to the shutdown, no call that
// began after Shutdown returned is delivered and each is dropped as
// closed, no call that ended before Shutdown began is dropped as closed,
// the slog handler returns ErrClosed exactly after the shutdown, and no
// goroutine is left. Each case runs once per unit of scale.
func TestShutdownRacesProducers(t *testing.T) {
	cases := []shutdownCase{
		{"flush-pending", nil, 0, false},
		{"immediate", []shardlog.Strategy{shardlog.Immediate}, 0, false},
		{"graceful", []shardlog.Strategy{shardlog.Graceful(30 * time.Millisecond)}, 0, true},
		{"ctx-deadline", nil, 30 * time.Millisecond, true},
	}
	for _, q := range []shardlog.QueueKind{shardlog.LockFree, shardlog.MutexQueue} {
		for _, c := range cases {
			t.Run(q.String()+"/"+c.name, func(t *testing.T) {
				defer goleak.VerifyNone(t, goleak.IgnoreCurrent(), lumberjackMill)
				for range scale {
					shutdownRace(t, q, c)
				}
			})
		}
	}
}

type shutdownCase struct {
	name     string
	strategy []shardlog.Strategy
	deadline time.Duration // of the Shutdown's context; 0: none
	stalled  bool          // the sink stalls until the shutdown is over
}

// shutdownRace is one run of TestShutdownRacesProducers.
func shutdownRace(t *testing.T, q shardlog.QueueKind, c shutdownCase) {
	out := newFaultySink("out", nil)
	if c.stalled {
		out.stall()
		defer out.open()
	} else {
		out.delay = 50 * time.Microsecond
	}
	e, err := shardlog.New(shardlog.WithQueue(q), shardlog.WithShards(4), shardlog.WithCapacity(128),
		shardlog.WithBlockTimeout(time.Minute), shardlog.WithSyncTimeout(20*time.Millisecond),
		shardlog.WithErrorHandler(quiet),
		shardlog.WithSink(out, shardlog.SinkName("out"), shardlog.SinkWriteTimeout(time.Minute)))
	require.NoError(t, err)

	var started, returned atomic.Bool
	var total atomic.Int64
	var bad problems
	n := producers()
	counts := make([]int64, n)
	pre := make([]int64, n)       // calls that ended before Shutdown began
	post := make([]int64, n)      // calls that began after Shutdown returned
	firstPost := make([]int64, n) // the first of those
	const postCalls = 50
	wait := start(n, func(p int) {
		log := e.Logger()
		switch p % 4 {
		case 0:
			log = log.WithPolicy(shardlog.Block)
		case 1:
			log = log.WithPolicy(shardlog.DropNewest)
		case 3:
			log = log.WithPolicy(shardlog.Block) // under the slog handler
		}
		h := shardlog.NewHandler(log, nil)
		firstPost[p] = -1
		for s := int64(0); ; s++ {
			after := returned.Load()
			if after && post[p] == postCalls {
				return
			}
			if after {
				if post[p] == 0 {
					firstPost[p] = s
				}
				post[p]++
			}
			if p%4 == 3 {
				r := slog.NewRecord(time.Now(), slog.LevelInfo, "slog", 0)
				r.AddAttrs(slog.Int("p", p), slog.Int64("s", s))
				err := h.Handle(context.Background(), r)
				switch {
				case after && !errors.Is(err, shardlog.ErrClosed):
					bad.add("producer %d: Handle after Shutdown returned %v, want ErrClosed", p, err)
				case err != nil && !errors.Is(err, shardlog.ErrClosed):
					bad.add("producer %d: Handle returned %v", p, err)
				}
			} else {
				log.Info("load", shardlog.Int("p", p), shardlog.Int64("s", s))
			}
			counts[p]++
			total.Add(1)
			if !started.Load() {
				pre[p]++
			}
			switch s % 97 {
			case 13:
				if err := log.Sync(); err != nil && !errors.Is(err, shardlog.ErrClosed) && !errors.Is(err, context.DeadlineExceeded) {
					bad.add("producer %d: Sync: %v", p, err)
				}
			case 57:
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				err := e.Flush(ctx)
				cancel()
				if err != nil && !errors.Is(err, shardlog.ErrClosed) && !errors.Is(err, context.DeadlineExceeded) {
					bad.add("producer %d: Flush: %v", p, err)
				}
				if after && !errors.Is(err, shardlog.ErrClosed) {
					bad.add("producer %d: Flush after Shutdown returned %v, want ErrClosed", p, err)
				}
			}
		}
	})
	eventually(t, time.Minute, func() bool { return total.Load() >= int64(1000*n) }, "the producers did not get going")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	if c.deadline > 0 {
		cancel()
		ctx, cancel = context.WithTimeout(context.Background(), c.deadline)
	}
	defer cancel()
	began := time.Now()
	started.Store(true)
	_, err = e.Shutdown(ctx, c.strategy...)
	returned.Store(true)
	took := time.Since(began)
	wait(t)
	bad.check(t)
	t.Logf("Shutdown took %v: %v", took, err)
	require.Less(t, took, 10*time.Second, "Shutdown hung")
	if c.stalled {
		require.ErrorIs(t, err, context.DeadlineExceeded, "the stalled sink made the shutdown give up")
		out.open()
	} else {
		require.NoError(t, err)
	}
	eventually(t, 10*time.Second, func() bool { return sinkStats(t, e.Stats(), "out").Pending == 0 },
		"the sink's accounting never settled: %+v", sinkStats(t, e.Stats(), "out"))
	rep, err2 := e.Shutdown(context.Background())
	require.Equal(t, err, err2, "a second Shutdown returns the first one's error")

	s := sinkStats(t, rep, "out")
	t.Logf("written %d of %d; dropped %+v", s.Written, s.Accepted, s.Dropped)
	requireExact(t, s, sum(counts), out.rec.count())
	requireOnlyDrops(t, s, shardlog.Closed, shardlog.Shutdown, shardlog.QueueFullOldest, shardlog.QueueFullNewest)
	require.Zero(t, s.Failed, "a write the shutdown cut short loses its rest to the shutdown, not to failure")
	if c.name == "flush-pending" {
		require.Zero(t, s.Dropped.Shutdown, "FlushPending delivers everything accepted")
	}
	require.GreaterOrEqual(t, s.Dropped.Closed, sum(post), "every call after Shutdown returned is dropped as closed")
	require.LessOrEqual(t, s.Dropped.Closed, sum(counts)-sum(pre), "no call that ended before Shutdown began is dropped as closed")
	out.rec.check(t, callsOf(counts))
	for p := range n {
		require.False(t, out.rec.has(int64(p), firstPost[p]), "producer %d: a call made after Shutdown returned was delivered", p)
		if firstPost[p] >= 0 {
			require.Less(t, out.rec.last(int64(p)), firstPost[p], "producer %d: a call made after Shutdown returned was delivered", p)
		}
	}
}
