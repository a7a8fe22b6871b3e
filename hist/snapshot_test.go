package hist_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/hist"
)

func recordRange(t *testing.T, lowest, highest int64, sigfigs int, from, to int64) *hist.Snapshot {
	t.Helper()
	r, err := hist.NewRecorder(lowest, highest, sigfigs)
	require.NoError(t, err)
	for v := from; v <= to; v++ {
		r.Record(v)
	}
	return r.Snapshot()
}

func TestEmptySnapshotReportsZeros(t *testing.T) {
	for name, s := range map[string]*hist.Snapshot{
		"zero value":    {},
		"nil":           nil,
		"from Snapshot": hist.NewLatencyRecorder().Snapshot(),
		"coarse lowest": recordRange(t, 1000, 1e6, 3, 1, 0),
	} {
		t.Run(name, func(t *testing.T) {
			require.Zero(t, s.Count())
			require.Zero(t, s.Min())
			require.Zero(t, s.Max())
			require.Zero(t, s.Mean())
			require.Zero(t, s.P99())
			require.Zero(t, s.Overflow())
			b, err := json.Marshal(s)
			require.NoError(t, err)
			if s != nil {
				require.JSONEq(t, `{"count":0,"min":0,"max":0,"mean":0,"p50":0,"p95":0,"p99":0,"p999":0,"overflow":0}`, string(b))
			}
		})
	}
}

func TestSnapshotMergeAddsDistributions(t *testing.T) {
	low := recordRange(t, 1, 1000, 3, 1, 500)
	high := recordRange(t, 1, 1000, 3, 501, 1200) // 200 overflow

	m := low.Merge(high)
	require.Equal(t, int64(1200), m.Count())
	require.Equal(t, int64(200), m.Overflow())
	require.Equal(t, int64(1), m.Min())
	require.Equal(t, int64(1000), m.Max())
	require.Equal(t, int64(600), m.P50())

	require.Equal(t, int64(500), low.Count(), "the operands do not change")
	require.Equal(t, int64(700), high.Count())
	require.Equal(t, int64(1200), high.Merge(low).Count())
}

func TestSnapshotMergeWithEmptyReturnsTheOther(t *testing.T) {
	s := recordRange(t, 1, 1000, 3, 1, 10)
	require.Same(t, s, s.Merge(nil))
	require.Same(t, s, s.Merge(&hist.Snapshot{}))
	require.Same(t, s, (*hist.Snapshot)(nil).Merge(s))
	require.Same(t, s, (&hist.Snapshot{}).Merge(s))
	require.Zero(t, (*hist.Snapshot)(nil).Merge(nil).Count())
}

func TestSnapshotMergeOfDifferentGeometriesCoversBoth(t *testing.T) {
	coarse := recordRange(t, 1, 1000, 1, 1, 100)
	wide := recordRange(t, 1, 1_000_000, 3, 999_000, 999_099)

	for _, m := range []*hist.Snapshot{coarse.Merge(wide), wide.Merge(coarse)} {
		require.Equal(t, int64(200), m.Count(), "nothing dropped")
		require.Equal(t, int64(1), m.Min())
		require.InEpsilon(t, 999_099, float64(m.Max()), 1e-3)
		require.InEpsilon(t, 999_000, float64(m.Percentile(51)), 1e-3)
	}
}

func TestSnapshotMarshalJSONExportsSummary(t *testing.T) {
	r := hist.NewLatencyRecorder()
	for v := int64(1); v <= 1000; v++ {
		r.Record(v)
	}
	r.Record(-1)
	b, err := json.Marshal(r.Snapshot())
	require.NoError(t, err)

	var got map[string]float64
	require.NoError(t, json.Unmarshal(b, &got))
	require.InDelta(t, 500.0, got["mean"], 1e-6) // 500500/1001
	delete(got, "mean")
	require.Equal(t, map[string]float64{
		"count": 1001, "min": 0, "max": 1000,
		"p50": 500, "p95": 950, "p99": 990, "p999": 999,
		"overflow": 0,
	}, got)
}

