package ring

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A drain wakes a parked Block producer only when it freed a slot: a
// wake-up for nothing costs the producer a futile retry and a park.
// Mutation caught: signalling whenever waiters > 0 (the old code) leaves a
// token in space after an empty drain.
func TestDrainSignalsWaitersOnlyWhenItFreedRoom(t *testing.T) {
	q, err := New(Config[int]{Shards: 1, Capacity: 4})
	require.NoError(t, err)
	s := &q.shards[0]
	s.waiters.Store(1) // as if a Block producer were parked
	n, _ := q.Drain(0, make([]int, 4))
	require.Zero(t, n)
	require.Empty(t, s.space, "an empty drain woke the waiter")

	require.Equal(t, Accepted, q.Enqueue(t.Context(), Block, func(v *int) { *v = 1 }).Status)
	n, _ = q.Drain(0, make([]int, 4))
	require.Equal(t, 1, n)
	require.Len(t, s.space, 1, "a drain that freed room wakes the waiter")
	s.waiters.Store(0)
}
