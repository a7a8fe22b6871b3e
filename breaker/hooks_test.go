//go:build shardlog_hooks

package breaker

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// holdOnce makes the first party to reach a hook wait there until resumed;
// later parties pass through.
func holdOnce(hook *func()) (inside <-chan struct{}, resume func()) {
	in, out := make(chan struct{}), make(chan struct{})
	var held atomic.Bool
	*hook = func() {
		if held.CompareAndSwap(false, true) {
			close(in)
			<-out
		}
	}
	return in, func() { close(out) }
}

// TestLateProbeSuccessIsIgnoredAfterReopen holds a probe's success inside
// Done, after it found its half-open generation current and before it
// swaps, while the other probe fails, the breaker reopens, and a new
// half-open period admits a probe. The held success must count for
// nothing. Mutations caught: rechecking only the state, not the
// generation, after the failed swap (the old success then counts as a
// probe of the new period, which closes after one real probe of two); and
// writing the word with a store instead of a swap (the breaker returns to
// the old half-open period).
func TestLateProbeSuccessIsIgnoredAfterReopen(t *testing.T) {
	b, clk := newTest(t, Config{FailureThreshold: 1, HalfOpenProbes: 2})
	run(t, b, clk, []string{"fail open", "wait=1s open"})
	a, b2 := tick(t, b), tick(t, b)
	opened := b.Counts().Generation

	inside, resume := holdOnce(&TestHooks.ProbeBeforeCAS)
	defer func() { TestHooks.ProbeBeforeCAS = nil }()
	done := make(chan struct{})
	go func() { defer close(done); b.Done(a, nil, 0) }()
	<-inside
	b.Done(b2, errSink, 0) // reopens
	require.Equal(t, Open, b.State())
	clk.advance(time.Second)
	c := tick(t, b) // a new half-open period's first probe
	resume()
	<-done

	counts := b.Counts()
	require.Equal(t, HalfOpen, counts.State)
	require.Equal(t, opened+2, counts.Generation)
	require.Equal(t, 1, counts.Probes)
	require.Zero(t, counts.ProbesPassed, "the late success counted in a later period")
	b.Done(c, nil, 0)
	require.Equal(t, HalfOpen, b.State(), "one of two probes passed")
	b.Done(tick(t, b), nil, 0)
	require.Equal(t, Closed, b.State())
}

// TestRacingProbeSuccessesAreBothCounted holds one probe's success between
// its load of the word and its swap while the other probe's success lands.
// Both must count, and the breaker closes. Mutation caught: recording a
// success with a load and a store instead of a swap (the held one writes
// back one success, the other is lost, and the breaker stays half-open
// with no probe left to hand out, refusing every call).
func TestRacingProbeSuccessesAreBothCounted(t *testing.T) {
	b, clk := newTest(t, Config{FailureThreshold: 1, HalfOpenProbes: 2})
	run(t, b, clk, []string{"fail open", "wait=1s open"})
	a, b2 := tick(t, b), tick(t, b)

	inside, resume := holdOnce(&TestHooks.ProbeBeforeCAS)
	defer func() { TestHooks.ProbeBeforeCAS = nil }()
	done := make(chan struct{})
	go func() { defer close(done); b.Done(a, nil, 0) }()
	<-inside
	b.Done(b2, nil, 0)
	resume()
	<-done
	require.Equal(t, Closed, b.State())
}

// TestOpenPeriodIsNotCutShortByAnUnpublishedDeadline holds a tripper
// between its swap to Open and the publication of the period's deadline,
// while the deadline word still holds an earlier period's, long past. A
// caller in that gap must be refused, and the breaker must not depend on
// the stalled tripper to reopen later. Mutation caught: reading the
// deadline without its generation tag (a bare deadline stored after the
// swap), which ends the new period at once and admits a probe the moment
// the breaker trips.
func TestOpenPeriodIsNotCutShortByAnUnpublishedDeadline(t *testing.T) {
	b, clk := newTest(t, Config{FailureThreshold: 1})
	run(t, b, clk, []string{"fail open", "wait=1s open", "pass closed", "wait=10s closed"})

	inside, resume := holdOnce(&TestHooks.TripAfterCAS)
	defer func() { TestHooks.TripAfterCAS = nil }()
	done := make(chan struct{})
	tk := tick(t, b)
	go func() { defer close(done); b.Done(tk, errSink, 0) }()
	<-inside
	require.Equal(t, Open, b.State())
	_, ok := b.Allow()
	require.False(t, ok, "admitted on the last period's deadline")

	// The refused caller published a deadline from its own reading, so the
	// period ends on time even though the tripper is still stalled.
	clk.advance(999 * time.Millisecond)
	_, ok = b.Allow()
	require.False(t, ok)
	clk.advance(time.Millisecond)
	probe := tick(t, b)
	require.Equal(t, HalfOpen, b.State())

	resume()
	<-done
	b.Done(probe, nil, 0)
	require.Equal(t, Closed, b.State())
}

// TestChangeQueuedWhileTheDelivererLetsGoIsDelivered holds the goroutine
// delivering OnStateChange calls after it found the queue empty and before
// it lets go of the busy flag, while another goroutine makes a change: that
// one finds the flag taken, queues its change and returns. The change must
// still be delivered before the deliverer returns. Mutation caught: letting
// go without looking at the queue once more (the change then waits for
// the next transition, which may never come).
func TestChangeQueuedWhileTheDelivererLetsGoIsDelivered(t *testing.T) {
	type change struct{ from, to State }
	var got []change
	b, _ := newTest(t, Config{FailureThreshold: 1, OnStateChange: func(from, to State) {
		got = append(got, change{from, to})
	}})
	inside, resume := holdOnce(&TestHooks.NotifyBeforeRelease)
	defer func() { TestHooks.NotifyBeforeRelease = nil }()
	done := make(chan struct{})
	tk := tick(t, b)
	go func() { defer close(done); b.Done(tk, errSink, 0) }() // trips, delivers, holds
	<-inside
	b.ForceOpen() // only queues: the deliverer holds the flag
	resume()
	<-done
	require.Equal(t, []change{{Closed, Open}, {Open, ForcedOpen}}, got)
}
