package ring

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
)

// slot holds one entry and the sequence word that hands it between the
// parties. The word is 4*position plus a state, so that one atomic word
// says both whose turn it is and whether the entry may be evicted. For
// position p (p mod capacity = the slot's index):
//
//	seq == 4p          free: the producer that claims p may write it
//	seq == 4p+1        published: the entry at p may be consumed or evicted
//	seq == 4p+2        published, protected (stored under Block): it may be
//	                   consumed, never evicted
//	seq == 4(p+cap)    released: free for position p+cap, one lap later
//
// Arithmetic is modulo 2^64 on both sides (4*p wraps with p), and the
// states of one slot are at most 4*cap apart, far below 2^63, so signed
// differences order them.
//
// dead marks an entry whose producer claimed the slot after the queue was
// closed (see Enqueue); the consumer skips it. It is written by the slot's
// owner before the publishing store of seq, and read only by the next
// owner.
type slot[T any] struct {
	seq  atomic.Uint64
	dead bool
	val  T
}

// The sequence words of position p.
func seqFree(p uint64) uint64 { return p << 2 }
func seqPublished(p uint64, protected bool) uint64 {
	if protected {
		return p<<2 | 2
	}
	return p<<2 | 1
}

// published reports whether seq publishes the entry at position p.
func published(seq, p uint64) bool { return seq-p<<2-1 < 2 }

// shard is one bounded multi-producer single-consumer FIFO.
//
// The algorithm is D. Vyukov's bounded queue with a sequence number per slot
// (as in E. Rigtorp's MPMCQueue and xsync's MPMCQueueOf), specialised here:
//
//   - Producers claim position p with a CAS on tail once the slot's seq
//     says it is free for p, write the entry, and publish it by storing
//     seq = 4p+1 (4p+2 under Block). The store is the only thing that
//     publishes the entry: a consumer that loads it (Go atomics are sequentially
//     consistent, so the load synchronizes with the store) sees the whole
//     entry.
//   - The consumer claims a batch of k consecutive published positions
//     with one CAS of head from h to h+k, copies the entries out, clears
//     the slots, and releases each by storing seq = 4(p+cap). The producer of
//     the next lap loads that value before writing, so its writes happen
//     after the consumer's reads.
//   - Under DropOldest a full shard is made room in by a producer acting
//     as a consumer of one entry: the same CAS on head (which is why head
//     is CASed, not stored, by the consumer), the OnEvict hook while it
//     owns the slot, then the release store. Counted in evicted, which
//     the consumer reads to learn exactly what it lost.
//   - Block entries are protected: an evictor reads the oldest entry's
//     sequence word before its CAS and leaves a protected entry alone.
//     A Block producer that finds the shard full sheds the oldest entry
//     when it is not protected (as DropOldest would), and parks only when
//     it is. While a Block producer is parked, drop-policy producers take
//     no room at all (neither a free slot nor an evicted one): the room
//     that frees up goes to the parked producers, in the order the
//     consumer's signal and their baton pass wake them.
//
// Positions are 64-bit and compared by signed difference, so they survive
// wrap-around. tail and head never run more than cap apart.
//
// Progress: producers never wait for each other except by retrying a
// failed CAS (some other party made progress), and drop-policy producers
// never wait for the consumer: when the slot they need is still being
// released (the consumer claimed it and has not stored its release), or
// the oldest entry is still being written by its producer, they count the
// shard as full and drop their own entry. So a drop-policy enqueue is
// lock-free: it returns after a number of steps bounded by the CASes that
// other parties win meanwhile, never after a wait on a descheduled
// goroutine. Only Block producers wait; a producer descheduled between
// its claim and its publish holds up the consumer at that slot (the
// entries behind it wait; nothing is lost).
//
// The consumer claims a run of published entries with one CAS of head.
// When an evictor moves head first, the entries of the run from the new
// head on are still published and unclaimed (head never moves back, and a
// slot is reused only after head has passed it), so the consumer shrinks
// its run and retries the CAS at once instead of recounting: under a
// stream of evictions it still claims large runs (the livelock this
// avoids is in docs/bench/ring.md).
type shard[T any] struct {
	// Read-only after construction.
	slots   []slot[T]
	mask    uint64
	cap     uint64
	index   int
	onEvict func(int, *T)
	timeout time.Duration // Config.BlockTimeout
	space   chan struct{} // a waiting Block producer's wake-up (cap 1)
	wake    chan struct{} // the consumer's wake-up: full, or published while parked (cap 1)
	// parked is set by the consumer before it sleeps without a timer
	// (Park) and cleared by the first producer that publishes after it.
	// Producers load it after every publish; it is written only when the
	// consumer parks or is woken, so under load this line stays shared in
	// every producer's cache and the load costs next to nothing.
	parked atomic.Bool
	_      pad

	tail atomic.Uint64 // next position to claim; CASed by producers
	_    pad

	head        atomic.Uint64 // next position to consume; CASed by the consumer and evictors
	seenEvicted uint64        // consumer-private: evicted as of the last Drain
	// settled is a position below which every entry has been drained by
	// the consumer or evicted with its OnEvict hook returned (consumed);
	// written by the consumer at the end of a drain.
	settled atomic.Uint64
	_       pad

	// Overflow-path counters: written only when the shard is full, so the
	// common path never touches this line.
	evicted  atomic.Uint64
	refused  atomic.Uint64
	canceled atomic.Uint64
	waiters  atomic.Int32 // Block producers parked on space
	_        pad

	// Consumer-written statistics, on their own line.
	drains  atomic.Uint64 // drains that claimed at least one entry
	retries atomic.Uint64 // claiming CASes lost to an evictor
	_       pad
}

