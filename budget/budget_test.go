package budget

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewRefusesANonPositiveLimit(t *testing.T) {
	for _, n := range []int64{0, -1} {
		_, err := New(n)
		require.ErrorContains(t, err, "limit must be > 0")
	}
}

func TestChargeReleaseAndTheOverFlag(t *testing.T) {
	b, err := New(800)
	require.NoError(t, err)
	require.Equal(t, int64(700), b.TrimMark())

	b.Charge(600)
	require.False(t, b.Over())
	require.False(t, b.AboveTrimMark())
	require.True(t, b.TryCharge(200), "exactly at the limit fits")
	require.False(t, b.Over())
	require.True(t, b.AboveTrimMark())
	require.False(t, b.TryCharge(1), "one byte more does not")

	b.Charge(50) // work already taken on is counted anyway
	require.True(t, b.Over())
	b.Release(50)
	require.False(t, b.Over())
	b.Release(800)

	s := b.Snapshot()
	require.Equal(t, Snapshot{Limit: 800, Usage: 0, Peak: 850, Over: false, Crossings: 1, Refused: 1}, s)
	require.True(t, b.TryCharge(0))
	b.Charge(-5)
	b.Release(0)
	require.Zero(t, b.Usage())
}

// TestOverFlagSettlesUnderContention: after any mix of concurrent charges
// and releases, once usage stops changing the flag agrees with it.
func TestOverFlagSettlesUnderContention(t *testing.T) {
	b, err := New(1000)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for range 20000 {
				n := int64(r.IntN(400))
				if r.IntN(2) == 0 {
					b.Charge(n)
				} else if !b.TryCharge(n) {
					continue
				}
				b.Release(n)
			}
		}()
	}
	wg.Wait()
	require.Zero(t, b.Usage())
	require.False(t, b.Over())
}

func BenchmarkOver(b *testing.B) {
	bu, _ := New(1 << 30)
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			if bu.Over() {
				n++
			}
		}
		_ = n
	})
}

// BenchmarkChargeRelease is the cost of the batch-grained accounting when
// every processor charges and releases at once (the worst contention the
// engine can produce: it does this once per batch, not per event).
func BenchmarkChargeRelease(b *testing.B) {
	bu, _ := New(1 << 30)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bu.Charge(1000)
			bu.Release(1000)
		}
	})
}
