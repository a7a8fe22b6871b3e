package breaker

import (
	"fmt"
	"strconv"
)

// State is where a breaker stands.
type State uint8

const (
	// Closed admits every call and counts failures.
	Closed State = iota
	// Open refuses calls until its interval has passed.
	Open
	// HalfOpen admits a fixed number of probe calls; their outcomes decide
	// whether the breaker closes or opens again.
	HalfOpen
	// ForcedOpen refuses every call until an operator calls Reset or
	// Disable.
	ForcedOpen
	// Disabled admits every call and never trips, until an operator calls
	// Reset or ForceOpen.
	Disabled
)

// numStates sizes the per-state counters; Counts.Transitions is indexed by
// State.
const numStates = int(Disabled) + 1

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	case ForcedOpen:
		return "forced-open"
	case Disabled:
		return "disabled"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText writes the state's name, so that JSON metrics read "open"
// rather than 1.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a name written by MarshalText, so that metrics
// round-trip through JSON.
func (s *State) UnmarshalText(text []byte) error {
	for st := Closed; int(st) < numStates; st++ {
		if st.String() == string(text) {
			*s = st
			return nil
		}
	}
	return fmt.Errorf("breaker: unknown state %q", text)
}

// The state word. Every transition is one compare-and-swap of it, and all
// that a transition decides on and that changes within a generation is in
// it, so no transition acts on a half-updated view:
//
//	bits  0-7   state
//	bits  8-15  level: reopens in a row, which picks the open interval
//	bits 16-23  probes handed out in this half-open period
//	bits 24-31  probes of this period that succeeded
//	bits 32-63  generation: one more on every transition, never 0
//
// In the closed state only the state and the generation are set, so the
// word of a closed generation never changes: a Ticket holding it is current
// exactly when it equals the word.
const (
	levelShift   = 8
	claimedShift = 16
	passedShift  = 24
	genShift     = 32

	maxLevel = 255
	// MaxHalfOpenProbes is the most probes a half-open period can admit:
	// the count has 8 bits of the state word.
	MaxHalfOpenProbes = 255
)

func makeWord(s State, gen uint32, level int) uint64 {
	return uint64(gen)<<genShift | uint64(level)<<levelShift | uint64(s)
}

func stateOf(w uint64) State { return State(w) }
func levelOf(w uint64) int   { return int(uint8(w >> levelShift)) }
func claimedOf(w uint64) int { return int(uint8(w >> claimedShift)) }
func passedOf(w uint64) int  { return int(uint8(w >> passedShift)) }
func genOf(w uint64) uint32  { return uint32(w >> genShift) }

// nextGen skips 0 when the generation wraps, so that the zero Ticket, and
// the zero slots of the window and of the callback queue, never look
// current.
func nextGen(g uint32) uint32 {
	if g++; g == 0 {
		g = 1
	}
	return g
}

// genBefore reports whether generation a came before b, allowing for
// wrap-around: right while the two are less than 2^31 transitions apart.
func genBefore(a, b uint32) bool { return int32(a-b) < 0 }
