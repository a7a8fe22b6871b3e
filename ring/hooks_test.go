//go:build shardlog_hooks

package ring_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/ring"
)

// These tests hold a party inside a race window through ring.TestHooks
// (build tag shardlog_hooks; `make test` sets it).

// A drop-policy producer never waits for the consumer: with the consumer
// held between its claim and its release of the slot the producer needs,
// DropOldest and DropNewest calls return Refused at once; a Block call
// waits and then succeeds. Mutation caught: making drop policies back off
// and retry in the "claimed but not released" case (the old code) leaves
// the calls spinning until the consumer is let go, and the test fails.
func TestDropPolicyNeverWaitsForTheConsumer(t *testing.T) {
	q, err := ring.New(ring.Config[int]{Shards: 1, Capacity: 4})
	require.NoError(t, err)
	for i := range 4 {
		require.Equal(t, ring.Accepted, put(q, ring.DropOldest, i).Status)
	}
	claimed, release := make(chan struct{}), make(chan struct{})
	ring.TestHooks.DrainClaimed = func() {
		close(claimed)
		<-release
	}
	defer func() { ring.TestHooks.DrainClaimed = nil }()
	drained := make(chan []int)
	go func() {
		buf := make([]int, 4)
		n, _ := q.Drain(0, buf)
		drained <- buf[:n]
	}()
	<-claimed
	ring.TestHooks.DrainClaimed = nil

	for _, p := range []ring.Policy{ring.DropOldest, ring.DropNewest} {
		res := make(chan ring.Result, 1)
		go func() { res <- put(q, p, 10) }()
		select {
		case r := <-res:
			require.Equal(t, ring.Refused, r.Status, "%v", p)
		case <-time.After(2 * time.Second):
			close(release)
			t.Fatalf("%v call waited for the consumer to release its slots", p)
		}
	}
	blocked := make(chan ring.Result, 1)
	go func() { blocked <- put(q, ring.Block, 20) }()
	select {
	case r := <-blocked:
		t.Fatalf("Block call returned %v while the slot was still being released", r.Status)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	require.Equal(t, []int{0, 1, 2, 3}, <-drained)
	require.Equal(t, ring.Accepted, (<-blocked).Status)
	vals, _ := drainAll(q, 0)
	require.Equal(t, []int{20}, vals)
	require.Equal(t, uint64(2), q.Stats(0).Refused)
}

// When evictors move head between the consumer's count and its claim, the
// consumer shrinks its run and claims the rest with the next CAS, without
// counting again. The hook evicts whenever the shard is full, as a stream
// of DropOldest producers does under overload; mutation caught: recounting
// after a failed CAS (the old code) meets a full shard again after every
// count, and evicts again and again (a livelock bounded here only by the
// hook's budget of 100).
func TestDrainShrinksItsClaimUnderEvictions(t *testing.T) {
	q, err := ring.New(ring.Config[int]{Shards: 1, Capacity: 8})
	require.NoError(t, err)
	for i := range 8 {
		require.Equal(t, ring.Accepted, put(q, ring.DropOldest, i).Status)
	}
	evictions := 0
	ring.TestHooks.DrainBeforeClaim = func() {
		if q.Depth(0) == 8 && evictions < 100 {
			evictions++
			r := put(q, ring.DropOldest, 100+evictions)
			require.Equal(t, ring.Accepted, r.Status)
			require.Equal(t, uint32(1), r.Evicted)
		}
	}
	defer func() { ring.TestHooks.DrainBeforeClaim = nil }()
	buf := make([]int, 8)
	n, lost := q.Drain(0, buf)
	ring.TestHooks.DrainBeforeClaim = nil
	require.Equal(t, 1, evictions, "one count, then a claim by shrinking")
	require.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 101}, buf[:n])
	require.Equal(t, uint64(1), lost)
	require.Equal(t, uint64(1), q.Stats(0).Retries)
}

// A Block producer waiting for a slot that the consumer has claimed but
// not yet released still ends its wait at the block timeout: a consumer
// descheduled inside its release does not hold the call past it.
// Mutation caught: spinning for the release without looking at the
// deadline (the call returned only once the consumer was let go).
func TestBlockWaitForAReleaseEndsAtTheTimeout(t *testing.T) {
	q, err := ring.New(ring.Config[int]{Shards: 1, Capacity: 4, BlockTimeout: 50 * time.Millisecond})
	require.NoError(t, err)
	for i := range 4 {
		require.Equal(t, ring.Accepted, put(q, ring.Block, i).Status)
	}
	claimed, release := make(chan struct{}), make(chan struct{})
	ring.TestHooks.DrainClaimed = func() {
		close(claimed)
		<-release
	}
	defer func() { ring.TestHooks.DrainClaimed = nil }()
	drained := make(chan int)
	go func() {
		buf := make([]int, 4)
		n, _ := q.Drain(0, buf)
		drained <- n
	}()
	<-claimed
	ring.TestHooks.DrainClaimed = nil

	res := make(chan ring.Result, 1)
	go func() { res <- put(q, ring.Block, 10) }()
	select {
	case r := <-res:
		require.Equal(t, ring.Canceled, r.Status)
	case <-time.After(2 * time.Second):
		close(release)
		<-res
		t.Fatal("the Block call outlived its timeout while the consumer held the slot")
	}
	close(release)
	require.Equal(t, 4, <-drained)
}
