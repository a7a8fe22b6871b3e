package ring_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/ring"
)

// variants lets every behavioural test run against both queues.
var variants = []struct {
	name string
	new  func(ring.Config[int]) (ring.Queue[int], error)
}{
	{"lockfree", func(c ring.Config[int]) (ring.Queue[int], error) { return ring.New(c) }},
	{"mutex", func(c ring.Config[int]) (ring.Queue[int], error) { return ring.NewMutex(c) }},
}

func forEachVariant(t *testing.T, f func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int])) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			f(t, func(c ring.Config[int]) ring.Queue[int] {
				q, err := v.new(c)
				require.NoError(t, err)
				return q
			})
		})
	}
}

func put(q ring.Queue[int], p ring.Policy, v int) ring.Result {
	return q.Enqueue(context.Background(), p, func(dst *int) { *dst = v })
}

func drainAll(q ring.Queue[int], shard int) (vals []int, lost uint64) {
	buf := make([]int, 3) // small on purpose: exercises batch boundaries
	for {
		n, l := q.Drain(shard, buf)
		lost += l
		if n == 0 {
			return vals, lost
		}
		vals = append(vals, buf[:n]...)
	}
}

func TestConfigValidationNamesTheField(t *testing.T) {
	cases := []struct {
		cfg  ring.Config[int]
		want string
	}{
		{ring.Config[int]{Shards: -1}, "Shards"},
		{ring.Config[int]{Shards: 3}, "Shards"},
		{ring.Config[int]{Capacity: 1}, "Capacity"},
		{ring.Config[int]{Capacity: 1000}, "Capacity"},
		{ring.Config[int]{Capacity: -8}, "Capacity"},
		{ring.Config[int]{Capacity: 1 << 30}, "Capacity"},
		{ring.Config[int]{ShardChoice: 9}, "ShardChoice"},
		// Each within its own bound, together past MaxSlotBytes: refused
		// before the allocation that would end the process.
		{ring.Config[int]{Shards: 1 << 16, Capacity: 1 << 24}, "Shards × Capacity: 65536 shards of 16777216 slots"},
	}
	for _, v := range variants {
		for _, c := range cases {
			_, err := v.new(c.cfg)
			require.ErrorContains(t, err, c.want, "%s %+v", v.name, c.cfg)
		}
	}
}

// A slot of a large T counts: 512 slots of 4 MiB values are 2 GiB.
// Mutation caught: a bound on the slot count alone.
func TestSlotBytesBoundCountsTheValue(t *testing.T) {
	type big [4 << 20]byte
	_, err := ring.New(ring.Config[big]{Shards: 2, Capacity: 256})
	require.ErrorContains(t, err, "would allocate 2048 MiB up front, more than 1024 MiB")
	_, err = ring.NewMutex(ring.Config[big]{Shards: 2, Capacity: 256})
	require.ErrorContains(t, err, "would allocate 2048 MiB up front")
	q, err := ring.New(ring.Config[big]{Shards: 1, Capacity: 2})
	require.NoError(t, err, "8 MiB is within the bound")
	require.Equal(t, 2, q.Capacity())
}

// The default follows GOMAXPROCS, rounded up to a power of two, up to
// MaxDefaultShards. Mutation caught: the default without its cap.
func TestDefaultShardsFollowGOMAXPROCSUpToTheCap(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(before)
	for procs, want := range map[int]int{1: 1, 3: 4, 64: 64, 65: 64, 1000: 64} {
		runtime.GOMAXPROCS(procs)
		require.Equal(t, want, ring.DefaultShards(), "GOMAXPROCS %d", procs)
	}
}

func TestDefaultsArePowersOfTwo(t *testing.T) {
	forEachVariant(t, func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int]) {
		q := newQ(ring.Config[int]{})
		require.Equal(t, ring.DefaultShards(), q.Shards())
		require.Equal(t, ring.DefaultCapacity, q.Capacity())
		require.Zero(t, q.Shards()&(q.Shards()-1))
	})
}

