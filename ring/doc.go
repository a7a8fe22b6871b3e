// Package ring holds the queues between shardlog's callers and its
// flushers: a sharded multi-producer single-consumer ring built on atomics
// (Ring), and its mutex twin (Mutex), the queue of the original design, kept
// so the two can be compared with benchstat.
//
// Both are sharded: a queue has N shards, each a bounded FIFO of
// preallocated slots with its own single consumer. A producer writes to the
// shard of the processor it runs on (see picker.go), so producers on
// different processors never touch the same cache lines, and each shard is
// drained by one goroutine that owns it.
//
// Producers fill a slot in place through a callback, so a value is copied
// once, from the caller's arguments into the slot, and its timestamp can be
// taken after the slot is claimed (the engine's ordering argument needs
// that). Every enqueue returns its outcome; nothing is lost without being
// counted.
package ring
