package ring

import (
	"context"
	"sync"
	"sync/atomic"
)

// Ring is the sharded lock-free queue: N shards, each a bounded
// multi-producer single-consumer FIFO of preallocated slots built on
// atomics (see shard). The producer path takes no lock, uses no channel and
// allocates nothing; only a Block producer that finds its shard full parks
// on a channel.
//
// Roles and bounds are those of Queue. A Ring must not be copied after
// first use. Create it with New.
type Ring[T any] struct {
	shards []shard[T]
	pick   *picker
	cap    int

	_         pad
	closed    atomic.Bool // read on every enqueue, written once
	done      chan struct{}
	closeOnce sync.Once
	_         pad
}

var _ Queue[int] = (*Ring[int])(nil)

// New returns a lock-free ring configured by cfg; invalid settings are
// refused with an error naming the field.
func New[T any](cfg Config[T]) (*Ring[T], error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	r := &Ring[T]{
		shards: make([]shard[T], cfg.Shards),
		pick:   newPicker(cfg.Shards, cfg.ShardChoice),
		cap:    cfg.Capacity,
		done:   make(chan struct{}),
	}
	for i := range r.shards {
		r.shards[i].init(i, cfg.Capacity, cfg.startSeq, cfg.OnEvict, cfg.BlockTimeout)
	}
	return r, nil
}

// Enqueue implements Queue.
func (r *Ring[T]) Enqueue(ctx context.Context, p Policy, fill func(*T)) Result {
	i := r.pick.pick()
	if r.closed.Load() {
		return Result{Shard: i, Status: Closed}
	}
	return r.shards[i].enqueue(ctx, p, fill, &r.closed, r.done)
}

// Pick returns the caller's shard, as Enqueue would choose it.
func (r *Ring[T]) Pick() int { return r.pick.pick() }

// EnqueueShard is Enqueue on a chosen shard, for callers that pick the
// shard first (the engine counts per shard inside fill) and for tests.
func (r *Ring[T]) EnqueueShard(ctx context.Context, shard int, p Policy, fill func(*T)) Result {
	if r.closed.Load() {
		return Result{Shard: shard, Status: Closed}
	}
	return r.shards[shard].enqueue(ctx, p, fill, &r.closed, r.done)
}

// Drain implements Queue.
func (r *Ring[T]) Drain(shard int, dst []T) (int, uint64) { return r.shards[shard].drain(dst) }

// Depth implements Queue.
func (r *Ring[T]) Depth(shard int) int { return r.shards[shard].depth() }

// Produced implements Queue.
func (r *Ring[T]) Produced(shard int) uint64 { return r.shards[shard].tail.Load() }

// Consumed implements Queue.
func (r *Ring[T]) Consumed(shard int) uint64 { return r.shards[shard].consumed() }

// Notify implements Queue.
func (r *Ring[T]) Notify(shard int) <-chan struct{} { return r.shards[shard].wake }

// Park implements Queue.
func (r *Ring[T]) Park(shard int) bool { return r.shards[shard].park() }

// Unpark implements Queue.
func (r *Ring[T]) Unpark(shard int) { r.shards[shard].parked.Store(false) }

// Stats implements Queue.
func (r *Ring[T]) Stats(shard int) Stats { return r.shards[shard].stats() }

// Shards implements Queue.
func (r *Ring[T]) Shards() int { return len(r.shards) }

// Capacity implements Queue.
func (r *Ring[T]) Capacity() int { return r.cap }

// Closed implements Queue.
func (r *Ring[T]) Closed() bool { return r.closed.Load() }

// Close implements Queue.
//
// Exactness: a producer checks the closed flag after its claiming CAS. If
// it saw the queue open, its CAS came before the flag was set, and so
// before any load of Produced that follows Close: the consumer will wait
// for that position and drain it. If it saw the queue closed, it marks its
// slot dead and reports Closed; the consumer skips the slot.
func (r *Ring[T]) Close() {
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		close(r.done)
	})
}