func TestEmptyDrainReturnsNothing(t *testing.T) {
	forEachVariant(t, func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int]) {
		q := newQ(ring.Config[int]{Shards: 1, Capacity: 4})
		n, lost := q.Drain(0, make([]int, 8))
		require.Zero(t, n)
		require.Zero(t, lost)
		require.Zero(t, q.Depth(0))
	})
}

func TestFIFOAndDepth(t *testing.T) {
	forEachVariant(t, func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int]) {
		q := newQ(ring.Config[int]{Shards: 1, Capacity: 8})
		for i := range 8 {
			require.Equal(t, ring.Result{Status: ring.Accepted}, put(q, ring.DropNewest, i))
		}
		require.Equal(t, 8, q.Depth(0))
		got, lost := drainAll(q, 0)
		require.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7}, got)
		require.Zero(t, lost)
		require.Zero(t, q.Depth(0))
	})
}

func TestDropNewestRefusesWhenFull(t *testing.T) {
	forEachVariant(t, func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int]) {
		q := newQ(ring.Config[int]{Shards: 1, Capacity: 4})
		for i := range 4 {
			require.Equal(t, ring.Accepted, put(q, ring.DropNewest, i).Status)
		}
		for i := range 3 {
			r := put(q, ring.DropNewest, 100+i)
			require.Equal(t, ring.Refused, r.Status)
			require.Zero(t, r.Evicted)
		}
		require.Equal(t, uint64(3), q.Stats(0).Refused)
		got, lost := drainAll(q, 0)
		require.Equal(t, []int{0, 1, 2, 3}, got)
		require.Zero(t, lost)
	})
}

func TestDropOldestEvictsAndCountsExactly(t *testing.T) {
	forEachVariant(t, func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int]) {
		var hooked []int
		q := newQ(ring.Config[int]{Shards: 1, Capacity: 4, OnEvict: func(shard int, v *int) {
			require.Equal(t, 0, shard)
			hooked = append(hooked, *v)
		}})
		for i := range 4 {
			require.Equal(t, ring.Result{Status: ring.Accepted}, put(q, ring.DropOldest, i))
		}
		for i := 4; i < 10; i++ {
			require.Equal(t, ring.Result{Status: ring.Accepted, Evicted: 1}, put(q, ring.DropOldest, i))
		}
		require.Equal(t, []int{0, 1, 2, 3, 4, 5}, hooked, "the hook sees each evicted entry, oldest first")
		got, lost := drainAll(q, 0)
		require.Equal(t, []int{6, 7, 8, 9}, got)
		require.Equal(t, uint64(6), lost, "the consumer learns exactly what it lost")
		_, lost = q.Drain(0, make([]int, 4))
		require.Zero(t, lost, "a loss is reported once")
		require.Equal(t, uint64(6), q.Stats(0).Evicted)
	})
}

func TestBlockWaitsForSpace(t *testing.T) {
	forEachVariant(t, func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int]) {
		q := newQ(ring.Config[int]{Shards: 1, Capacity: 2})
		put(q, ring.Block, 1)
		put(q, ring.Block, 2)
		done := make(chan ring.Result)
		go func() { done <- put(q, ring.Block, 3) }()
		select {
		case r := <-done:
			t.Fatalf("Block returned %v while the shard was full", r)
		case <-time.After(20 * time.Millisecond):
		}
		buf := make([]int, 1)
		n, _ := q.Drain(0, buf)
		require.Equal(t, 1, n)
		select {
		case r := <-done:
			require.Equal(t, ring.Accepted, r.Status)
		case <-time.After(5 * time.Second):
			t.Fatal("Block producer was not woken by Drain")
		}
		got, _ := drainAll(q, 0)
		require.Equal(t, []int{2, 3}, got)
	})
}

