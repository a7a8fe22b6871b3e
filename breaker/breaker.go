package breaker

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// Config sets a breaker's thresholds and timing. A zero field takes its
// default; a negative or out-of-range one makes New fail.
type Config struct {
	// FailureThreshold is the number of consecutive failures that trips a
	// closed breaker open. Default 5. It applies with or without
	// FailureRate; whichever is reached first trips.
	FailureThreshold int

	// FailureRate, when above 0, also trips the breaker when failures make
	// up at least this fraction of the last WindowSize calls, once the
	// window holds MinCalls calls of the current closed period. The rate is
	// checked when a failure is recorded; a success never opens the
	// breaker. The window costs a shared write per call (see the package
	// documentation), so it is off by default.
	FailureRate float64
	// WindowSize is the number of recent calls the rate is taken over.
	// Default 100 when FailureRate is set; at most MaxWindowSize.
	WindowSize int
	// MinCalls is the number of calls the window must hold before the rate
	// can trip. Default 20 (or WindowSize if smaller) when FailureRate is
	// set; at most WindowSize.
	MinCalls int

	// SlowCall, when above 0, makes a success that took longer than this
	// count as a failure. The breaker never reads the clock for it: the
	// caller passes the duration to Done.
	SlowCall time.Duration

	// ResetTimeout is how long the breaker stays open after it trips before
	// it admits a probe. Default 1s. Deadlines have millisecond resolution
	// and are rounded up: an open period never ends early.
	ResetTimeout time.Duration
	// BackoffFactor, when above 1, multiplies the open interval each time a
	// probe fails and the breaker reopens, up to MaxResetTimeout; closing
	// returns it to ResetTimeout. Default 1 (no growth).
	BackoffFactor float64
	// MaxResetTimeout caps the open interval. Default 60 × ResetTimeout
	// when BackoffFactor is above 1; ignored otherwise.
	MaxResetTimeout time.Duration

	// HalfOpenProbes is the number of calls a half-open breaker admits; it
	// closes when all of them succeed and opens again when one fails.
	// Default 1; at most MaxHalfOpenProbes.
	HalfOpenProbes int

	// OnStateChange, if set, is called after each change of state, one call
	// at a time and in the order the changes happened (see the package
	// documentation for the guarantee and its one exception). It runs on
	// the goroutine whose call made the change or on one that made a later
	// change, after the change, and may call any method of the breaker.
	OnStateChange func(from, to State)

	// Clock tells the time for open intervals. Default time.Now; tests pass
	// a fake one. It is read once by New, then only when a breaker trips,
	// when a probe fails and while the breaker is open: never in the closed
	// state.
	Clock func() time.Time
}

// MaxWindowSize bounds WindowSize: a failure in the closed state scans the
// whole window to take the rate.
const MaxWindowSize = 4096

// cacheLine is the distance kept between words that different parties
// write. 128 bytes rather than 64, as in package ring: the spatial
// prefetcher fetches lines in adjacent pairs.
const cacheLine = 128

// Breaker is a circuit breaker. All its methods are safe for concurrent
// use. It must not be copied after first use; New returns a pointer.
type Breaker struct {
	// Set by New, read-only after.
	threshold    uint32
	rate         float64
	minCalls     int
	slowCall     time.Duration
	resetTimeout time.Duration
	maxTimeout   time.Duration
	factor       float64
	probes       int
	clock        func() time.Time
	epoch        time.Time       // the clock at New; deadlines count from it
	window       []atomic.Uint64 // nil when FailureRate is 0; see window.go
	notify       *notifier       // nil without OnStateChange

	// word is loaded by every Allow. It is written only by transitions and
	// by half-open probes, so in the closed state it stays in every
	// processor's cache.
	word atomic.Uint64
	_    [cacheLine]byte

	// fails is the run of consecutive failures in the closed state, packed
	// with the generation it belongs to (generation<<32 | count), so that a
	// stale failure or success cannot touch a later generation's run. It is
	// written only by failures, and by the success that ends a run.
	fails atomic.Uint64
	_     [cacheLine]byte

	// cursor numbers the calls the window records: written by every closed
	// Done when the window is on.
	cursor atomic.Uint64
	_      [cacheLine]byte

	rejected    atomic.Uint64 // written by every refused Allow
	deadline    atomic.Int64  // when the open period ends; see open.go
	transitions [numStates]atomic.Uint64
}

// Ticket is what Allow hands out for one admitted call. Pass it to Done
// once, when the call is over. It records the generation the call was
// admitted under, so Done can tell a result that arrives after a
// transition and ignore it. The zero Ticket is always ignored.
type Ticket struct{ w uint64 }

