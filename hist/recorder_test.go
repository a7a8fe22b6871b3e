package hist_test

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/hist"
)

func TestNewRecorderRefusesInvalidArguments(t *testing.T) {
	tests := []struct {
		name    string
		lowest  int64
		highest int64
		sigfigs int
		err     string // "" when valid
	}{
		{"smallest valid", 1, 2, 1, ""},
		{"latency range", 1, int64(time.Hour), 3, ""},
		{"coarse lowest", 1000, 1e9, 4, ""},
		{"lowest zero", 0, 100, 3, "hist: lowest (0) must be >= 1"},
		{"lowest negative", -1, 100, 3, "hist: lowest (-1) must be >= 1"},
		{"highest below 2*lowest", 3, 5, 3, "hist: highest (5) must be >= 2*lowest (3)"},
		{"highest equal to lowest", 7, 7, 3, "hist: highest (7) must be >= 2*lowest (7)"},
		{"highest negative", 1, -10, 3, "hist: highest (-10) must be >= 2*lowest (1)"},
		{"2*lowest overflows", math.MaxInt64/2 + 1, math.MaxInt64, 1, fmt.Sprintf("hist: highest (%d) must be >= 2*lowest (%d)", int64(math.MaxInt64), int64(math.MaxInt64/2+1))},
		{"sigfigs zero", 1, 100, 0, "hist: sigfigs (0) must be between 1 and 5"},
		{"sigfigs six", 1, 100, 6, "hist: sigfigs (6) must be between 1 and 5"},
		{"lowest too large for sigfigs", 1 << 50, math.MaxInt64, 5, fmt.Sprintf("hist: lowest (%d) is too large for sigfigs (5)", int64(1<<50))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := hist.NewRecorder(tt.lowest, tt.highest, tt.sigfigs)
			if tt.err != "" {
				require.EqualError(t, err, tt.err)
				require.Nil(t, r)
				return
			}
			require.NoError(t, err)
			r.Record(tt.lowest)
			require.Equal(t, int64(1), r.Snapshot().Count())
		})
	}
}

func TestRecorderPercentilesOfUniformDistribution(t *testing.T) {
	r := hist.NewLatencyRecorder()
	for v := int64(1); v <= 1000; v++ {
		r.Record(v)
	}
	s := r.Snapshot()
	// Below 2048 a 3-figure histogram has unit resolution: exact answers.
	require.Equal(t, int64(1000), s.Count())
	require.Equal(t, int64(1), s.Min())
	require.Equal(t, int64(1000), s.Max())
	require.InDelta(t, 500.5, s.Mean(), 1e-9)
	require.Equal(t, int64(500), s.P50())
	require.Equal(t, int64(950), s.P95())
	require.Equal(t, int64(990), s.P99())
	require.Equal(t, int64(999), s.P999())
	require.Equal(t, int64(1), s.Percentile(0))
	require.Equal(t, int64(1000), s.Percentile(100))
	require.Equal(t, int64(1000), s.Percentile(250), "above 100 is taken as 100")
	require.Equal(t, int64(0), s.Overflow())
}

func TestRecorderPercentilesWithinPrecisionAtMicroseconds(t *testing.T) {
	r := hist.NewLatencyRecorder()
	for v := int64(1); v <= 1000; v++ {
		r.Record(v * int64(time.Microsecond))
	}
	s := r.Snapshot()
	const eps = 1e-3 // 3 significant figures
	require.InEpsilon(t, 500e3, float64(s.P50()), eps)
	require.InEpsilon(t, 950e3, float64(s.P95()), eps)
	require.InEpsilon(t, 990e3, float64(s.P99()), eps)
	require.InEpsilon(t, 999e3, float64(s.P999()), eps)
	require.InEpsilon(t, 1e3, float64(s.Min()), eps)
	require.InEpsilon(t, 1e6, float64(s.Max()), eps)
	require.InEpsilon(t, 500.5e3, s.Mean(), eps)
}

func TestRecorderClampsAboveHighestAndCountsOverflow(t *testing.T) {
	r, err := hist.NewRecorder(1, 1000, 3)
	require.NoError(t, err)
	r.Record(1000) // the highest value itself is not an overflow
	r.Record(1001)
	r.Record(5000)
	r.Record(math.MaxInt64)
	r.Record(10)

	s := r.Snapshot()
	require.Equal(t, int64(5), s.Count(), "overflowed values are kept")
	require.Equal(t, int64(3), s.Overflow())
	require.Equal(t, int64(1000), s.Max(), "overflowed values are recorded as highest")
	require.Equal(t, int64(10), s.Min())
	require.Equal(t, int64(1000), s.P50())
}

func TestLatencyRecorderClampsAtOneMinute(t *testing.T) {
	r := hist.NewLatencyRecorder()
	r.Record(int64(time.Hour))
	s := r.Snapshot()
	require.Equal(t, int64(1), s.Overflow())
	require.InEpsilon(t, float64(time.Minute), float64(s.Max()), 1e-3)
}

func TestRecorderRecordsNegativeAsZero(t *testing.T) {
	r := hist.NewLatencyRecorder()
	r.Record(-5)
	r.Record(math.MinInt64)
	s := r.Snapshot()
	require.Equal(t, int64(2), s.Count())
	require.Equal(t, int64(0), s.Min())
	require.Equal(t, int64(0), s.Max())
	require.Equal(t, int64(0), s.Overflow(), "negative values are not overflows")
}