func (s *shard[T]) init(index, capacity int, start uint64, onEvict func(int, *T), timeout time.Duration) {
	s.timeout = timeout
	s.slots = make([]slot[T], capacity)
	s.mask = uint64(capacity - 1)
	s.cap = uint64(capacity)
	s.index = index
	s.onEvict = onEvict
	s.space = make(chan struct{}, 1)
	s.wake = make(chan struct{}, 1)
	for i := range s.slots {
		// Slot i is free for the first position p >= start with p mod cap == i.
		p := start + (uint64(i)-start)&s.mask
		s.slots[i].seq.Store(seqFree(p))
	}
	s.tail.Store(start)
	s.head.Store(start)
	s.settled.Store(start)
}

// enqueue runs one producer's attempt on this shard; see Queue.Enqueue.
// closed is the queue's closed flag, done its closed channel.
func (s *shard[T]) enqueue(ctx context.Context, p Policy, fill func(*T), closed *atomic.Bool, done <-chan struct{}) Result {
	var evicted uint32
	waited := false
	// Made when a Block producer first parks; never stopped: since Go
	// 1.23 an unreferenced timer is collected whether or not it fired.
	var deadline *time.Timer
	for spins := 0; ; {
		pos := s.tail.Load()
		sl := &s.slots[pos&s.mask]
		seq := sl.seq.Load()
		switch d := int64(seq - seqFree(pos)); {
		case d == 0:
			if p != Block && s.waiters.Load() > 0 {
				// The room is reserved for a parked Block producer.
				return s.refuse(evicted)
			}
			if !s.tail.CompareAndSwap(pos, pos+1) {
				continue // another producer took pos
			}
			// Close may have happened between our last check and the
			// claim. Checking after the claim makes Close exact: a consumer
			// that loads Produced after Close sees every position whose
			// producer saw the queue open (see Ring.Close).
			if closed.Load() {
				sl.dead = true
				sl.seq.Store(seqPublished(pos, false))
				return Result{Shard: s.index, Evicted: evicted, Status: Closed}
			}
			fill(&sl.val)
			sl.seq.Store(seqPublished(pos, p == Block))
			s.wakeParked()
			if waited {
				s.passBaton(pos + 1)
			}
			return Result{Shard: s.index, Evicted: evicted, Status: Accepted}
		case d > 0:
			continue // tail moved on since we loaded it
		}
		// d < 0: the slot still holds the entry from one lap ago, or the
		// party that took that entry has not released the slot yet.
		if closed.Load() {
			return Result{Shard: s.index, Evicted: evicted, Status: Closed}
		}
		if s.tail.Load() != pos {
			continue // we are behind
		}
		oldest := pos - s.cap
		if h := s.head.Load(); h != oldest {
			// The consumer (or an evictor) has claimed the oldest entry
			// and is releasing its slot. A drop-policy producer does not
			// wait for that (the consumer may be descheduled mid-batch):
			// after a few looks, releaseSpins, the shard is full for it.
			if p != Block {
				if spins < releaseSpins {
					spins++
					continue
				}
				hookFullWhileReleasing()
				return s.refuse(evicted)
			}
			backoff(&spins)
			// The release takes nanoseconds, unless the consumer was
			// descheduled inside it: now and then, see whether the wait
			// is over anyway (timeout, context, close).
			if spins%releaseChecks == 0 {
				switch s.expired(ctx, done, &deadline) {
				case Canceled:
					s.canceled.Add(1)
					return Result{Shard: s.index, Evicted: evicted, Status: Canceled}
				case Closed:
					return Result{Shard: s.index, Evicted: evicted, Status: Closed}
				}
			}
			continue
		}
		s.nudge()
		if p == DropNewest || (p == DropOldest && s.waiters.Load() > 0) {
			return s.refuse(evicted)
		}
		// DropOldest, or Block: shed the oldest entry unless it is
		// protected.
		switch s.evict(oldest) {
		case evictedLive:
			if evicted < ^uint32(0) {
				evicted++
			}
			continue
		case evictedDead, evictLost:
			continue
		}
		// The oldest entry is protected, or not yet published by its
		// producer: a drop-policy producer drops its own entry, a Block
		// producer waits for the consumer.
		if p != Block {
			return s.refuse(evicted)
		}
		switch s.block(ctx, pos, done, &deadline) {
		case Canceled:
			s.canceled.Add(1)
			return Result{Shard: s.index, Evicted: evicted, Status: Canceled}
		case Closed:
			return Result{Shard: s.index, Evicted: evicted, Status: Closed}
		}
		waited = true
		spins = 0
	}
}

