package engine

import "time"

// wallClock turns an event's Mono into its wall-clock time on the
// flusher, so a log call reads one clock (monotonic) instead of two.
//
// It keeps an anchor, a wall and a monotonic reading taken together by
// time.Now, and answers anchor.wall + (mono - anchor.mono). On Linux NTP
// slews CLOCK_REALTIME and CLOCK_MONOTONIC alike, so the two do not drift
// apart; a step of the wall clock (settimeofday, a VM resume) shows up in
// events at the next refresh, at most refreshEvery later. Each flusher
// owns its wallClock; nothing is shared.
type wallClock struct {
	wall time.Time // anchor's wall reading (monotonic reading stripped)
	mono int64     // anchor's Mono
	set  bool
}

// refreshEvery bounds how stale the anchor may get.
const refreshEvery = 100 * time.Millisecond

func (c *wallClock) refresh(e *Engine) {
	m := e.mono()
	if c.set && time.Duration(m-c.mono) < refreshEvery {
		return
	}
	now := time.Now()
	c.mono = int64(now.Sub(e.epoch))
	c.wall = now.Round(0) // drop the monotonic reading: derived times are wall times
	c.set = true
}

// at returns the wall time of Mono m.
func (c *wallClock) at(m int64) time.Time {
	return c.wall.Add(time.Duration(m - c.mono))
}
