// Package budget bounds, in bytes, the memory that queued work keeps
// alive. It imports nothing of the project: the engine charges what its
// queued events pin (message, field strings, spilled fields, rendered
// values, batches and their encodings) and releases it when the last sink
// is done with them; callers ask Over before they add more.
//
// The accounting is deliberately coarse-grained so that it never becomes a
// contended hot spot: the engine charges a drained batch of events with one
// atomic add (not one per event), only events too large to leave
// uncounted in a ring slot charge themselves, and the check every log call
// makes is one load of a flag that changes only when usage crosses the
// limit, so it stays in every processor's cache (docs/DESIGN.md, "Memory
// budget", has the arithmetic and the measurements).
package budget

import (
	"fmt"
	"sync/atomic"
)

// Budget is a byte limit with its current usage. The zero value is not
// usable; call New. All methods are safe for concurrent use.
type Budget struct {
	limit int64
	trim  int64 // usage above which holders should shed their oldest work
	_     [64]byte

	used atomic.Int64 // charged and not yet released
	peak atomic.Int64 // highest usage seen
	_    [64]byte

	// over is usage > limit, kept as its own word so that the load every
	// admission makes hits a line written only when usage crosses the
	// limit (see fix).
	over atomic.Bool
	_    [64]byte

	crossings atomic.Uint64 // times usage went from within the limit to above it
	refused   atomic.Uint64 // TryCharge calls that found no room
}

// Snapshot is a consistent-enough view of a budget for metrics: each field
// is read atomically, the set is not read at one instant.
type Snapshot struct {
	Limit     int64  `json:"limit_bytes"`
	Usage     int64  `json:"usage_bytes"`
	Peak      int64  `json:"peak_bytes"`
	Over      bool   `json:"over"`
	Crossings uint64 `json:"crossings"` // times usage rose above the limit
	Refused   uint64 `json:"refused"`   // charges refused for want of room (a waiting Block call counts each try)
}

// New returns a budget of limit bytes; holders are asked to trim above
// TrimFraction of it.
func New(limit int64) (*Budget, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("budget: limit must be > 0, got %d", limit)
	}
	return &Budget{limit: limit, trim: limit - limit/TrimFraction}, nil
}

// TrimFraction sets the trim mark: holders of queued work start shedding
// their oldest when usage passes limit - limit/TrimFraction, so that new
// work is refused (at the limit itself) only when shedding cannot keep up.
const TrimFraction = 8

// Limit is the budget in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// TrimMark is the usage above which holders should shed their oldest work.
func (b *Budget) TrimMark() int64 { return b.trim }

// Usage is the bytes charged and not released.
func (b *Budget) Usage() int64 { return b.used.Load() }

// Over reports whether usage is above the limit. One atomic load of a word
// that is written only when usage crosses the limit.
func (b *Budget) Over() bool { return b.over.Load() }

// AboveTrimMark reports whether usage is above the trim mark.
func (b *Budget) AboveTrimMark() bool { return b.used.Load() > b.trim }

// Charge adds n bytes unconditionally: for work already taken on (a batch
// drained from a queue), which must be counted whether or not it fits.
func (b *Budget) Charge(n int64) {
	if n <= 0 {
		return
	}
	u := b.used.Add(n)
	b.notePeak(u)
	if b.over.Load() != (u > b.limit) {
		b.fix()
	}
}

// TryCharge adds n bytes if usage stays within the limit, and reports
// whether it did. A refusal is counted.
func (b *Budget) TryCharge(n int64) bool {
	if n <= 0 {
		return true
	}
	for {
		u := b.used.Load()
		if u+n > b.limit {
			b.refused.Add(1)
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			b.notePeak(u + n)
			if b.over.Load() {
				b.fix() // a concurrent release took usage back under
			}
			return true
		}
	}
}

// Release returns n bytes charged earlier.
func (b *Budget) Release(n int64) {
	if n <= 0 {
		return
	}
	u := b.used.Add(-n)
	if b.over.Load() != (u > b.limit) {
		b.fix()
	}
}

// fix makes over agree with usage. Every party that changes usage in a way
// that may disagree with over calls it after its change. It loops until a
// pass sees flag and usage agree without changing anything, so the party
// that leaves fix last has checked after every CAS anyone made: when usage
// stops changing, over is right. (A single store could lose: A reads usage
// over, B releases and stores false, A stores true, and a budget with room
// would refuse everything until the next change.)
func (b *Budget) fix() {
	for {
		was := b.over.Load()
		now := b.used.Load() > b.limit
		hookFix()
		if was == now {
			return
		}
		if b.over.CompareAndSwap(was, now) && now {
			b.crossings.Add(1)
		}
	}
}

func (b *Budget) notePeak(u int64) {
	for {
		p := b.peak.Load()
		if u <= p || b.peak.CompareAndSwap(p, u) {
			return
		}
	}
}

// Snapshot reads the budget's figures.
func (b *Budget) Snapshot() Snapshot {
	return Snapshot{
		Limit:     b.limit,
		Usage:     b.used.Load(),
		Peak:      b.peak.Load(),
		Over:      b.over.Load(),
		Crossings: b.crossings.Load(),
		Refused:   b.refused.Load(),
	}
}