// refuse counts and reports an entry dropped because the shard was full
// for its producer.
func (s *shard[T]) refuse(evicted uint32) Result {
	s.refused.Add(1)
	return Result{Shard: s.index, Evicted: evicted, Status: Refused}
}

type evictOutcome uint8

const (
	evictedLive    evictOutcome = iota // evicted a real entry
	evictedDead                        // freed a slot whose entry was dead
	evictLost                          // someone else moved head first
	evictBusy                          // the oldest entry is not yet published
	evictProtected                     // the oldest entry was stored under Block
)

// evict removes the entry at position h (the current head) on behalf of a
// DropOldest or Block producer, unless it is protected.
//
// The state is read from the sequence word before the CAS: the slot
// cannot change before head passes h, which our CAS would then fail to do.
func (s *shard[T]) evict(h uint64) evictOutcome {
	sl := &s.slots[h&s.mask]
	switch sl.seq.Load() {
	case seqPublished(h, false):
	case seqPublished(h, true):
		return evictProtected
	default:
		return evictBusy // its producer has not published it yet
	}
	if !s.head.CompareAndSwap(h, h+1) {
		return evictLost
	}
	// We own position h until the release store below.
	out := evictedDead
	if !sl.dead {
		out = evictedLive
		if s.onEvict != nil {
			s.onEvict(s.index, &sl.val)
		}
		s.evicted.Add(1)
	}
	// The slot is not cleared: the shard is full, so the producer that
	// claims it next (usually this one, at once) overwrites it; Drain
	// clears the slots it empties.
	sl.dead = false
	sl.seq.Store(seqFree(h + s.cap))
	return out
}

