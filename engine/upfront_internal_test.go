package engine

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/sinks"
)

// upFrontBytes, which New checks against its bound, is what New allocates
// for the rings and lanes: measured here as the heap New adds, for a
// configuration where they dominate (the rest, histograms and counters,
// is about 1.5 MiB). Mutation caught: leaving the lanes out of the
// estimate.
func TestUpFrontBytesIsWhatNewAllocates(t *testing.T) {
	for _, c := range []struct{ shards, capacity, lanes int }{{4, 1 << 14, 64}, {8, 64, 1 << 15}} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		e, err := New(WithSink(sinks.NewMemory(sinks.MemoryOptions{})), WithSink(sinks.NewMemory(sinks.MemoryOptions{})),
			WithShards(c.shards), WithCapacity(c.capacity), WithLaneDepth(c.lanes))
		require.NoError(t, err)
		runtime.GC()
		runtime.ReadMemStats(&after)
		rings, lanes := e.upFrontBytes()
		added := float64(after.HeapAlloc) - float64(before.HeapAlloc)
		t.Logf("%+v: estimate rings %d + lanes %d = %d KiB, heap added %.0f KiB", c, rings>>10, lanes>>10, (rings+lanes)>>10, added/1024)
		require.InDelta(t, float64(rings+lanes), added, 0.05*float64(rings+lanes)+2<<20)
		_, _ = e.Shutdown(context.Background())
	}
}
