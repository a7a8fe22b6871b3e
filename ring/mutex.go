package ring

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Mutex is the original design's queue kept as a twin of Ring: each shard
// is a circular buffer guarded by a sync.Mutex that drops the oldest entry
// when full (and, for parity with Ring, also supports DropNewest and
// Block). With Shards = 1 it is exactly the seed's single queue.
//
// It offers the same Queue interface with the same semantics, so the engine
// can run on either and the two can be compared with benchstat. A Mutex
// must not be copied after first use. Create it with NewMutex.
type Mutex[T any] struct {
	shards []mutexShard[T]
	pick   *picker
	cap    int

	closed    atomic.Bool // set once every shard is closed
	done      chan struct{}
	closeOnce sync.Once
	_         pad
}

var _ Queue[int] = (*Mutex[int])(nil)

type mutexShard[T any] struct {
	mu       sync.Mutex
	buf      []T
	prot     []bool // prot[i]: buf[i] was stored under Block (never evicted)
	mask     uint64
	head     uint64 // position of the oldest entry
	tail     uint64 // position after the newest entry
	evicted  uint64
	refused  uint64
	canceled uint64
	seen     uint64 // consumer's view of evicted
	drains   uint64
	closed   bool
	index    int
	onEvict  func(int, *T)
	timeout  time.Duration
	waiters  atomic.Int32
	parked   atomic.Bool // as in Ring's shard
	space    chan struct{}
	wake     chan struct{}
	_        pad
}

// NewMutex returns the mutex twin configured by cfg; invalid settings are
// refused with an error naming the field.
func NewMutex[T any](cfg Config[T]) (*Mutex[T], error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	m := &Mutex[T]{
		shards: make([]mutexShard[T], cfg.Shards),
		pick:   newPicker(cfg.Shards, cfg.ShardChoice),
		cap:    cfg.Capacity,
		done:   make(chan struct{}),
	}
	for i := range m.shards {
		s := &m.shards[i]
		s.buf = make([]T, cfg.Capacity)
		s.prot = make([]bool, cfg.Capacity)
		s.mask = uint64(cfg.Capacity - 1)
		s.head, s.tail = cfg.startSeq, cfg.startSeq
		s.index = i
		s.onEvict = cfg.OnEvict
		s.timeout = cfg.BlockTimeout
		s.space = make(chan struct{}, 1)
		s.wake = make(chan struct{}, 1)
	}
	return m, nil
}

// Enqueue implements Queue.
func (m *Mutex[T]) Enqueue(ctx context.Context, p Policy, fill func(*T)) Result {
	return m.EnqueueShard(ctx, m.pick.pick(), p, fill)
}

// Pick returns the caller's shard, as Enqueue would choose it.
func (m *Mutex[T]) Pick() int { return m.pick.pick() }

// EnqueueShard is Enqueue on a chosen shard. The policies follow Ring's
// rules exactly (see Policy): Block entries are never evicted, and room is
// reserved for parked Block producers.
func (m *Mutex[T]) EnqueueShard(ctx context.Context, shard int, p Policy, fill func(*T)) Result {
	s := &m.shards[shard]
	var evicted uint32
	waited := false
	var deadline <-chan time.Time
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return Result{Shard: shard, Evicted: evicted, Status: Closed}
		}
		full := s.tail-s.head == uint64(len(s.buf))
		if full {
			signal(s.wake)
		}
		if p != Block && (s.waiters.Load() > 0 || (full && (p == DropNewest || s.prot[s.head&s.mask]))) {
			// Room reserved for a parked Block producer, or nothing this
			// policy may make room with.
			s.refused++
			s.mu.Unlock()
			return Result{Shard: shard, Evicted: evicted, Status: Refused}
		}
		if full {
			if !s.prot[s.head&s.mask] {
				// DropOldest, or Block shedding an unprotected entry.
				i := s.head & s.mask
				if s.onEvict != nil {
					s.onEvict(shard, &s.buf[i])
				}
				var zero T
				s.buf[i] = zero
				s.head++
				s.evicted++
				evicted++
			} else {
				// Block, and the oldest entry is protected: wait.
				s.waiters.Add(1)
				s.mu.Unlock()
				if deadline == nil && s.timeout > 0 {
					// Not stopped: unreferenced timers are collected (Go 1.23+).
					deadline = time.NewTimer(s.timeout).C
				}
				st := m.wait(ctx, s, deadline)
				s.waiters.Add(-1)
				if st != Accepted {
					if st == Canceled {
						s.mu.Lock()
						s.canceled++
						s.mu.Unlock()
					}
					return Result{Shard: shard, Evicted: evicted, Status: st}
				}
				waited = true
				continue
			}
		}
		i := s.tail & s.mask
		fill(&s.buf[i])
		s.prot[i] = p == Block
		s.tail++
		room := s.tail-s.head < uint64(len(s.buf))
		s.mu.Unlock()
		if s.parked.Load() && s.parked.CompareAndSwap(true, false) {
			signal(s.wake)
		}
		if waited && room && s.waiters.Load() > 0 {
			signal(s.space) // pass the wake-up on, as Ring does
		}
		return Result{Shard: shard, Evicted: evicted, Status: Accepted}
	}
}

