package breaker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Release gives a ticket back without an outcome. Closed, the run of
// failures neither grows nor ends. Half-open, the probe goes back, so
// the next Allow gets it and its outcome decides; a ticket of a period
// that has ended is ignored. Mutations caught: Release as a success (the
// run ends, the probe closes the breaker) and Release not giving the
// probe back (the next Allow is refused).
func TestReleaseIsNoOutcome(t *testing.T) {
	b, clk := newTest(t, Config{FailureThreshold: 2, ResetTimeout: time.Second})
	tk, _ := b.Allow()
	b.Done(tk, errSink, 0)
	tk, _ = b.Allow()
	b.Release(tk)
	require.Equal(t, 1, b.Counts().ConsecutiveFailures, "the run goes on")
	tk, _ = b.Allow()
	b.Done(tk, errSink, 0)
	require.Equal(t, Open, b.State(), "two failures, with a released call between them")

	clk.advance(2 * time.Second)
	probe, ok := b.Allow()
	require.True(t, ok)
	require.Equal(t, HalfOpen, b.State())
	_, ok = b.Allow()
	require.False(t, ok, "one probe at a time")
	b.Release(probe)
	require.Equal(t, HalfOpen, b.State(), "no outcome: still half-open")
	again, ok := b.Allow()
	require.True(t, ok, "the probe was handed back")
	_, ok = b.Allow()
	require.False(t, ok, "and taken again: one probe at a time")
	b.Done(again, nil, 0)
	require.Equal(t, Closed, b.State())
	b.Release(again) // a ticket of a period that has ended: ignored
	require.Equal(t, Closed, b.State())
}