func TestBlockHonoursContext(t *testing.T) {
	forEachVariant(t, func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int]) {
		q := newQ(ring.Config[int]{Shards: 1, Capacity: 2})
		put(q, ring.Block, 1)
		put(q, ring.Block, 2)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		called := false
		r := q.Enqueue(ctx, ring.Block, func(*int) { called = true })
		require.Equal(t, ring.Canceled, r.Status)
		require.False(t, called, "fill must not run for a canceled enqueue")
		require.Equal(t, uint64(1), q.Stats(0).Canceled)
	})
}

func TestCloseRefusesAndWakesBlockedProducers(t *testing.T) {
	forEachVariant(t, func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int]) {
		q := newQ(ring.Config[int]{Shards: 1, Capacity: 2})
		put(q, ring.Block, 1)
		put(q, ring.Block, 2)
		done := make(chan ring.Result)
		go func() { done <- put(q, ring.Block, 3) }()
		time.Sleep(5 * time.Millisecond)
		q.Close()
		q.Close() // idempotent
		select {
		case r := <-done:
			require.Equal(t, ring.Closed, r.Status)
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not wake the blocked producer")
		}
		require.Equal(t, ring.Closed, put(q, ring.DropOldest, 4).Status)
		got, _ := drainAll(q, 0)
		require.Equal(t, []int{1, 2}, got, "entries accepted before Close stay to be drained")
	})
}

func TestWrapAround(t *testing.T) {
	for _, start := range []uint64{^uint64(0) - 5, ^uint64(0) - 1024, ^uint64(0)} {
		for _, v := range variants {
			t.Run(fmt.Sprintf("%s/start=%d", v.name, start), func(t *testing.T) {
				q, err := v.new(ring.WithStart(ring.Config[int]{Shards: 1, Capacity: 4}, start))
				require.NoError(t, err)
				next, want := 0, 0
				// Many laps across 2^64, with the shard full at times.
				for round := 0; round < 600; round++ {
					for range round%5 + 1 {
						r := put(q, ring.DropOldest, next)
						require.Equal(t, ring.Accepted, r.Status)
						next++
					}
					got, lost := drainAll(q, 0)
					want += int(lost)
					for _, g := range got {
						require.Equal(t, want, g)
						want++
					}
				}
				require.Equal(t, next, want)
				st := q.Stats(0)
				require.Equal(t, uint64(next), st.Produced-start, "positions wrapped")
				require.Equal(t, st.Produced, st.Consumed)
			})
		}
	}
}

func TestDrainRespectsDestinationSize(t *testing.T) {
	forEachVariant(t, func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int]) {
		q := newQ(ring.Config[int]{Shards: 1, Capacity: 16})
		for i := range 10 {
			put(q, ring.DropNewest, i)
		}
		buf := make([]int, 4)
		var got []int
		for _, want := range []int{4, 4, 2, 0} {
			n, _ := q.Drain(0, buf)
			require.Equal(t, want, n)
			got = append(got, buf[:n]...)
		}
		require.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, got)
	})
}

func TestProducedAndConsumedTrackPositions(t *testing.T) {
	forEachVariant(t, func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int]) {
		q := newQ(ring.Config[int]{Shards: 1, Capacity: 4})
		p0 := q.Produced(0)
		for i := range 6 {
			put(q, ring.DropOldest, i)
		}
		require.Equal(t, p0+6, q.Produced(0))
		require.Equal(t, p0+2, q.Consumed(0), "evictions advance Consumed")
		drainAll(q, 0)
		require.Equal(t, q.Produced(0), q.Consumed(0))
	})
}

func TestNotifySignalsWhenFull(t *testing.T) {
	forEachVariant(t, func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int]) {
		q := newQ(ring.Config[int]{Shards: 1, Capacity: 2})
		put(q, ring.DropNewest, 1)
		put(q, ring.DropNewest, 2)
		select {
		case <-q.Notify(0):
			t.Fatal("notified before the shard was full")
		default:
		}
		put(q, ring.DropNewest, 3)
		select {
		case <-q.Notify(0):
		default:
			t.Fatal("a producer that found the shard full did not notify")
		}
	})
}

