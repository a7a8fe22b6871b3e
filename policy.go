package shardlog

import (
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/ring"
)

// Policy says what a log call does when its shard is full; see
// ring.Policy. Events logged under Block are never evicted.
type Policy = ring.Policy

// The overflow policies.
const (
	// DropOldest evicts the oldest queued event (the default).
	DropOldest = ring.DropOldest
	// DropNewest drops the new event.
	DropNewest = ring.DropNewest
	// Block waits for room, up to the block timeout (WithBlockTimeout).
	Block = ring.Block
)

// QueueKind selects the queue between callers and flushers: LockFree (the
// default) or MutexQueue (the original design's, kept for comparison).
type QueueKind = engine.QueueKind

// The queue kinds.
const (
	LockFree   = engine.LockFree
	MutexQueue = engine.MutexQueue
)
