package ring

import (
	"context"
	"fmt"
	"math/bits"
	"runtime"
	"time"
	"unsafe"
)

// Policy says what an enqueue does when its shard is full. Entries stored
// under Block are protected: no producer ever evicts them, so errors
// logged under Block wait for room while chatter logged under the drop
// policies is shed.
type Policy uint8

// The policies.
const (
	// DropOldest evicts the oldest unconsumed entry of the shard to make
	// room (the original design's behaviour). The consumer learns exactly
	// how many entries it lost from Drain. When the oldest entry is
	// protected, or a Block producer is parked on the shard (the room
	// that frees up is theirs), or the slot is still being released by
	// the consumer, the new entry is refused instead: a DropOldest
	// producer never waits.
	DropOldest Policy = iota
	// DropNewest refuses the new entry when the shard is full (or its
	// room is reserved for a parked Block producer). It never waits.
	DropNewest
	// Block sheds the oldest entry when it is not protected (as
	// DropOldest does), and otherwise waits for space until the context
	// is done, the BlockTimeout passes or the queue closes, parking the
	// goroutine rather than spinning.
	Block
)

// String names the policy as ParsePolicy reads it.
func (p Policy) String() string {
	switch p {
	case DropOldest:
		return "drop-oldest"
	case DropNewest:
		return "drop-newest"
	case Block:
		return "block"
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// ParsePolicy reads a policy written by String.
func ParsePolicy(s string) (Policy, error) {
	for _, p := range []Policy{DropOldest, DropNewest, Block} {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("ring: unknown policy %q (want drop-oldest, drop-newest or block)", s)
}

// Status is the outcome of one enqueue.
type Status uint8

const (
	// Accepted: the entry is in the queue. Result.Evicted says how many
	// older entries were evicted to make room for it (DropOldest only).
	Accepted Status = iota
	// Refused: the shard was full for a drop policy (see Policy).
	Refused
	// Canceled: the policy is Block and the context was done first.
	Canceled
	// Closed: the queue was closed; the entry was not stored.
	Closed
)

// String names the outcome.
func (s Status) String() string {
	switch s {
	case Accepted:
		return "accepted"
	case Refused:
		return "refused"
	case Canceled:
		return "canceled"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Result is the outcome of one enqueue, exact enough for the caller to
// account for every entry: one Result per attempt, and Evicted counts the
// entries this attempt displaced.
type Result struct {
	Shard   int    // the shard the entry went to (or would have)
	Evicted uint32 // entries evicted to make room (Accepted + DropOldest)
	Status  Status
}

// Stats are the counters of one shard. Positions are 64-bit sequence
// numbers that start at an arbitrary value and wrap around; use
// differences, not absolute values.
type Stats struct {
	Produced uint64 // position after the last claimed slot
	Consumed uint64 // position after the last slot drained or evicted
	Evicted  uint64 // entries evicted by DropOldest
	Refused  uint64 // drop-policy enqueues that found the shard full for them
	Canceled uint64 // Block enqueues whose context or deadline ended first
	Drains   uint64 // Drain calls that took at least one entry
	Retries  uint64 // claiming CASes the consumer lost to an evictor (Ring only)
	Waiters  int    // Block producers parked now
}

// Queue is what both variants offer; the engine can run on either.
//
// Roles: any number of producers call Enqueue concurrently. Each shard has
// exactly one consumer, which alone calls Drain for that shard; Drain of
// different shards may run concurrently. Depth, Stats, Produced, Consumed
// and Notify may be called by anyone at any time.
//
// The engine calls the concrete types, not this interface, on its hot
// path: a call through an interface makes the fill callback escape to the
// heap, which costs an allocation per call.
type Queue[T any] interface {
	// Enqueue claims a slot on the caller's shard and calls fill with a
	// pointer to it; fill writes the entry in place and must not keep the
	// pointer. fill runs only when the outcome is Accepted. The slot holds
	// the zero value after a Drain, but may hold an evicted entry's bytes
	// after a DropOldest eviction (clearing a slot that is overwritten at
	// once would be wasted work), so fill sets every field it relies on.
	// ctx matters only for Block.
	Enqueue(ctx context.Context, p Policy, fill func(*T)) Result
	// Drain moves up to len(dst) entries of shard, oldest first, into
	// dst, and returns how many it moved and how many entries were evicted
	// from this shard since the previous Drain (the entries the consumer
	// will never see). Slots are cleared so they keep nothing alive.
	Drain(shard int, dst []T) (n int, lost uint64)
	// Depth is the number of entries waiting in shard (a snapshot).
	Depth(shard int) int
	// Produced and Consumed are the shard's claim and release positions:
	// every entry claimed before a load of Produced has been drained or
	// evicted once Consumed has reached that value, and the OnEvict hook
	// of every evicted one has returned (a hook that keeps the entry, as
	// the engine's spill does, has kept it). The engine's watermarks are
	// built on this. Consumed is exact for the shard's consumer; for
	// anyone else it may trail.
	Produced(shard int) uint64
	Consumed(shard int) uint64
	// Notify returns a channel that receives a value when a producer
	// finds shard full, so a consumer that sleeps between drains can wake
	// early instead of letting entries be dropped, and when a producer
	// publishes into a parked shard (see Park).
	Notify(shard int) <-chan struct{}
	// Park tells the queue that shard's consumer is about to sleep on
	// Notify with no timer. It returns false, and does not park, when
	// entries are already waiting: the consumer must drain instead. While
	// the shard is parked, the first producer to publish into it signals
	// Notify and unparks it, so the consumer sleeps for as long as the
	// shard stays empty, at no cost to anyone. Only the shard's consumer
	// calls Park and Unpark; Unpark after waking for another reason.
	Park(shard int) bool
	Unpark(shard int)
	// Stats returns the counters of shard.
	Stats(shard int) Stats
	// Shards is the number of shards; Capacity the slots per shard.
	Shards() int
	Capacity() int
	// Closed reports whether Close has been called. A consumer that sees
	// true and then loads Produced has every accepted entry below it.
	Closed() bool
	// Close refuses all later enqueues with Closed and wakes blocked
	// producers. Entries already accepted stay to be drained. Every
	// enqueue that returned Accepted is in the queue: after Close, a
	// consumer that drains until Consumed reaches Produced has seen them
	// all.
	Close()
}

// ShardChoice says how a producer picks its shard.
type ShardChoice uint8

const (
	// PerProcessor keeps a goroutine on the shard of the processor (P) it
	// runs on, through a sync.Pool of shard tokens: pools are per-P, so
	// a P gets back the token it put. The default.
	PerProcessor ShardChoice = iota
	// Random picks a shard at random for every enqueue; the baseline the
	// default is measured against (docs/bench/ring.md).
	Random
)

// Config configures a queue. The zero value is valid: GOMAXPROCS shards
// (rounded up to a power of two), 1024 slots each, shard per processor.
type Config[T any] struct {
	// Shards is the number of shards, a power of two; 0 means GOMAXPROCS
	// rounded up to a power of two.
	Shards int
	// Capacity is the number of slots per shard, a power of two >= 2; 0
	// means DefaultCapacity.
	Capacity int
	// ShardChoice picks the shard-selection strategy.
	ShardChoice ShardChoice
	// OnEvict, if set, is called by a producer that evicts an entry (under
	// DropOldest, or Block shedding an unprotected entry), with the entry
	// still in its slot (owned by that producer for the duration of the
	// call), before the slot is released. The engine uses it to keep the
	// entry in memory instead (its spill), or to account for it as
	// dropped. It must be quick and must not enqueue. Consumed does not
	// pass the entry's position until the hook has returned.
	OnEvict func(shard int, v *T)
	// BlockTimeout bounds how long a Block enqueue waits for space, on top
	// of its context; 0 means the context alone decides. The timer is made
	// only when a producer actually parks.
	BlockTimeout time.Duration

	// startSeq sets the initial position of every shard (tests of
	// wrap-around start near 2^64).
	startSeq uint64
}

// DefaultCapacity is the number of slots per shard when Config.Capacity is 0.
const DefaultCapacity = 1024

// maxCapacity bounds a shard so slot arithmetic cannot overflow.
const maxCapacity = 1 << 24

// MaxSlotBytes bounds what New and NewMutex allocate up front, Shards ×
// Capacity slots: 1 GiB. Past it a configuration is refused rather than
// allocated, since on most machines it would end the process (the Go
// runtime's out-of-memory error cannot be recovered) or starve it.
const MaxSlotBytes = 1 << 30

// MaxDefaultShards caps DefaultShards: 64. A shard costs a consumer and
// its slots whether or not producers use it, and past this many its
// producers share it with at most GOMAXPROCS/64 others, for a contended
// claim only when that many log at once (docs/DESIGN.md, "Shards").
const MaxDefaultShards = 64

// SlotBytes is the memory one slot of a Ring[T] takes, the larger of the
// two queues' (the mutex twin's slot is T and a flag).
func SlotBytes[T any]() uint64 {
	var s slot[T]
	return uint64(unsafe.Sizeof(s))
}

// resolve validates c and fills its defaults. Errors name the field.
func (c Config[T]) resolve() (Config[T], error) {
	if c.Shards < 0 || (c.Shards > 0 && !isPow2(c.Shards)) {
		return c, fmt.Errorf("ring: Shards must be a power of two > 0 (or 0 for the default), got %d", c.Shards)
	}
	if c.Shards > 1<<16 {
		return c, fmt.Errorf("ring: Shards must be at most %d, got %d", 1<<16, c.Shards)
	}
	if c.Capacity < 0 || c.Capacity == 1 || (c.Capacity > 0 && !isPow2(c.Capacity)) {
		return c, fmt.Errorf("ring: Capacity must be a power of two >= 2 (or 0 for the default), got %d", c.Capacity)
	}
	if c.Capacity > maxCapacity {
		return c, fmt.Errorf("ring: Capacity must be at most %d, got %d", maxCapacity, c.Capacity)
	}
	if c.BlockTimeout < 0 {
		return c, fmt.Errorf("ring: BlockTimeout must be >= 0, got %v", c.BlockTimeout)
	}
	if c.ShardChoice > Random {
		return c, fmt.Errorf("ring: unknown ShardChoice %d", c.ShardChoice)
	}
	if c.Shards == 0 {
		c.Shards = DefaultShards()
	}
	if c.Capacity == 0 {
		c.Capacity = DefaultCapacity
	}
	// Shards ≤ 2^16 and Capacity ≤ 2^24: the product cannot overflow.
	if slots := uint64(c.Shards) * uint64(c.Capacity); slots > MaxSlotBytes/SlotBytes[T]() {
		return c, fmt.Errorf("ring: Shards × Capacity: %d shards of %d slots would allocate %d MiB up front, more than %d MiB",
			c.Shards, c.Capacity, slots*SlotBytes[T]()>>20, MaxSlotBytes>>20)
	}
	return c, nil
}

// DefaultShards is GOMAXPROCS rounded up to a power of two, at most
// MaxDefaultShards.
func DefaultShards() int { return min(ceilPow2(runtime.GOMAXPROCS(0)), MaxDefaultShards) }

func isPow2(n int) bool { return n > 0 && n&(n-1) == 0 }

func ceilPow2(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}
