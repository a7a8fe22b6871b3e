package shardlogprom

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shardlog/shardlog/breaker"

	"github.com/shardlog/shardlog/budget"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/hist"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixedMetrics is a snapshot with every kind of series, latencies in
// known buckets included.
func fixedMetrics() shardlog.Metrics {
	lat := hist.NewLatencyRecorder()
	for _, ns := range []int64{500, 1000, 3000, 3000, 2_000_000, 20e9} {
		lat.Record(ns)
	}
	return shardlog.Metrics{
		Schema: shardlog.MetricsSchema,
		Engine: shardlog.EngineMetrics{
			Sinks: 2, Accepted: 12, Errors: 1, Truncated: 1,
			Budget:          &budget.Snapshot{Limit: 128 << 20, Usage: 4096, Peak: 1 << 20, Crossings: 2, Refused: 3},
			AcceptedByLevel: []shardlog.LevelCount{{Level: "INFO", Count: 10}, {Level: "ERROR", Count: 2}},
			Shards: []shardlog.ShardMetrics{
				{Depth: 3, Evicted: 1, Spilled: 1, FlusherLag: 2500 * time.Microsecond},
				{},
			},
		},
		Sinks: []shardlog.SinkMetrics{{
			Name: "file", Accepted: 12, Written: 9, Dropped: shardlog.Drops{QueueFullOldest: 1}, Failed: 1, Pending: 1,
			Bytes: 900, Batches: 6, Errors: 1, LastError: "write: disk full",
			LastErrorTime: time.Date(2026, 11, 29, 16, 59, 59, 500e6, time.UTC), Lagging: true,
			WriteLatency: lat.Cumulative(),
			Timeouts:     1, Diverted: 3, FallbackWritten: 2, FallbackFailed: 1,
			Breaker: &breaker.Counts{State: breaker.Open, Transitions: [5]uint64{1, 2, 1, 0, 0}, Rejected: 4},
		}, {
			Name: "console", Accepted: 2, Written: 2, Batches: 1,
		}},
	}
}

func fixedCollector(opts ...Option) *collector {
	m := fixedMetrics()
	return newCollector(func(bool) shardlog.Metrics { return m }, opts...)
}

// The whole exposition of a known snapshot is pinned (run with -update
// after a deliberate change), and lint-clean.
func TestCollectorExpositionIsPinned(t *testing.T) {
	c := fixedCollector()
	got := exposition(t, c)
	path := filepath.Join("testdata", "exposition.txt")
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
	require.NoError(t, testutil.CollectAndCompare(c, bytes.NewReader(want)))

	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	require.Empty(t, problems)
}

// exposition returns what c exposes in the text format. (CollectAndFormat
// returns nothing when given no metric names.)
func exposition(t *testing.T, c prometheus.Collector) []byte {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		require.NoError(t, enc.Encode(mf))
	}
	return b.Bytes()
}

// The histogram's buckets are cumulative counts of the latencies, in
// seconds; its count has every Write, its sum the mean times the count.
func TestCollectorWriteDurationHistogram(t *testing.T) {
	c := fixedCollector()
	lat := fixedMetrics().Sinks[0].WriteLatency
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var found bool
	for _, mf := range mfs {
		if mf.GetName() != "shardlog_sink_write_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() != "file" {
				continue
			}
			found = true
			h := m.GetHistogram()
			require.Equal(t, uint64(6), h.GetSampleCount())
			require.InDelta(t, lat.Mean()*6/1e9, h.GetSampleSum(), 1e-12)
			require.InEpsilon(t, 20.002, h.GetSampleSum(), 1e-3)
			var bounds []float64
			var counts []uint64
			for _, b := range h.GetBucket() {
				bounds = append(bounds, b.GetUpperBound())
				counts = append(counts, b.GetCumulativeCount())
			}
			require.Equal(t, DefaultWriteDurationBuckets, bounds)
			//              1µs   5µs            1ms   2.5ms                     10s
			require.Equal(t, []uint64{2, 2, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5}, counts)
		}
	}
	require.True(t, found)
}

func TestWithWriteDurationBuckets(t *testing.T) {
	c := fixedCollector(WithWriteDurationBuckets([]float64{0.000001, 0.001}))
	require.Equal(t, []int64{1000, 1_000_000}, c.bounds)
	for _, bad := range [][]float64{{0}, {-1}, {1, 1}, {2, 1}} {
		require.Panics(t, func() { fixedCollector(WithWriteDurationBuckets(bad)) }, "%v", bad)
	}
}