// Counts is a snapshot for metrics. Each field is read atomically; the set
// is not read at one instant.
type Counts struct {
	State      State  `json:"state"`
	Generation uint32 `json:"generation"`
	// ConsecutiveFailures is the current run of failures while closed.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// WindowCalls and WindowFailures are what the failure-rate window holds
	// for the current closed period (0 when the window is off).
	WindowCalls    int `json:"window_calls"`
	WindowFailures int `json:"window_failures"`
	// Probes were handed out in the current half-open period, and
	// ProbesPassed of them succeeded.
	Probes       int `json:"probes"`
	ProbesPassed int `json:"probes_passed"`
	// OpenInterval is how long the current open period lasts, or the next
	// one would if the breaker tripped now from where it stands.
	OpenInterval time.Duration `json:"open_interval_ns"`
	// Transitions counts changes of state by the state entered, indexed by
	// State. A Reset of a closed breaker starts a new generation but is not
	// a transition.
	Transitions [numStates]uint64 `json:"transitions"`
	// Rejected counts the calls Allow refused.
	Rejected uint64 `json:"rejected"`
	// CallbacksDropped counts state changes OnStateChange never saw (see
	// the package documentation).
	CallbacksDropped uint64 `json:"callbacks_dropped"`
}

// New returns a closed breaker. It fails, naming the field, when a field of
// cfg is out of range.
func New(cfg Config) (*Breaker, error) {
	c, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	b := &Breaker{
		threshold:    uint32(c.FailureThreshold),
		rate:         c.FailureRate,
		minCalls:     c.MinCalls,
		slowCall:     c.SlowCall,
		resetTimeout: c.ResetTimeout,
		maxTimeout:   c.MaxResetTimeout,
		factor:       c.BackoffFactor,
		probes:       c.HalfOpenProbes,
		clock:        c.Clock,
	}
	b.epoch = b.clock()
	if c.FailureRate > 0 {
		b.window = make([]atomic.Uint64, c.WindowSize)
	}
	const firstGen = 1
	if c.OnStateChange != nil {
		b.notify = newNotifier(c.OnStateChange, nextGen(firstGen))
	}
	b.word.Store(makeWord(Closed, firstGen, 0))
	return b, nil
}

