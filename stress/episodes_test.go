package stress

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
)

// Overflow again and again: state that lives from one overflow to the
// next must be reset by each. Six episodes (more with
// SHARDLOG_STRESS_SCALE), each holding the flusher (an enricher that
// waits), overflowing its ring with many producers under DropOldest,
// releasing it, and flushing. Checked per episode: the spill kept some of
// what the ring evicted, and no eviction is unaccounted for;
// and at the end: exact accounting, no duplicate, phantom or out-of-order
// event, and every budget charge released. Plain and with write
// coalescing.
//
// Written after the spill was found closed for good after its first
// overflow (engine's TestSpillReopensAfterEachEpoch): with that bug
// every episode after the first kept nothing.
func TestRepeatedOverflowEpisodes(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []shardlog.Option
	}{
		{"plain", nil},
		{"coalescing", []shardlog.Option{shardlog.WithWriteCoalescing(time.Millisecond)}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			n, each, episodes := producers(), scaled(1500), scaled(6)
			holder := int64(n) // the hold events' producer number
			out := newRecorder("out")
			hold := make(chan chan struct{}, 1)
			e, err := shardlog.New(append(mode.opts,
				shardlog.WithShards(1), shardlog.WithCapacity(128), engine.WithBatchSize(32),
				shardlog.WithOverflow(shardlog.DropOldest), shardlog.WithErrorHandler(quiet),
				shardlog.WithEnricher(func(ev *core.Event) {
					if ev.Message == "hold" {
						<-<-hold
					}
				}),
				shardlog.WithSink(out, shardlog.SinkName("out")))...)
			require.NoError(t, err)
			counts := make([]int64, n+1)
			var spilled, evicted uint64
			for ep := range episodes {
				release := make(chan struct{})
				hold <- release
				e.Logger().Info("hold", shardlog.Int64("p", holder), shardlog.Int("s", ep))
				counts[holder]++
				eventually(t, 10*time.Second, func() bool { return len(hold) == 0 }, "episode %d: the flusher took the hold", ep)
				base := counts[:n:n]
				run(t, n, func(p int) {
					log := e.Logger()
					for range each {
						log.Info("e", shardlog.Int("p", p), shardlog.Int64("s", base[p]))
						base[p]++
					}
				})
				close(release)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				require.NoError(t, e.Flush(ctx))
				cancel()
				sh := e.Metrics(false).Engine.Shards[0]
				d := sinkStats(t, e.Stats(), "out").Dropped
				t.Logf("episode %d: evicted %d, spilled %d, lost so far %d", ep, sh.Evicted-evicted, sh.Spilled-spilled, d.QueueFullOldest)
				require.Greater(t, sh.Evicted, evicted, "episode %d: the ring overflowed", ep)
				require.Greater(t, sh.Spilled, spilled, "episode %d: the spill kept some of what the ring evicted", ep)
				// Spilled also counts calls the ring refused that the spill
				// took directly (a producer found the oldest slot busy), so
				// it is at least what the evictions left uncounted.
				require.GreaterOrEqual(t, sh.Spilled+d.QueueFullOldest, sh.Evicted, "an evicted event is kept or counted lost")
				spilled, evicted = sh.Spilled, sh.Evicted
			}
			rep := shutdown(t, e)
			s := sinkStats(t, rep, "out")
			requireExact(t, s, sum(counts), out.count())
			out.check(t, callsOf(counts))
			requireOnlyDrops(t, s, shardlog.QueueFullOldest, shardlog.QueueFullNewest, shardlog.Budget)
			require.Zero(t, e.Metrics(false).Engine.Budget.Usage, "every charge released")
		})
	}
}