// wait parks a Block producer. The waiter count was raised under the lock
// that saw the shard full, and Drain reads it after freeing space under
// the same lock, so the wake-up cannot be missed.
func (m *Mutex[T]) wait(ctx context.Context, s *mutexShard[T], deadline <-chan time.Time) Status {
	return park(ctx, s.space, deadline, m.done)
}

// Drain implements Queue.
func (m *Mutex[T]) Drain(shard int, dst []T) (int, uint64) {
	s := &m.shards[shard]
	s.mu.Lock()
	n := int(min(uint64(len(dst)), s.tail-s.head))
	var zero T
	for i := 0; i < n; i++ {
		j := (s.head + uint64(i)) & s.mask
		dst[i] = s.buf[j]
		s.buf[j], s.prot[j] = zero, false
	}
	s.head += uint64(n)
	if n > 0 {
		s.drains++
	}
	lost := s.evicted - s.seen
	s.seen = s.evicted
	s.mu.Unlock()
	if n > 0 && s.waiters.Load() > 0 {
		signal(s.space)
	}
	return n, lost
}

// Depth implements Queue.
func (m *Mutex[T]) Depth(shard int) int {
	s := &m.shards[shard]
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.tail - s.head)
}

// Produced implements Queue.
func (m *Mutex[T]) Produced(shard int) uint64 {
	s := &m.shards[shard]
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tail
}

// Consumed implements Queue.
func (m *Mutex[T]) Consumed(shard int) uint64 {
	s := &m.shards[shard]
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head
}

// Notify implements Queue.
func (m *Mutex[T]) Notify(shard int) <-chan struct{} { return m.shards[shard].wake }

// Park implements Queue. The flag is stored before the emptiness check
// under the lock, and producers load it after their unlock, so no wake-up
// is lost.
func (m *Mutex[T]) Park(shard int) bool {
	s := &m.shards[shard]
	s.parked.Store(true)
	s.mu.Lock()
	empty := s.tail == s.head
	s.mu.Unlock()
	if !empty {
		s.parked.Store(false)
	}
	return empty
}

// Unpark implements Queue.
func (m *Mutex[T]) Unpark(shard int) { m.shards[shard].parked.Store(false) }

// Stats implements Queue.
func (m *Mutex[T]) Stats(shard int) Stats {
	s := &m.shards[shard]
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Produced: s.tail, Consumed: s.head, Evicted: s.evicted, Refused: s.refused, Canceled: s.canceled,
		Drains: s.drains, Waiters: int(s.waiters.Load())}
}

// Shards implements Queue.
func (m *Mutex[T]) Shards() int { return len(m.shards) }

// Capacity implements Queue.
func (m *Mutex[T]) Capacity() int { return m.cap }

// Closed implements Queue.
func (m *Mutex[T]) Closed() bool { return m.closed.Load() }

// Close implements Queue. Every shard is marked closed under its lock, so
// an enqueue either finished before Close (and is counted in Produced) or
// sees the shard closed.
func (m *Mutex[T]) Close() {
	m.closeOnce.Do(func() {
		for i := range m.shards {
			s := &m.shards[i]
			s.mu.Lock()
			s.closed = true
			s.mu.Unlock()
		}
		// Set after every shard is closed: a consumer that sees it and
		// then takes a shard's lock sees that shard closed.
		m.closed.Store(true)
		close(m.done)
	})
}
