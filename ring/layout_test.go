package ring

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// Words written by different parties sit at least one padded line apart,
// so no two share a cache line (or an adjacent-line prefetch pair).
func TestShardLayoutSeparatesWriters(t *testing.T) {
	var s shard[[100]byte]
	readOnlyEnd := unsafe.Offsetof(s.wake) + unsafe.Sizeof(s.wake)
	tail := unsafe.Offsetof(s.tail)
	head := unsafe.Offsetof(s.head)
	counters := unsafe.Offsetof(s.evicted)
	require.GreaterOrEqual(t, tail-readOnlyEnd, uintptr(cacheLine), "tail apart from read-only fields")
	require.GreaterOrEqual(t, head-(tail+8), uintptr(cacheLine), "head apart from tail")
	require.GreaterOrEqual(t, counters-(unsafe.Offsetof(s.seenEvicted)+8), uintptr(cacheLine), "overflow counters apart from head")
	end := unsafe.Offsetof(s.waiters) + unsafe.Sizeof(s.waiters)
	require.GreaterOrEqual(t, unsafe.Sizeof(s)-end, uintptr(cacheLine), "trailing pad keeps the next shard's fields away")
	// Generic instantiation must not change the layout of the hot words.
	var small shard[byte]
	require.Equal(t, tail, unsafe.Offsetof(small.tail))
}

func TestRingClosedFlagIsPadded(t *testing.T) {
	var r Ring[int]
	require.GreaterOrEqual(t, unsafe.Offsetof(r.closed)-(unsafe.Offsetof(r.cap)+8), uintptr(cacheLine))
	var m mutexShard[int]
	require.GreaterOrEqual(t, unsafe.Sizeof(m)-(unsafe.Offsetof(m.wake)+8), uintptr(cacheLine), "mutex shards are padded apart")
}
