package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The engine's one wall anchor ignores the noise between two readings of
// the clocks (so every flusher keeps mapping a Mono to the same wall
// time) and follows a step of the wall clock. Mutation caught: replacing
// the anchor at every check makes the noise case move the mapping.
func TestWallAnchorIgnoresNoiseAndFollowsSteps(t *testing.T) {
	e := &Engine{epoch: time.Now()}
	e.wall.init(e.epoch)
	first := e.wall.anchor(e)
	m := e.mono()
	want := first.at(m)

	fake := func(off time.Duration) {
		e.wall.read = func(epoch time.Time) (time.Time, int64) {
			wall, mono := readClocks(epoch)
			return wall.Add(off), mono
		}
		e.wall.checkAt.Store(0) // a check is due
	}
	fake(80 * time.Nanosecond) // noise: two readings tens of ns apart
	require.Same(t, first, e.wall.anchor(e))
	require.Equal(t, want, e.wall.anchor(e).at(m))

	fake(-5 * time.Second) // the wall clock was stepped back
	a := e.wall.anchor(e)
	require.NotSame(t, first, a)
	require.InDelta(t, float64(-5*time.Second), float64(a.at(m).Sub(want)), float64(time.Millisecond))
}

// A Flush covers every event logged before it, including one stamped in
// the same nanosecond as the Flush's own clock reading: the frontier (all
// events with Mono below it are written) must pass upTo. Mutation caught:
// serving at frontier >= upTo (the old test) answers the request at
// frontier == upTo, before an event with Mono == upTo is written.
func TestFlushWaitsPastItsOwnInstant(t *testing.T) {
	r := newWriterRig(t, 16, 8, 4)
	done := make(chan error, 1)
	const upTo = 1000
	r.w.pending = append(r.w.pending, flushRequest{ctx: context.Background(), upTo: upTo, done: done})
	r.w.frontier.Store(upTo)
	r.w.serveFlushes()
	require.Empty(t, done, "an event with Mono == upTo may still be unwritten")
	r.w.frontier.Store(upTo + 1)
	r.w.serveFlushes()
	require.Len(t, done, 1)
	require.NoError(t, <-done)
}
