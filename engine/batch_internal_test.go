package engine

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
)

// A released batch keeps its events for the flusher to clear (freeList):
// a reuse that drains fewer events clears the rest before the batch is
// pushed, and a batch taken clean (the spill's) or swept holds nothing of
// its earlier use. Mutations caught: clearStale clearing nothing, or only
// up to the new count; getBatch(true) or a sweep not clearing.
func TestReleasedBatchIsClearedByItsFlusher(t *testing.T) {
	free := &freeList{ch: make(chan *batch, 4), kick: make(chan struct{}, 1)}
	f := &flusher{free: free, e: &Engine{cfg: defaultConfig()}}
	use := func(b *batch, n int, msg string) {
		for i := range n {
			b.events[i] = core.Event{Message: msg, Mono: int64(i)}
		}
		b.n = n
	}
	held := func(b *batch) (n int) {
		for i := range b.events {
			if b.events[i].Message != "" {
				n++
			}
		}
		return n
	}

	b := newBatch(0, 8, 0, free, nil)
	use(b, 5, "first")
	b.refs.Store(1)
	b.release()
	require.Equal(t, 5, held(b), "the release leaves the events for the flusher")

	b = f.getBatch(false)
	use(b, 2, "second") // what a drain does: whole events overwritten
	b.clearStale()
	require.Equal(t, 2, held(b), "the tail of the first use is cleared before the push")
	require.Equal(t, "second", b.events[1].Message)
	b.refs.Store(1)
	b.release()

	b = f.getBatch(true)
	require.Zero(t, held(b), "a batch taken clean holds nothing")
	use(b, 3, "third")
	b.refs.Store(1)
	b.release()

	f.sweepFree()
	b = <-free.ch
	require.Zero(t, held(b), "a swept batch holds nothing")
	require.Zero(t, b.stale)
}
