package engine

import (
	"sync/atomic"
	"time"
)

// wallClock turns an event's Mono into its wall-clock time on the
// flushers, so a log call reads one clock (monotonic) instead of two.
//
// One anchor serves the whole engine: a wall and a monotonic reading
// taken together by time.Now, and the wall time of Mono m is anchor.wall
// + (m - anchor.mono). Every flusher maps a Mono to the same wall time,
// so the times a sink prints follow the Mono order in which it receives
// events, across shards. (With one anchor per flusher, two readings taken
// a few nanoseconds apart made times go backwards between shards.)
//
// On Linux NTP slews CLOCK_REALTIME and CLOCK_MONOTONIC alike, so the
// offset between them changes only when the wall clock is stepped
// (settimeofday, a VM resume). The anchor is checked every refreshEvery
// and replaced only when the offset moved by more than stepThreshold: a
// real step shows up at most refreshEvery late, and around it (only then)
// flushers may briefly disagree.
type wallClock struct {
	cur     atomic.Pointer[wallAnchor]
	checkAt atomic.Int64 // Mono of the next check
	// read returns a wall reading (monotonic reading stripped) and the
	// Mono taken with it; tests replace it to step the wall clock.
	read func(epoch time.Time) (wall time.Time, mono int64)
}

func readClocks(epoch time.Time) (time.Time, int64) {
	now := time.Now()
	return now.Round(0), int64(now.Sub(epoch))
}

type wallAnchor struct {
	wall time.Time // the wall reading (monotonic reading stripped)
	mono int64     // its Mono
}

// offset is the anchor's wall minus monotonic time, in nanoseconds.
func (a *wallAnchor) offset() int64 { return a.wall.UnixNano() - a.mono }

// at returns the wall time of Mono m.
func (a *wallAnchor) at(m int64) time.Time { return a.wall.Add(time.Duration(m - a.mono)) }

const (
	// refreshEvery bounds how late a step of the wall clock shows up.
	refreshEvery = 100 * time.Millisecond
	// stepThreshold separates a step of the wall clock from the noise of
	// two readings (tens of nanoseconds).
	stepThreshold = time.Millisecond
)

func (c *wallClock) init(epoch time.Time) {
	c.read = readClocks
	c.cur.Store(&wallAnchor{wall: epoch.Round(0), mono: 0})
	c.checkAt.Store(int64(refreshEvery))
}

// anchor returns the anchor to map Monos with, checking first for a step
// of the wall clock when one is due. Safe for concurrent use.
func (c *wallClock) anchor(e *Engine) *wallAnchor {
	a := c.cur.Load()
	m := e.mono()
	due := c.checkAt.Load()
	if m < due || !c.checkAt.CompareAndSwap(due, m+int64(refreshEvery)) {
		return a
	}
	wall, mono := c.read(e.epoch)
	na := &wallAnchor{wall: wall, mono: mono}
	if d := na.offset() - a.offset(); d > int64(stepThreshold) || d < -int64(stepThreshold) {
		c.cur.Store(na)
		return na
	}
	return a
}