// drain is Queue.Drain for this shard; only the shard's consumer calls it.
func (s *shard[T]) drain(dst []T) (n int, lost uint64) {
	released := false
	settled := s.settled.Load()
	for n < len(dst) {
		h := s.head.Load()
		// Count the published run at h, up to the room left in dst.
		k, room := uint64(0), uint64(len(dst)-n)
		for ; k < room; k++ {
			if !published(s.slots[(h+k)&s.mask].seq.Load(), h+k) {
				break
			}
		}
		if k == 0 {
			break
		}
		hookDrainBeforeClaim()
		// Claim [h, h+k). An evictor that moved head to h' in between
		// took [h, h'); [h', h+k) is still ours to claim (see shard).
		for !s.head.CompareAndSwap(h, h+k) {
			s.retries.Add(1)
			nh := s.head.Load()
			if nh-h >= k {
				k = 0 // evictors took the whole run; count again
				break
			}
			k -= nh - h
			h = nh
		}
		if k == 0 {
			continue
		}
		hookDrainClaimed()
		// [settled, h) were evicted since; settled moves past them only
		// once their evictors have released them (hooks returned).
		if h == settled || s.releasedRun(settled, h) {
			settled = h + k
		}
		// Positions h..h+k-1 are ours until released.
		var zero T
		for i := uint64(0); i < k; i++ {
			sl := &s.slots[(h+i)&s.mask]
			if !sl.dead {
				dst[n] = sl.val
				n++
			}
			sl.val, sl.dead = zero, false
			sl.seq.Store(seqFree(h + i + s.cap))
		}
		released = true
	}
	if released {
		s.drains.Add(1)
		s.settled.Store(settled)
	}
	ev := s.evicted.Load()
	lost = ev - s.seenEvicted
	s.seenEvicted = ev
	if released && s.waiters.Load() > 0 {
		signal(s.space)
	}
	return n, lost
}

// releaseSpins is how many times a drop-policy producer looks again at a
// slot that is being released before it counts the shard as full. The
// party releasing it is most often another producer inside OnEvict (the
// engine copies the evicted event into its spill: a few hundred
// nanoseconds), and each look is a few loads, so this covers that without
// waiting on a consumer that was descheduled mid-batch. (Without it, the
// default load generator run lost 1-32 events to queue-full-newest in 3
// of 10 runs once the spill was in.)
const releaseSpins = 64

// releasedRun reports whether every slot of positions [from, to) has been
// released (its seq is at least the free value of the next lap: the
// consumer or an evictor stored it after its last use of the entry).
func (s *shard[T]) releasedRun(from, to uint64) bool {
	for p := from; p != to; p++ {
		if int64(s.slots[p&s.mask].seq.Load()-seqFree(p+s.cap)) < 0 {
			return false
		}
	}
	return true
}

// consumed is Queue.Consumed: head, but not past a position whose
// evictor is still inside its OnEvict hook. Positions from settled to
// head were drained by the consumer (released before its drain returned)
// or evicted since; an evictor claims head before it calls the hook and
// releases the slot after, so a slot not yet released stops the count.
// settled is loaded before head: both only grow, so the scan covers at
// most one lap.
func (s *shard[T]) consumed() uint64 {
	p := s.settled.Load()
	h := s.head.Load()
	for ; p != h; p++ {
		if int64(s.slots[p&s.mask].seq.Load()-seqFree(p+s.cap)) < 0 {
			return p
		}
	}
	return h
}

// depth is tail - head; head is loaded first so the difference is never
// negative (tail only grows, and never trails head).
func (s *shard[T]) depth() int {
	h := s.head.Load()
	return int(s.tail.Load() - h)
}

func (s *shard[T]) stats() Stats {
	return Stats{
		Consumed: s.head.Load(),
		Produced: s.tail.Load(),
		Evicted:  s.evicted.Load(),
		Refused:  s.refused.Load(),
		Canceled: s.canceled.Load(),
		Drains:   s.drains.Load(),
		Retries:  s.retries.Load(),
		Waiters:  int(s.waiters.Load()),
	}
}

// nudge wakes a sleeping consumer: the shard is full, so draining now
// saves entries from being dropped.
func (s *shard[T]) nudge() { signal(s.wake) }