// Sub gives the values recorded between two cumulative snapshots, so two
// readers keep separate intervals without draining the recorder.
func TestSnapshotSubIsTheInterval(t *testing.T) {
	r := hist.NewLatencyRecorder()
	for v := int64(1); v <= 100; v++ {
		r.Record(v * 1000)
	}
	first := r.Cumulative()
	for v := int64(1); v <= 10; v++ {
		r.Record(v * 1_000_000)
	}
	second := r.Cumulative()
	d := second.Sub(first)
	require.Equal(t, int64(10), d.Count())
	require.InDelta(t, 1_000_000, d.Min(), 1_000)
	require.InDelta(t, 10_000_000, d.Max(), 10_000)
	require.Equal(t, int64(110), second.Count(), "Sub changes neither snapshot")
	require.Equal(t, int64(100), first.Count())
	require.Equal(t, second, second.Sub(nil))
	require.Zero(t, (*hist.Snapshot)(nil).Sub(first).Count())
}

// CountAtOrBelow is the cumulative count behind a classic histogram's
// buckets: exact where the histogram is, and counting the values
// equivalent to v (its bucket) as v where it is not.
func TestSnapshotCountAtOrBelow(t *testing.T) {
	record := func(lowest, highest int64, values ...int64) *hist.Snapshot {
		r, err := hist.NewRecorder(lowest, highest, 3)
		require.NoError(t, err)
		for _, v := range values {
			r.Record(v)
		}
		return r.Snapshot()
	}
	repeat := func(v int64, n int) []int64 {
		vs := make([]int64, n)
		for i := range vs {
			vs[i] = v
		}
		return vs
	}
	oneToThousand := recordRange(t, 1, 60e9, 3, 1, 1000) // the latency range
	tests := []struct {
		name string
		s    *hist.Snapshot
		v    int64
		want int64
	}{
		{"nil", nil, 100, 0},
		{"zero value", &hist.Snapshot{}, 100, 0},
		{"empty", hist.NewLatencyRecorder().Snapshot(), 0, 0},
		{"negative v", oneToThousand, -1, 0},
		{"below every value", oneToThousand, 0, 0},
		{"the smallest", oneToThousand, 1, 1},
		{"the median", oneToThousand, 500, 500},
		{"one below the largest", oneToThousand, 999, 999},
		{"the largest", oneToThousand, 1000, 1000},
		{"above every value", oneToThousand, 1 << 40, 1000},
		{"repeated values", record(1, 1000, append(repeat(7, 100), 9)...), 8, 100},
		{"repeated, all", record(1, 1000, append(repeat(7, 100), 9)...), 9, 101},
		// At 10000 a bucket holds 8 values: [9992, 9999], [10000, 10007].
		{"bucket below", record(1, 1e6, 10_000, 10_005), 9_999, 0},
		{"same bucket counts as v", record(1, 1e6, 10_000, 10_005), 10_000, 2},
		{"zero recorded", record(1, 1000, 0, 0, 5), 0, 2},
		{"overflow below highest", record(1, 1000, 10, 5000), 999, 1},
		{"overflow as highest", record(1, 1000, 10, 5000), 1000, 2},
		{"many values", record(1, 1e6, append(repeat(100, 1<<20), repeat(200, 3)...)...), 150, 1 << 20},
		{"many values, all", record(1, 1e6, append(repeat(100, 1<<20), repeat(200, 3)...)...), 200, 1<<20 + 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.s.CountAtOrBelow(tt.v))
		})
	}
}

// Against the exact count of a spread of latencies: never fewer than the
// values at or below v, never more than those within v's bucket (a 1/1024
// of v at 3 significant figures), monotonic in v, and no allocation.
func TestSnapshotCountAtOrBelowMatchesExactCounts(t *testing.T) {
	r := hist.NewLatencyRecorder()
	var values []int64
	for i := range 5000 {
		v := int64(i*i*37)%5_000_000 + 1 // 1ns to 5ms, with repeats
		values = append(values, v)
		r.Record(v)
	}
	s := r.Snapshot()
	exact := func(limit int64) (n int64) {
		for _, v := range values {
			if v <= limit {
				n++
			}
		}
		return n
	}
	prev := int64(0)
	for v := int64(1); v < 1e9; v = v*3/2 + 1 {
		got := s.CountAtOrBelow(v)
		require.GreaterOrEqual(t, got, exact(v), "v=%d", v)
		require.LessOrEqual(t, got, exact(v+v/1024), "v=%d", v)
		require.GreaterOrEqual(t, got, prev, "v=%d", v)
		prev = got
	}
	require.Equal(t, int64(len(values)), prev)
	require.Zero(t, testing.AllocsPerRun(10, func() { s.CountAtOrBelow(12345) }))
}
