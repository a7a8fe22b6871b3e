package ring_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/ring"
)

// An entry stored under Block is never evicted: a DropOldest producer that
// finds one at the head of a full shard drops its own entry instead.
// Mutation caught: removing the protected check in evict (or in the
// twin's EnqueueShard) makes the DropOldest call evict value 0.
func TestBlockEntriesAreNeverEvicted(t *testing.T) {
	forEachVariant(t, func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int]) {
		evicted := 0
		q := newQ(ring.Config[int]{Shards: 1, Capacity: 4, OnEvict: func(int, *int) { evicted++ }})
		for i := range 4 {
			require.Equal(t, ring.Accepted, put(q, ring.Block, i).Status)
		}
		r := put(q, ring.DropOldest, 100)
		require.Equal(t, ring.Refused, r.Status)
		require.Zero(t, r.Evicted)
		require.Zero(t, evicted)
		vals, lost := drainAll(q, 0)
		require.Equal(t, []int{0, 1, 2, 3}, vals)
		require.Zero(t, lost)
		require.Equal(t, uint64(1), q.Stats(0).Refused)
	})
}

// A Block producer that finds the shard full of unprotected entries sheds
// the oldest (counted like a DropOldest eviction) instead of waiting:
// errors wait only for other errors, never for chatter.
func TestBlockShedsUnprotectedOldest(t *testing.T) {
	forEachVariant(t, func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int]) {
		var evicted []int
		q := newQ(ring.Config[int]{Shards: 1, Capacity: 4, OnEvict: func(_ int, v *int) { evicted = append(evicted, *v) }})
		require.Equal(t, ring.Accepted, put(q, ring.Block, 0).Status)
		for i := 1; i < 4; i++ {
			require.Equal(t, ring.Accepted, put(q, ring.DropOldest, i).Status)
		}
		// The head (0) is protected, so a DropOldest call cannot make room.
		require.Equal(t, ring.Refused, put(q, ring.DropOldest, 50).Status)
		// Drain the protected head; now the head is chatter (1).
		n, _ := q.Drain(0, make([]int, 1))
		require.Equal(t, 1, n)
		require.Equal(t, ring.Accepted, put(q, ring.DropOldest, 4).Status) // free slot
		r := put(q, ring.Block, 5)
		require.Equal(t, ring.Accepted, r.Status)
		require.Equal(t, uint32(1), r.Evicted)
		require.Equal(t, []int{1}, evicted)
		vals, lost := drainAll(q, 0)
		require.Equal(t, []int{2, 3, 4, 5}, vals)
		require.Equal(t, uint64(1), lost)
	})
}

// While a Block producer is parked on a shard, the room that frees up is
// its: drop-policy producers neither evict protected entries nor take a
// freed slot. Mutations caught: removing the waiters check on the free-slot
// path lets the DropOldest call after the Drain take the freed slot
// (GOMAXPROCS 1 keeps the woken producer from running first); removing the
// protected check lets the first DropOldest call evict value 0.
func TestParkedBlockProducerGetsTheFreedRoom(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	forEachVariant(t, func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int]) {
		q := newQ(ring.Config[int]{Shards: 1, Capacity: 4})
		for i := range 4 {
			require.Equal(t, ring.Accepted, put(q, ring.Block, i).Status)
		}
		res := make(chan ring.Result, 1)
		go func() { res <- put(q, ring.Block, 10) }()
		require.Eventually(t, func() bool { return q.Stats(0).Waiters == 1 }, 5*time.Second, time.Millisecond)

		require.Equal(t, ring.Refused, put(q, ring.DropOldest, 20).Status, "a protected head is not evicted")
		n, _ := q.Drain(0, make([]int, 1))
		require.Equal(t, 1, n)
		require.Equal(t, ring.Refused, put(q, ring.DropOldest, 21).Status, "the freed slot is the parked producer's")
		require.Equal(t, ring.Refused, put(q, ring.DropNewest, 22).Status)

		select {
		case r := <-res:
			require.Equal(t, ring.Accepted, r.Status)
		case <-time.After(5 * time.Second):
			t.Fatal("the parked Block producer never got the freed slot")
		}
		vals, _ := drainAll(q, 0)
		require.Equal(t, []int{1, 2, 3, 10}, vals)
	})
}

// A Block call whose context is already done still succeeds when there is
// room: the context only bounds a wait.
func TestBlockWithDoneContextSucceedsWhenRoom(t *testing.T) {
	forEachVariant(t, func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int]) {
		q := newQ(ring.Config[int]{Shards: 1, Capacity: 2})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := q.Enqueue(ctx, ring.Block, func(v *int) { *v = 1 })
		require.Equal(t, ring.Accepted, r.Status)
	})
}