// wakeParked wakes a parked consumer after a publish. No wake-up is lost
// (Dekker, on sequentially consistent atomics): the producer publishes,
// then loads parked; the consumer stores parked, then loads tail (park).
// Either the consumer sees the claim and does not sleep, or the producer
// sees it parked and signals.
func (s *shard[T]) wakeParked() {
	if s.parked.Load() && s.parked.CompareAndSwap(true, false) {
		signal(s.wake)
	}
}

// park marks the consumer parked unless entries are waiting (claimed,
// published or not); it reports whether the consumer may now sleep on
// wake.
func (s *shard[T]) park() bool {
	s.parked.Store(true)
	if s.tail.Load() != s.head.Load() {
		s.parked.Store(false)
		return false
	}
	return true
}

// waitForSpace parks a Block producer until the consumer frees a slot, the
// context ends, or the queue closes. pos is the position the producer found
// full.
//
// No wake-up is lost: the producer increments waiters and then re-reads
// head; the consumer advances head and then reads waiters. With
// sequentially consistent atomics, either the producer sees the new head
// (and retries at once) or the consumer sees the waiter (and signals).
func (s *shard[T]) waitForSpace(ctx context.Context, pos uint64, done <-chan struct{}, deadline <-chan time.Time) Status {
	s.waiters.Add(1)
	defer s.waiters.Add(-1)
	if s.head.Load() != pos-s.cap {
		return Accepted // space appeared; retry
	}
	return park(ctx, s.space, deadline, done)
}

// park waits for a Block producer's wake-up (Accepted: retry), its
// context or deadline (Canceled), or the queue's close (Closed). Both
// queues park this way; they differ in how they avoid a lost wake-up.
func park(ctx context.Context, space chan struct{}, deadline <-chan time.Time, done <-chan struct{}) Status {
	select {
	case <-space:
		return Accepted
	case <-ctx.Done():
		return Canceled
	case <-deadline:
		return Canceled
	case <-done:
		return Closed
	}
}

// block parks a Block producer for one wait, making the deadline timer on
// the first wait of the call (the only allocation on any enqueue path, and
// only when the producer actually parks with a BlockTimeout set).
func (s *shard[T]) block(ctx context.Context, pos uint64, done <-chan struct{}, deadline **time.Timer) Status {
	return s.waitForSpace(ctx, pos, done, s.timer(deadline))
}

// timer returns the channel of a Block call's deadline, making its timer
// on the call's first wait; nil without a BlockTimeout.
func (s *shard[T]) timer(deadline **time.Timer) <-chan time.Time {
	if s.timeout <= 0 {
		return nil
	}
	if *deadline == nil {
		*deadline = time.NewTimer(s.timeout)
	}
	return (*deadline).C
}

// releaseChecks is how many spins a Block producer waiting for a slot's
// release makes between two looks at its deadline, context and the
// queue's close (expired).
const releaseChecks = 64

// expired reports, without waiting, whether a Block producer's wait is
// over: Canceled when its context is done or its block timeout (started
// at its first look, as block starts it at its first park) has passed,
// Closed when the queue closed, Accepted otherwise.
func (s *shard[T]) expired(ctx context.Context, done <-chan struct{}, deadline **time.Timer) Status {
	select {
	case <-ctx.Done():
		return Canceled
	case <-s.timer(deadline):
		return Canceled
	case <-done:
		return Closed
	default:
		return Accepted
	}
}

// passBaton hands the wake-up on to the next parked producer when there is
// still room: the consumer signals once per drain, and this lets one drain
// that freed many slots release many producers.
func (s *shard[T]) passBaton(tail uint64) {
	if s.waiters.Load() > 0 && tail-s.head.Load() < s.cap {
		signal(s.space)
	}
}

// signal does a non-blocking send on a capacity-1 channel: one pending
// wake-up is enough, extra ones would be redundant.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// backoff waits a little for another goroutine to finish a step that takes
// nanoseconds (a publish or a release): a few retries, then yield the
// processor so the goroutine we wait for can run.
func backoff(spins *int) {
	*spins++
	if *spins > 4 {
		runtime.Gosched()
	}
}