func TestFillNeverRunsOnRefusal(t *testing.T) {
	forEachVariant(t, func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int]) {
		q := newQ(ring.Config[int]{Shards: 1, Capacity: 2})
		put(q, ring.DropNewest, 1)
		put(q, ring.DropNewest, 2)
		r := q.Enqueue(context.Background(), ring.DropNewest, func(*int) { t.Fatal("fill ran for a refused entry") })
		require.Equal(t, ring.Refused, r.Status)
	})
}

func TestPolicyAndStatusNames(t *testing.T) {
	for _, p := range []ring.Policy{ring.DropOldest, ring.DropNewest, ring.Block} {
		got, err := ring.ParsePolicy(p.String())
		require.NoError(t, err)
		require.Equal(t, p, got)
	}
	_, err := ring.ParsePolicy("drop-everything")
	require.ErrorContains(t, err, "drop-everything")
	require.Equal(t, "canceled", ring.Canceled.String())
}

// The hot path must not allocate: the fill closure stays on the stack when
// the concrete type is called (see Queue's doc comment).
func TestEnqueueDoesNotAllocate(t *testing.T) {
	r, err := ring.New(ring.Config[[4]int]{Shards: 2, Capacity: 1024})
	require.NoError(t, err)
	m, err := ring.NewMutex(ring.Config[[4]int]{Shards: 2, Capacity: 1024})
	require.NoError(t, err)
	ctx := context.Background()
	a, b := 7, 9
	allocs := testing.AllocsPerRun(1000, func() {
		r.Enqueue(ctx, ring.DropOldest, func(v *[4]int) { v[0], v[1] = a, b })
		m.Enqueue(ctx, ring.DropOldest, func(v *[4]int) { v[0], v[1] = a, b })
	})
	require.Zero(t, allocs)
}

func TestBlockTimeoutBoundsTheWait(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			q, err := v.new(ring.Config[int]{Shards: 1, Capacity: 2, BlockTimeout: 5 * time.Millisecond})
			require.NoError(t, err)
			put(q, ring.Block, 1)
			put(q, ring.Block, 2)
			r := put(q, ring.Block, 3) // background context: only the timeout ends it
			require.Equal(t, ring.Canceled, r.Status)
			require.Equal(t, uint64(1), q.Stats(0).Canceled)
			_, err = v.new(ring.Config[int]{BlockTimeout: -1})
			require.ErrorContains(t, err, "BlockTimeout")
		})
	}
}

// Consumed does not pass an evicted entry until its OnEvict hook has
// returned: a hook that keeps the entry (the engine's spill) has kept it
// by then, which the engine's watermarks rely on. Mutation caught:
// Consumed returning head (the evictor's claim), which passes the entry
// while the hook is still copying it.
func TestConsumedWaitsForTheEvictHook(t *testing.T) {
	forEachVariant(t, func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int]) {
		entered, release := make(chan struct{}), make(chan struct{})
		var kept []int
		q := newQ(ring.Config[int]{Shards: 1, Capacity: 2, OnEvict: func(_ int, v *int) {
			close(entered)
			<-release
			kept = append(kept, *v)
		}})
		put(q, ring.DropOldest, 1)
		put(q, ring.DropOldest, 2)
		start := q.Consumed(0)
		done := make(chan struct{})
		go func() {
			defer close(done)
			put(q, ring.DropOldest, 3) // evicts 1
		}()
		<-entered
		if _, isMutex := q.(*ring.Mutex[int]); !isMutex {
			// (The mutex twin holds its lock through the hook: Consumed
			// waits for it instead of returning.)
			require.Equal(t, start, q.Consumed(0), "the hook has not returned")
		}
		close(release)
		<-done
		require.Equal(t, start+1, q.Consumed(0))
		require.Equal(t, []int{1}, kept)
		dst := make([]int, 4)
		n, _ := q.Drain(0, dst)
		require.Equal(t, []int{2, 3}, dst[:n])
		require.Equal(t, start+3, q.Consumed(0))
	})
}
