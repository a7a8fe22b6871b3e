//go:build shardlog_hooks

package engine

// TestHooks are called where the engine's races live, so tests can hold a
// party there. Set them only from tests built with the shardlog_hooks
// tag, before the engine is built, and clear them after.
var TestHooks struct {
	// ShutdownAfterClose runs in Shutdown between closing the queue and
	// announcing the closing state.
	ShutdownAfterClose func()
	// EpochStart runs on a flusher as it starts an epoch, with whether
	// the epoch is its final one (the queue was closed).
	EpochStart func(shard int, closing bool)
	// FlusherParked runs on a flusher that has marked itself parked and
	// swept its free list, just before it waits.
	FlusherParked func(shard int)
	// FlusherTakesBatch runs on a flusher about to take a batch to fill
	// (the free list's oldest, or a new one).
	FlusherTakesBatch func(shard int)
	// SpillFilled runs on a producer whose event the spill took
	// (spillNewest), after the fill read the clock and before the event
	// is counted in the spill; the spill's mutex is held.
	SpillFilled func(shard int)
}

func hookShutdownAfterClose() {
	if f := TestHooks.ShutdownAfterClose; f != nil {
		f()
	}
}

func hookEpochStart(shard int, closing bool) {
	if f := TestHooks.EpochStart; f != nil {
		f(shard, closing)
	}
}

func hookFlusherParked(shard int) {
	if f := TestHooks.FlusherParked; f != nil {
		f(shard)
	}
}

func hookFlusherTakesBatch(shard int) {
	if f := TestHooks.FlusherTakesBatch; f != nil {
		f(shard)
	}
}

func hookSpillFilled(shard int) {
	if f := TestHooks.SpillFilled; f != nil {
		f(shard)
	}
}
