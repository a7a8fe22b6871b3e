// Package breaker is a circuit breaker whose state lives in atomic words,
// so that a call made while all is well costs a load or two and no shared
// write. It imports nothing of the project; the engine keeps one breaker
// per sink and asks it before each write.
//
// The states are those of Nygard's circuit breaker ("Release It!"), which
// sony/gobreaker and resilience4j implement behind a lock; here every
// transition is one compare-and-swap. Closed admits calls and counts
// failures: a run of FailureThreshold of them, or (optionally) a failure
// rate over a window of recent calls, trips it to Open. Open refuses calls
// until its interval has passed; the first call after that moves it to
// HalfOpen and is its first probe. HalfOpen admits HalfOpenProbes calls:
// if all succeed it closes; if one fails it opens again, for an interval
// grown by BackoffFactor. Operators can force it open or disable it.
//
// # The state word
//
// One uint64 holds the state, the generation and everything else a
// transition decides on that changes within a generation:
//
//	bits  0-7   state
//	bits  8-15  level: reopens in a row, which picks the open interval
//	bits 16-23  probes handed out in this half-open period
//	bits 24-31  probes of this period that succeeded
//	bits 32-63  generation
//
// Keeping the probe counts in the word means claiming a probe, recording
// its success and closing or reopening are each one swap, so no result
// can be lost to a concurrent one or applied to a period it does not
// belong to.
//
// # Generations
//
// Every transition starts a new generation (0 is never used, so the zero
// Ticket never matches). Allow stamps its Ticket with the word it saw, and
// Done acts only while that generation is current: a result from before a
// transition is ignored. A slow call admitted while closed cannot trip a
// breaker that has since been reset; a late probe cannot close a breaker
// that another probe has reopened. The words outside the state word carry
// the generation they belong to for the same reason: the run of failures,
// each slot of the failure-rate window, and the open deadline (open.go),
// so a writer that stalls across a transition cannot corrupt a later
// generation's figures. Generations are 32 bits: a Ticket held across 2^32
// transitions would be taken for current.
//
// # Cost
//
// Closed with the window off: Allow is one load of the state word; Done
// with a success is one load of the run of failures, and a write only when
// it ends a run. Neither reads the clock (SlowCall uses the duration the
// caller passes). The failure-rate window adds one atomic add per call on
// a shared cursor, plus the loads and occasional store described in
// window.go, and a failure scans it; it is off by default. Open, each
// refused call reads the clock and adds to a counter.
//
// # OnStateChange
//
// The callback runs after the swap that made the change, with no lock
// held (there are none), one call at a time, and in the order of the
// changes (generation order), through a small queue (notify.go). It runs
// on the goroutine that made the change or, if another is delivering at
// that moment, on that one, after the callback it is in returns; a
// transition never waits for a callback. It may call any method of the
// breaker, including one that makes a transition. The one exception to
// "every change, in order": the queue holds 64 changes, and a change that
// falls 64 behind the newest before it is delivered (its goroutine stalled
// before queueing it, or a slow callback held delivery up) is skipped and
// counted in Counts.CallbacksDropped; the order of the rest holds. A
// callback that blocks delays later callbacks, never the breaker.
//
// # Tickets
//
// Every Ticket from Allow must be passed to Done, or to Release when the
// call says nothing about the dependency (it was never attempted),
// exactly once. A half-open
// breaker waits for the outcomes of the probes it handed out, so a probe
// that never reports holds it half-open (refusing calls) until an operator
// calls Reset; a Ticket passed twice counts twice.
package breaker
