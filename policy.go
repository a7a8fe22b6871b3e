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

// ParsePolicy reads a policy as Policy.String writes it ("drop-oldest",
// "drop-newest", "block").
func ParsePolicy(s string) (Policy, error) { return ring.ParsePolicy(s) }

// ParseQueueKind reads "lockfree" or "mutex".
func ParseQueueKind(s string) (QueueKind, error) { return engine.ParseQueueKind(s) }

// DefaultCapacity is the number of slots per shard unless WithCapacity
// says otherwise.
const DefaultCapacity = engine.DefaultCapacity