func withDefaults(c Config) (Config, error) {
	bad := func(field, want string, got any) (Config, error) {
		return Config{}, fmt.Errorf("breaker: %s must be %s, got %v", field, want, got)
	}
	switch {
	case c.FailureThreshold < 0 || int64(c.FailureThreshold) > math.MaxUint32:
		return bad("FailureThreshold", "> 0 and <= 4294967295", c.FailureThreshold)
	case math.IsNaN(c.FailureRate) || c.FailureRate < 0 || c.FailureRate > 1:
		return bad("FailureRate", "in [0, 1]", c.FailureRate)
	case c.WindowSize < 0 || c.WindowSize > MaxWindowSize:
		return bad("WindowSize", fmt.Sprintf("in [1, %d]", MaxWindowSize), c.WindowSize)
	case c.MinCalls < 0:
		return bad("MinCalls", ">= 1", c.MinCalls)
	case c.SlowCall < 0:
		return bad("SlowCall", ">= 0", c.SlowCall)
	case c.ResetTimeout < 0:
		return bad("ResetTimeout", "> 0", c.ResetTimeout)
	case math.IsNaN(c.BackoffFactor) || math.IsInf(c.BackoffFactor, 0) || c.BackoffFactor < 0 ||
		(c.BackoffFactor > 0 && c.BackoffFactor < 1):
		return bad("BackoffFactor", ">= 1 and finite", c.BackoffFactor)
	case c.MaxResetTimeout < 0:
		return bad("MaxResetTimeout", "> 0", c.MaxResetTimeout)
	case c.HalfOpenProbes < 0 || c.HalfOpenProbes > MaxHalfOpenProbes:
		return bad("HalfOpenProbes", fmt.Sprintf("in [1, %d]", MaxHalfOpenProbes), c.HalfOpenProbes)
	}
	if c.FailureThreshold == 0 {
		c.FailureThreshold = 5
	}
	if c.FailureRate > 0 {
		if c.WindowSize == 0 {
			c.WindowSize = 100
		}
		if c.MinCalls == 0 {
			c.MinCalls = min(20, c.WindowSize)
		}
		if c.MinCalls > c.WindowSize {
			return bad("MinCalls", fmt.Sprintf("<= WindowSize (%d)", c.WindowSize), c.MinCalls)
		}
	}
	if c.ResetTimeout == 0 {
		c.ResetTimeout = time.Second
	}
	if c.BackoffFactor == 0 {
		c.BackoffFactor = 1
	}
	switch {
	case c.BackoffFactor == 1:
		c.MaxResetTimeout = c.ResetTimeout
	case c.MaxResetTimeout == 0:
		c.MaxResetTimeout = 60 * c.ResetTimeout
	case c.MaxResetTimeout < c.ResetTimeout:
		return bad("MaxResetTimeout", fmt.Sprintf(">= ResetTimeout (%v)", c.ResetTimeout), c.MaxResetTimeout)
	}
	if c.HalfOpenProbes == 0 {
		c.HalfOpenProbes = 1
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c, nil
}

// Allow asks to make one call. It reports false, and counts a rejection,
// when the breaker is open or forced open, or half-open with every probe
// handed out. Otherwise the call may go ahead, and its Ticket must be
// passed to Done when it is over: a half-open breaker waits for the
// outcomes of all its probes.
//
// Closed and disabled, Allow is one atomic load.
func (b *Breaker) Allow() (Ticket, bool) {
	if w := b.word.Load(); stateOf(w) == Closed || stateOf(w) == Disabled {
		return Ticket{w}, true
	}
	return b.allowSlow()
}

func (b *Breaker) allowSlow() (Ticket, bool) {
	w := b.word.Load()
	for {
		var next uint64
		switch stateOf(w) {
		case Closed, Disabled:
			return Ticket{w}, true
		case Open:
			if !b.openPeriodOver(w) {
				return b.reject()
			}
			// The first caller past the deadline moves the breaker to
			// half-open and takes the first probe in the same swap.
			next = makeWord(HalfOpen, nextGen(genOf(w)), levelOf(w)) + 1<<claimedShift
		case HalfOpen:
			if claimedOf(w) >= b.probes {
				return b.reject()
			}
			next = w + 1<<claimedShift
		default: // ForcedOpen
			return b.reject()
		}
		if b.word.CompareAndSwap(w, next) {
			if stateOf(w) == Open {
				b.retireDeadline(genOf(w))
				b.moved(w, next)
			}
			return Ticket{next}, true
		}
		w = b.word.Load()
	}
}

func (b *Breaker) reject() (Ticket, bool) {
	b.rejected.Add(1)
	return Ticket{}, false
}

// Done reports the outcome of a call that Allow admitted: err nil is a
// success (unless SlowCall is set and took exceeds it), anything else a
// failure. A call whose outcome says nothing about the dependency's
// health (it was never attempted) is given back with Release instead.
// took is read only when SlowCall is set.
//
// A result from a generation that has ended, because the breaker changed
// state since Allow admitted the call, is ignored, as is the zero Ticket.
//
// Closed, a success is one atomic load, with a write only when it ends a
// run of failures.
func (b *Breaker) Done(t Ticket, err error, took time.Duration) {
	failed := err != nil || (b.slowCall > 0 && took > b.slowCall)
	if stateOf(t.w) != Closed || failed || b.window != nil {
		b.doneSlow(t.w, failed)
		return
	}
	if f := b.fails.Load(); uint32(f) != 0 {
		b.endRun(genOf(t.w))
	}
}

func (b *Breaker) doneSlow(tw uint64, failed bool) {
	switch stateOf(tw) {
	case Closed:
		if b.window != nil && !b.record(tw, failed) {
			return // stale
		}
		if failed {
			b.closedFailure(tw)
		} else if f := b.fails.Load(); uint32(f) != 0 {
			b.endRun(genOf(tw))
		}
	case HalfOpen:
		b.probeDone(tw, failed)
	}
	// Disabled: nothing trips. Open and ForcedOpen hand out no tickets.
}

// Release gives back a ticket whose call says nothing about the
// dependency's health, such as one that was never attempted: once,
// instead of Done, not as well. Closed, nothing changes: the run of failures goes on
// and the window records nothing. Half-open, the probe is handed back, so
// that another call may take it; the period still waits for as many
// outcomes as it has probes. A ticket of a generation that has ended, and
// the zero Ticket, are ignored.
func (b *Breaker) Release(t Ticket) {
	if stateOf(t.w) != HalfOpen {
		return
	}
	for {
		w := b.word.Load()
		if genOf(w) != genOf(t.w) || stateOf(w) != HalfOpen || claimedOf(w) <= passedOf(w) {
			return // the period is over, or nothing is out to give back
		}
		if b.word.CompareAndSwap(w, w-1<<claimedShift) {
			return
		}
	}
}

// endRun sets the run of failures of generation g back to zero. A failure
// that lands first is simply ordered before this success.
func (b *Breaker) endRun(g uint32) {
	for {
		f := b.fails.Load()
		if uint32(f) == 0 || uint32(f>>32) != g {
			return
		}
		if b.fails.CompareAndSwap(f, uint64(g)<<32) {
			return
		}
	}
}

// closedFailure adds a failure of the closed generation in tw to the run
// and trips the breaker if the run or the window says so.
func (b *Breaker) closedFailure(tw uint64) {
	g := genOf(tw)
	var run uint32
	for {
		f := b.fails.Load()
		next := uint64(g)<<32 | 1 // first failure of this generation
		switch tag := uint32(f >> 32); {
		case tag == g:
			next = f + 1
		case genBefore(g, tag):
			return // a later generation's run: this result is stale
		}
		if b.fails.CompareAndSwap(f, next) {
			run = uint32(next)
			break
		}
	}
	if run >= b.threshold || b.rateReached(g) {
		b.trip(tw)
	}
}

// trip moves the closed generation in tw to Open. The swap fails, and the
// call does nothing, if the generation has already ended.
func (b *Breaker) trip(tw uint64) {
	now := b.sinceEpoch() // before the swap: the open period counts from the trip
	next := makeWord(Open, nextGen(genOf(tw)), 0)
	if !b.word.CompareAndSwap(tw, next) {
		return
	}
	hookTripAfterCAS()
	b.publishDeadline(genOf(next), now, b.interval(0))
	b.moved(tw, next)
}

// probeDone records the outcome of a half-open probe of the generation in
// tw: one more success (closing when all have succeeded), or a failure,
// which reopens with a longer interval. Either is one swap of the word,
// which also holds the probe counts, so a result can neither be lost to a
// concurrent one nor land in a later generation.
func (b *Breaker) probeDone(tw uint64, failed bool) {
	g := genOf(tw)
	var now time.Duration
	if failed {
		now = b.sinceEpoch()
	}
	for {
		w := b.word.Load()
		if genOf(w) != g || stateOf(w) != HalfOpen {
			return // the period this probe belonged to is over
		}
		hookProbeBeforeCAS()
		var next uint64
		switch {
		case failed:
			next = makeWord(Open, nextGen(g), b.nextLevel(levelOf(w)))
		case passedOf(w)+1 >= b.probes:
			next = makeWord(Closed, nextGen(g), 0)
		default:
			next = w + 1<<passedShift
		}
		if !b.word.CompareAndSwap(w, next) {
			continue
		}
		if failed {
			b.publishDeadline(genOf(next), now, b.interval(levelOf(next)))
		}
		if stateOf(next) != HalfOpen {
			b.moved(w, next)
		}
		return
	}
}

// ForceOpen makes the breaker refuse every call until Reset or Disable.
func (b *Breaker) ForceOpen() { b.force(ForcedOpen) }

// Disable makes the breaker admit every call and never trip, until Reset
// or ForceOpen.
func (b *Breaker) Disable() { b.force(Disabled) }

// Reset closes the breaker with a new generation: the run of failures and
// the window start empty, the open interval returns to ResetTimeout, and
// the results of calls admitted before are ignored.
func (b *Breaker) Reset() { b.force(Closed) }

func (b *Breaker) force(s State) {
	for {
		w := b.word.Load()
		if stateOf(w) == s && s != Closed {
			return
		}
		next := makeWord(s, nextGen(genOf(w)), 0)
		if b.word.CompareAndSwap(w, next) {
			if stateOf(w) == Open {
				b.retireDeadline(genOf(w))
			}
			b.moved(w, next)
			return
		}
	}
}

// moved does what follows every swap that starts a generation: count the
// transition and queue it for OnStateChange.
func (b *Breaker) moved(from, to uint64) {
	if stateOf(from) != stateOf(to) {
		b.transitions[stateOf(to)].Add(1)
	}
	if b.notify != nil {
		b.notify.push(genOf(to), stateOf(from), stateOf(to))
	}
}

// State returns the breaker's state. An open breaker whose interval has
// passed reads Open until a call to Allow moves it on.
func (b *Breaker) State() State { return stateOf(b.word.Load()) }

// Counts reads the breaker's figures.
func (b *Breaker) Counts() Counts {
	w := b.word.Load()
	g := genOf(w)
	c := Counts{
		State:        stateOf(w),
		Generation:   g,
		Probes:       claimedOf(w),
		ProbesPassed: passedOf(w),
		OpenInterval: b.interval(levelOf(w)),
		Rejected:     b.rejected.Load(),
	}
	if stateOf(w) == HalfOpen {
		c.OpenInterval = b.interval(b.nextLevel(levelOf(w)))
	}
	if f := b.fails.Load(); uint32(f>>32) == g {
		c.ConsecutiveFailures = int(uint32(f))
	}
	if b.window != nil {
		c.WindowCalls, c.WindowFailures = b.windowCounts(g)
	}
	for i := range b.transitions {
		c.Transitions[i] = b.transitions[i].Load()
	}
	if b.notify != nil {
		c.CallbacksDropped = b.notify.dropped.Load()
	}
	return c
}
