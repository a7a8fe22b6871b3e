package hist_test

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/hist"
)

func TestNewShardedRefusesInvalidArguments(t *testing.T) {
	_, err := hist.NewSharded(0, 1, 1000, 3)
	require.EqualError(t, err, "hist: n (0) must be >= 1")
	_, err = hist.NewSharded(2, 3, 5, 3)
	require.EqualError(t, err, "hist: highest (5) must be >= 2*lowest (3)")
	_, err = hist.NewLatencySharded(-1)
	require.EqualError(t, err, "hist: n (-1) must be >= 1")

	s, err := hist.NewLatencySharded(3)
	require.NoError(t, err)
	require.Equal(t, 3, s.Len())
	require.Same(t, s.Recorder(2), s.Recorder(2))
	require.NotSame(t, s.Recorder(1), s.Recorder(2))
	require.PanicsWithValue(t, "hist: index 3 out of range [0, 3)", func() { s.Recorder(3) })
	require.PanicsWithValue(t, "hist: index -1 out of range [0, 3)", func() { s.Recorder(-1) })
}

func TestShardedSnapshotMergesEveryIndex(t *testing.T) {
	s, err := hist.NewSharded(3, 1, 1000, 3)
	require.NoError(t, err)
	s.Recorder(0).Record(1)
	s.Recorder(1).Record(2)
	s.Recorder(2).Record(3000)

	interval := s.Snapshot()
	require.Equal(t, int64(3), interval.Count())
	require.Equal(t, int64(1), interval.Overflow())
	require.Equal(t, int64(1), interval.Min())
	require.Equal(t, int64(1000), interval.Max())
	require.Zero(t, s.Snapshot().Count())

	s.Recorder(1).Record(7)
	require.Equal(t, int64(4), s.Cumulative().Count())
	// A Recorder of a Sharded reads the whole Sharded.
	require.Equal(t, int64(4), s.Recorder(0).Cumulative().Count())
	require.Equal(t, int64(1), s.Recorder(2).Snapshot().Count())
	require.Zero(t, s.Snapshot().Count())
}

func TestShardedRecordDoesNotAllocate(t *testing.T) {
	s, err := hist.NewLatencySharded(2)
	require.NoError(t, err)
	r := s.Recorder(1)
	require.Zero(t, testing.AllocsPerRun(1000, func() { r.Record(12345) }))
}

// TestShardedHammerMergedCountIsExact runs one writer per index and a reader
// taking snapshots throughout; every value must be counted once.
func TestShardedHammerMergedCountIsExact(t *testing.T) {
	const (
		writers   = 4
		perWriter = 100_000
		highest   = 10_000
	)
	for _, procs := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			s, err := hist.NewSharded(writers, 1, highest, 2)
			require.NoError(t, err)

			var running atomic.Int32
			running.Store(writers)
			var count, overflow int64
			readerDone := make(chan struct{})
			go func() {
				defer close(readerDone)
				for running.Load() > 0 {
					snap := s.Snapshot()
					count += snap.Count()
					overflow += snap.Overflow()
					runtime.Gosched()
				}
			}()

			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer running.Add(-1)
					r := s.Recorder(w)
					for i := range perWriter {
						r.Record(int64(i)) // values above highest overflow
						if i%4096 == 0 {
							runtime.Gosched()
						}
					}
				}()
			}
			wg.Wait()
			<-readerDone

			last := s.Snapshot()
			require.Equal(t, int64(writers*perWriter), count+last.Count())
			require.Equal(t, int64(writers*(perWriter-highest-1)), overflow+last.Overflow())
			require.Equal(t, int64(writers*perWriter), s.Cumulative().Count())
		})
	}
}