func TestRecorderSnapshotReturnsOnlyTheInterval(t *testing.T) {
	r := hist.NewLatencyRecorder()
	for v := int64(1); v <= 100; v++ {
		r.Record(v)
	}
	r.Record(int64(2 * time.Minute))
	first := r.Snapshot()
	require.Equal(t, int64(101), first.Count())
	require.Equal(t, int64(1), first.Overflow())
	require.Equal(t, int64(1), first.Min())

	for v := int64(1001); v <= 1100; v++ {
		r.Record(v)
	}
	second := r.Snapshot()
	require.Equal(t, int64(100), second.Count(), "the first interval's values are gone")
	require.Equal(t, int64(0), second.Overflow())
	require.Equal(t, int64(1001), second.Min())
	require.Equal(t, int64(1100), second.Max())

	require.Equal(t, int64(101), first.Count(), "an earlier snapshot does not change")

	third := r.Snapshot()
	require.Equal(t, int64(0), third.Count())

	total := r.Cumulative()
	require.Equal(t, int64(201), total.Count())
	require.Equal(t, int64(1), total.Overflow())
	require.Equal(t, int64(1), total.Min())
	require.InEpsilon(t, float64(time.Minute), float64(total.Max()), 1e-3)
}

func TestRecorderCumulativeDoesNotTakeFromNextInterval(t *testing.T) {
	r := hist.NewLatencyRecorder()
	require.Equal(t, int64(0), r.Cumulative().Count())

	r.Record(10)
	r.Snapshot()
	r.Record(20)
	r.Record(int64(time.Hour))

	total := r.Cumulative()
	require.Equal(t, int64(3), total.Count(), "cumulative includes values not yet in any interval")
	require.Equal(t, int64(1), total.Overflow())

	r.Record(30)
	interval := r.Snapshot()
	require.Equal(t, int64(3), interval.Count(), "values seen by Cumulative still reach the next interval")
	require.Equal(t, int64(1), interval.Overflow())
	require.Equal(t, int64(20), interval.Min())

	require.Equal(t, int64(4), r.Cumulative().Count())
	require.Equal(t, int64(3), total.Count(), "an earlier cumulative snapshot does not change")
}

func TestRecordDoesNotAllocate(t *testing.T) {
	r := hist.NewLatencyRecorder()
	v := int64(0)
	allocs := testing.AllocsPerRun(1000, func() {
		v += 997
		r.Record(v)
	})
	require.Zero(t, allocs)

	// The clamping paths too, and after a snapshot has swapped the phases.
	r.Snapshot()
	allocs = testing.AllocsPerRun(1000, func() {
		r.Record(math.MaxInt64)
		r.Record(-1)
	})
	require.Zero(t, allocs)
}

func TestRecorderIsOneCacheLine(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("layout checked on 64-bit platforms")
	}
	// Heap objects of 64 bytes sit on 64-byte boundaries, so the writer's
	// fields of neighbouring Recorders never share a line.
	require.Equal(t, uintptr(64), unsafe.Sizeof(*new(hist.Recorder)))
}

// TestRecorderHammerIntervalsSumToRecorded runs one writer against two
// readers. Every value must land in exactly one interval, and since the
// writer records non-decreasing values, the intervals one reader takes
// must not overlap.
func TestRecorderHammerIntervalsSumToRecorded(t *testing.T) {
	const (
		n        = 1_000_000
		perValue = 1000 // the writer records i/perValue: 0..999
		highest  = 900  // so the last 99 values overflow
		overflow = (n/perValue - 1 - highest) * perValue
	)
	for _, procs := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))

			// A small histogram keeps snapshots cheap, so there are many.
			r, err := hist.NewRecorder(1, highest, 3)
			require.NoError(t, err)

			stop := make(chan struct{})
			var wg sync.WaitGroup
			type tally struct{ count, overflow, nonEmpty int64 }
			tallies := make([]tally, 2)
			for g := range tallies {
				wg.Add(1)
				go func() {
					defer wg.Done()
					prevMax, prevTotal := int64(-1), int64(0)
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
							// Yield, or on one P a reader keeps the writer
							// off the processor for a whole time slice.
							runtime.Gosched()
						}
						if g == 1 && i%2 == 1 {
							// The second reader also takes cumulative
							// snapshots, which must not lose intervals.
							total := r.Cumulative().Count()
							if total < prevTotal || total > n {
								t.Errorf("cumulative count %d after %d", total, prevTotal)
								return
							}
							prevTotal = total
							continue
						}
						s := r.Snapshot()
						if s.Count() == 0 {
							continue
						}
						if s.Min() < prevMax {
							t.Errorf("interval [%d, %d] overlaps the previous one, which reached %d", s.Min(), s.Max(), prevMax)
							return
						}
						prevMax = s.Max()
						tallies[g].count += s.Count()
						tallies[g].overflow += s.Overflow()
						tallies[g].nonEmpty++
					}
				}()
			}

			for i := range n {
				r.Record(int64(i / perValue))
				if i%4096 == 0 {
					runtime.Gosched() // let the readers in, even on one P
				}
			}
			close(stop)
			wg.Wait()

			last := r.Snapshot()
			count := tallies[0].count + tallies[1].count + last.Count()
			over := tallies[0].overflow + tallies[1].overflow + last.Overflow()
			require.Equal(t, int64(n), count, "every value in exactly one interval")
			require.Equal(t, int64(overflow), over)
			require.Positive(t, tallies[0].nonEmpty+tallies[1].nonEmpty, "readers took intervals while the writer ran")

			total := r.Cumulative()
			require.Equal(t, int64(n), total.Count())
			require.Equal(t, int64(overflow), total.Overflow())
			require.Equal(t, int64(0), total.Min())
			require.Equal(t, int64(highest), total.Max())
			t.Logf("intervals with values: %d and %d", tallies[0].nonEmpty, tallies[1].nonEmpty)
		})
	}
}
