package breaker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The open deadline carries the low 16 bits of its generation. A period
// opened exactly 65536 generations after an earlier one (Resets of a
// closed breaker in between) must not take the old period's deadline,
// long past, for its own. Mutation caught: leaving the deadline in place
// when the breaker leaves Open (retireDeadline): the new period ended at
// the first Allow.
func TestOpenPeriodNotEndedByADeadline65536GenerationsOld(t *testing.T) {
	b, clk := newTest(t, Config{FailureThreshold: 1, ResetTimeout: time.Second})
	tk, ok := b.Allow()
	require.True(t, ok)
	b.Done(tk, errSink, 0) // gen 2: open, deadline tagged 2
	require.Equal(t, Open, b.State())
	clk.advance(time.Hour)
	// Reset until the breaker is closed at generation 1<<16 + 1, so that the
	// next trip opens generation 1<<16 + 2, whose low 16 bits are 2.
	for b.Counts().Generation != 1<<16+1 {
		b.Reset()
	}
	tk, ok = b.Allow()
	require.True(t, ok)
	b.Done(tk, errSink, 0) // trips: open again, for a full second from now
	require.Equal(t, Open, b.State())
	_, ok = b.Allow()
	require.False(t, ok, "a breaker that has just tripped must refuse calls for ResetTimeout; it admitted a probe at once")
}
