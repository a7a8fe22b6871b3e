package breaker

import (
	"math"
	"time"
)

// The open deadline. The word that makes a breaker open and the deadline
// that ends the period cannot be written in one atomic step, so the
// deadline word carries the generation it belongs to:
//
//	bits  0-15  the low 16 bits of the open generation
//	bits 16-62  the deadline, in milliseconds since New, rounded up
//
// Whoever swaps the state word to Open publishes the deadline just after,
// from a clock reading taken before the swap. A caller that finds the
// breaker open with a deadline of another generation (the tripper has not
// published yet) does not take it for the end of this period: it refuses
// the call and, if the word has not moved on, publishes a deadline counted
// from its own reading, taken after the swap, so never earlier than the
// tripper's. The breaker never waits on a stalled tripper, and an open
// period never ends early. Without the tag, a caller in that gap would
// read the last period's deadline, long past, and end this one at once.
//
// 47 bits of milliseconds outlast any time.Duration (292 years), so the
// packed deadline cannot overflow.
const deadlineTagBits = 16

// sinceEpoch is the clock's reading as a duration since New.
func (b *Breaker) sinceEpoch() time.Duration {
	return max(b.clock().Sub(b.epoch), 0)
}

// interval is the length of an open period entered at level (reopens in a
// row): ResetTimeout grown by BackoffFactor per level, capped.
func (b *Breaker) interval(level int) time.Duration {
	if level == 0 || b.factor == 1 {
		return b.resetTimeout
	}
	d := float64(b.resetTimeout) * math.Pow(b.factor, float64(level))
	if d >= float64(b.maxTimeout) {
		return b.maxTimeout
	}
	return time.Duration(d)
}

// nextLevel is the level of a reopening from level: one more, until the
// interval reaches its cap (or the level its 8 bits).
func (b *Breaker) nextLevel(level int) int {
	if level >= maxLevel || b.interval(level) >= b.maxTimeout {
		return level
	}
	return level + 1
}

// packDeadline packs the end of the open period of generation gen, iv
// after from, rounded up to the millisecond; a sum past the largest
// Duration saturates rather than wraps.
func packDeadline(gen uint32, from, iv time.Duration) int64 {
	end := from + iv
	if end < from {
		end = math.MaxInt64
	}
	ms := int64(end / time.Millisecond)
	if end%time.Millisecond != 0 {
		ms++
	}
	return ms<<deadlineTagBits | int64(uint16(gen))
}

func deadlineTag(d int64) uint16 { return uint16(d) }

// deadlineMs is the end of the period in milliseconds since New. Readings
// are compared in whole milliseconds, which is exact for a deadline that
// is itself a whole millisecond, and cannot overflow.
func deadlineMs(d int64) int64 { return d >> deadlineTagBits }

// publishDeadline sets the end of the open period of generation gen,
// unless that generation, or a later one, has published already (a
// publisher that fell 2^15 generations behind would be taken for a later
// one; the callers in Allow repair that, as above).
func (b *Breaker) publishDeadline(gen uint32, from, iv time.Duration) {
	want := packDeadline(gen, from, iv)
	for {
		cur := b.deadline.Load()
		if int16(deadlineTag(cur)-uint16(gen)) >= 0 && cur != 0 {
			return
		}
		if b.deadline.CompareAndSwap(cur, want) {
			return
		}
	}
}

// openPeriodOver reports whether the open period of the word w has ended.
func (b *Breaker) openPeriodOver(w uint64) bool {
	now := b.sinceEpoch()
	d := b.deadline.Load()
	if deadlineTag(d) != uint16(genOf(w)) || d == 0 {
		// Not published yet for this generation: refuse, and publish one
		// from now, so that a tripper that stalls cannot keep the breaker
		// open. Only while w is still current: a caller that fell behind
		// must not overwrite a later period's deadline. If the tripper
		// publishes first, the swap fails and its exact deadline stands.
		if b.word.Load() == w {
			b.deadline.CompareAndSwap(d, packDeadline(genOf(w), now, b.interval(levelOf(w))))
		}
		return false
	}
	return int64(now/time.Millisecond) >= deadlineMs(d)
}

// retireDeadline clears the deadline of the open generation g once the
// breaker has left it (to half-open, or by Reset, ForceOpen or Disable).
// The tag has 16 bits: without this, a period opened exactly 65536
// generations later (Resets in between make that reachable) found the old
// deadline, long past, under its own tag, did not publish its own, and
// ended at the first Allow. A clear that lands late, on a later period's
// deadline with the same tag, only makes the next Allow publish one from
// its own reading: the period can be longer, never shorter.
func (b *Breaker) retireDeadline(g uint32) {
	if d := b.deadline.Load(); d != 0 && deadlineTag(d) == uint16(g) {
		b.deadline.CompareAndSwap(d, 0)
	}
}
