package engine

import (
	"sync/atomic"
)

// shardCounters are the engine-side counters of one shard, by level class.
// accepted is written by producers inside the ring's fill callback, before
// the event is published, so every later count of the same event (written,
// dropped, failed) happens after it: a snapshot that reads outcomes first
// and accepted last never sees more outcomes than acceptances.
//
// Producers on one shard are mostly on one processor, so these lines stay
// in that processor's cache; the padding keeps shards apart.
type shardCounters struct {
	_        [128]byte
	accepted []atomic.Uint64             // by class; producers
	dropped  [numReasons][]atomic.Uint64 // by reason and class; producers (refused, closed, evicted) and the flusher (filtered)
	// truncated counts events cut to WithMaxEventBytes (and delivered).
	truncated []atomic.Uint64
	_         [128]byte
}

func newShardCounters(classes int) *shardCounters {
	c := &shardCounters{accepted: make([]atomic.Uint64, classes), truncated: make([]atomic.Uint64, classes)}
	for r := range c.dropped {
		c.dropped[r] = make([]atomic.Uint64, classes)
	}
	return c
}

// sinkCounters are one sink's outcome counters. written and failed are
// added by the sink's writer; dropped by the writer (shutdown) and by
// flushers (lane full).
type sinkCounters struct {
	written  atomic.Uint64
	failed   atomic.Uint64
	dropped  [numReasons]atomic.Uint64
	writes   atomic.Uint64 // Write calls
	errors   atomic.Uint64 // Write/Flush/Close errors and panics
	bytes    atomic.Uint64 // encoded bytes handed to Write
	markers  atomic.Uint64 // loss markers written (lossmarker.go)
	timeouts atomic.Uint64 // Write calls that ran past the write timeout

	// The fallback (resilience.go): Diverted is the sum of its two
	// outcomes, counted per fallback call, so Diverted = FallbackWritten
	// + FallbackFailed holds in every reading, even in the middle of a
	// divert that takes several calls; Pending holds what is in flight.
	retries         atomic.Uint64 // attempts after the first (RetryPolicy)
	fallbackWritten atomic.Uint64
	fallbackFailed  atomic.Uint64
}
