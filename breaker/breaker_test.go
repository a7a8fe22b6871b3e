package breaker

import (
	"errors"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errSink = errors.New("sink failed")

// fakeClock is a settable clock for Config.Clock.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(1_700_000_000, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func newTest(t *testing.T, cfg Config) (*Breaker, *fakeClock) {
	t.Helper()
	clk := &fakeClock{}
	cfg.Clock = clk.now
	b, err := New(cfg)
	require.NoError(t, err)
	return b, clk
}

// run plays a script against a breaker. Each step is "op state": do op,
// then the breaker must be in state. Ops:
//
//	pass, fail, slow     Allow must admit; Done with success, an error, or
//	                     a success that took 2 × SlowCall
//	refuse               Allow must refuse
//	take                 Allow must admit; the ticket is held for later
//	pass-held, fail-held Done with the oldest held ticket
//	wait=D               advance the clock by D
//	force, disable, reset  the operator controls
//	fails=N, interval=D, probes=N  assert the corresponding Counts field
func run(t *testing.T, b *Breaker, clk *fakeClock, script []string) {
	t.Helper()
	var held []Ticket
	admit := func(step string) Ticket {
		tk, ok := b.Allow()
		require.True(t, ok, "%s: Allow refused", step)
		return tk
	}
	for i, step := range script {
		op, want, _ := strings.Cut(step, " ")
		where := func() string { return strings.Join(script[:i+1], " | ") }
		name, arg, _ := strings.Cut(op, "=")
		switch name {
		case "pass":
			b.Done(admit(where()), nil, 0)
		case "fail":
			b.Done(admit(where()), errSink, 0)
		case "slow":
			b.Done(admit(where()), nil, 2*b.slowCall)
		case "refuse":
			_, ok := b.Allow()
			require.False(t, ok, "%s: Allow admitted", where())
		case "take":
			held = append(held, admit(where()))
		case "pass-held", "fail-held":
			require.NotEmpty(t, held, where())
			var err error
			if name == "fail-held" {
				err = errSink
			}
			b.Done(held[0], err, 0)
			held = held[1:]
		case "wait":
			d, err := time.ParseDuration(arg)
			require.NoError(t, err)
			clk.advance(d)
		case "force":
			b.ForceOpen()
		case "disable":
			b.Disable()
		case "reset":
			b.Reset()
		case "fails", "probes", "interval":
			c := b.Counts()
			switch name {
			case "fails":
				require.Equal(t, arg, strconv.Itoa(c.ConsecutiveFailures), where())
			case "probes":
				require.Equal(t, arg, strconv.Itoa(c.Probes), where())
			case "interval":
				require.Equal(t, arg, c.OpenInterval.String(), where())
			}
		default:
			t.Fatalf("bad step %q", step)
		}
		require.Equal(t, want, b.State().String(), where())
	}
}

func TestTransitions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    Config
		script []string
	}{
		{"consecutive failures trip Closed to Open; a success ends the run",
			Config{FailureThreshold: 3},
			[]string{"fail closed", "fail closed", "fails=2 closed", "pass closed", "fails=0 closed",
				"fail closed", "fail closed", "fail open", "refuse open"}},
		{"the failure rate trips once MinCalls are in the window",
			Config{FailureThreshold: 100, FailureRate: 0.5, WindowSize: 10, MinCalls: 6},
			[]string{"fail closed", "fail closed", "fail closed", "pass closed", "pass closed", // 3/5, under MinCalls
				"pass closed", // 3/6: a success never trips
				"fail open"}}, // 4/7
		{"a window of failures under MinCalls does not trip",
			Config{FailureThreshold: 100, FailureRate: 0.5, WindowSize: 10, MinCalls: 6},
			[]string{"fail closed", "fail closed", "fail closed", "fail closed", "fail closed", "fail open"}},
		{"old failures slide out of the window",
			Config{FailureThreshold: 100, FailureRate: 0.5, WindowSize: 4, MinCalls: 4},
			[]string{"fail closed", "pass closed", "pass closed", "pass closed", // 1/4
				"pass closed", "fail closed", // the first failure left: 1/4
				"fail open"}}, // 2/4
		{"the window starts empty after a Reset",
			Config{FailureThreshold: 100, FailureRate: 0.5, WindowSize: 4, MinCalls: 4},
			[]string{"fail closed", "fail closed", "fail closed", "reset closed",
				"fail closed", "fail closed", "fail closed", "fail open"}},
		{"slow successes count as failures",
			Config{FailureThreshold: 2, SlowCall: 100 * time.Millisecond},
			[]string{"slow closed", "pass closed", "slow closed", "slow open"}},
		{"Open refuses until ResetTimeout has passed, then admits one probe",
			Config{FailureThreshold: 1, ResetTimeout: time.Second},
			[]string{"fail open", "refuse open", "wait=999ms open", "refuse open",
				"wait=1ms open", "take half-open", "probes=1 half-open", "refuse half-open",
				"pass-held closed", "pass closed"}},
		{"HalfOpen admits exactly HalfOpenProbes and closes when all pass",
			Config{FailureThreshold: 1, HalfOpenProbes: 3},
			[]string{"fail open", "wait=1s open", "take half-open", "take half-open", "take half-open",
				"refuse half-open", "pass-held half-open", "pass-held half-open", "pass-held closed"}},
		{"a failed probe reopens with the interval grown and capped; closing restores it",
			Config{FailureThreshold: 1, ResetTimeout: time.Second, BackoffFactor: 2, MaxResetTimeout: 3 * time.Second},
			[]string{"fail open", "interval=1s open", "wait=1s open", "take half-open", "fail-held open",
				"interval=2s open", "wait=1999ms open", "refuse open", "wait=1ms open",
				"take half-open", "fail-held open", "interval=3s open", // 4s, capped
				"wait=2999ms open", "refuse open", "wait=1ms open",
				"take half-open", "fail-held open", "interval=3s open", "wait=3s open",
				"take half-open", "pass-held closed", "interval=1s closed",
				"fail open", "wait=1s open", "pass closed"}},
		{"one failed probe reopens; the other probes' results are ignored",
			Config{FailureThreshold: 1, HalfOpenProbes: 2},
			[]string{"fail open", "wait=1s open", "take half-open", "take half-open",
				"fail-held open", "pass-held open", "refuse open"}},
		{"ForcedOpen refuses everything until Reset",
			Config{FailureThreshold: 1},
			[]string{"force forced-open", "refuse forced-open", "wait=1h forced-open", "refuse forced-open",
				"force forced-open", "reset closed", "pass closed", "fail open", "force forced-open",
				"wait=1h forced-open", "refuse forced-open", "reset closed"}},
		{"Disabled admits everything and never trips",
			Config{FailureThreshold: 1, SlowCall: time.Millisecond},
			[]string{"disable disabled", "fail disabled", "fail disabled", "slow disabled", "pass disabled",
				"reset closed", "fail open", "disable disabled", "pass disabled"}},
		{"a stale closed result is ignored",
			Config{FailureThreshold: 2},
			[]string{"take closed", "take closed", "fail closed", "fail open", "reset closed",
				"fail-held closed", "fails=0 closed", // from before the reset
				"fail closed", "fails=1 closed", "pass-held closed", "fails=1 closed", "fail open"}},
		{"a stale probe result is ignored",
			Config{FailureThreshold: 1},
			[]string{"fail open", "wait=1s open", "take half-open", "force forced-open", "reset closed",
				"pass-held closed", "fail open", "wait=1s open", "take half-open", "reset closed",
				"fail-held closed", "probes=0 closed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, clk := newTest(t, tc.cfg)
			run(t, b, clk, tc.script)
		})
	}
}

func TestZeroTicketIsIgnored(t *testing.T) {
	b, _ := newTest(t, Config{FailureThreshold: 1})
	b.Done(Ticket{}, errSink, 0)
	require.Equal(t, Closed, b.State())
	require.Zero(t, b.Counts().ConsecutiveFailures)
}

func TestCountsAfterAKnownSequence(t *testing.T) {
	b, clk := newTest(t, Config{FailureThreshold: 2, FailureRate: 0.9, WindowSize: 8, MinCalls: 8})
	run(t, b, clk, []string{"pass closed", "fail closed"})
	c := b.Counts()
	require.Equal(t, Counts{State: Closed, Generation: 1, ConsecutiveFailures: 1,
		WindowCalls: 2, WindowFailures: 1, OpenInterval: time.Second}, c)

	run(t, b, clk, []string{"fail open", "refuse open", "refuse open", "wait=1s open", "take half-open"})
	c = b.Counts()
	require.Equal(t, HalfOpen, c.State)
	require.Equal(t, uint32(3), c.Generation)
	require.Equal(t, 1, c.Probes)
	require.Zero(t, c.WindowCalls, "the window counts the current closed period only")
	require.Equal(t, uint64(2), c.Rejected)
	var want [numStates]uint64
	want[Open], want[HalfOpen] = 1, 1
	require.Equal(t, want, c.Transitions)
}

func TestNewRefusesBadConfigNamingTheField(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{FailureThreshold: -1}, "breaker: FailureThreshold must be > 0"},
		{Config{FailureRate: 1.5}, "breaker: FailureRate must be in [0, 1], got 1.5"},
		{Config{FailureRate: math.NaN()}, "breaker: FailureRate must be in [0, 1]"},
		{Config{FailureRate: 0.5, WindowSize: MaxWindowSize + 1}, "breaker: WindowSize must be in [1, 4096], got 4097"},
		{Config{FailureRate: 0.5, WindowSize: 10, MinCalls: 11}, "breaker: MinCalls must be <= WindowSize (10), got 11"},
		{Config{MinCalls: -1}, "breaker: MinCalls"},
		{Config{SlowCall: -time.Second}, "breaker: SlowCall must be >= 0, got -1s"},
		{Config{ResetTimeout: -time.Second}, "breaker: ResetTimeout must be > 0, got -1s"},
		{Config{BackoffFactor: 0.5}, "breaker: BackoffFactor must be >= 1"},
		{Config{BackoffFactor: math.Inf(1)}, "breaker: BackoffFactor"},
		{Config{BackoffFactor: 2, ResetTimeout: time.Second, MaxResetTimeout: time.Millisecond},
			"breaker: MaxResetTimeout must be >= ResetTimeout (1s), got 1ms"},
		{Config{MaxResetTimeout: -1}, "breaker: MaxResetTimeout"},
		{Config{HalfOpenProbes: 256}, "breaker: HalfOpenProbes must be in [1, 255], got 256"},
	} {
		_, err := New(tc.cfg)
		require.ErrorContains(t, err, tc.want)
	}
}

func TestNewDefaults(t *testing.T) {
	b, err := New(Config{})
	require.NoError(t, err)
	require.Equal(t, uint32(5), b.threshold)
	require.Equal(t, time.Second, b.resetTimeout)
	require.Equal(t, time.Second, b.maxTimeout, "no growth without a factor")
	require.Equal(t, 1, b.probes)
	require.Nil(t, b.window, "the window is off by default")

	b, err = New(Config{FailureRate: 0.5, BackoffFactor: 2})
	require.NoError(t, err)
	require.Len(t, b.window, 100)
	require.Equal(t, 20, b.minCalls)
	require.Equal(t, time.Minute, b.maxTimeout)

	b, err = New(Config{FailureRate: 0.5, WindowSize: 8})
	require.NoError(t, err)
	require.Equal(t, 8, b.minCalls, "MinCalls defaults to no more than the window")
}

// The closed state's hot path allocates nothing.
func TestClosedAllowDoneDoesNotAllocate(t *testing.T) {
	b, _ := newTest(t, Config{})
	allocs := testing.AllocsPerRun(1000, func() {
		tk, _ := b.Allow()
		b.Done(tk, nil, 0)
	})
	require.Zero(t, allocs)
}

// The words written by different parties sit at least one padded line
// apart, so that failures (fails) and the window (cursor) never evict the
// word every Allow loads, nor each other.
func TestLayoutSeparatesWriters(t *testing.T) {
	var b Breaker
	word, fails, cursor, rejected := unsafe.Offsetof(b.word), unsafe.Offsetof(b.fails),
		unsafe.Offsetof(b.cursor), unsafe.Offsetof(b.rejected)
	require.GreaterOrEqual(t, fails-(word+8), uintptr(cacheLine), "fails apart from word")
	require.GreaterOrEqual(t, cursor-(fails+8), uintptr(cacheLine), "cursor apart from fails")
	require.GreaterOrEqual(t, rejected-(cursor+8), uintptr(cacheLine), "rejected apart from cursor")
}

// TestHalfOpenAdmitsExactlyItsProbes starts 64 goroutines behind a barrier
// on an open breaker whose interval has passed; they race both to move it
// to half-open and to claim probes, and exactly HalfOpenProbes get through.
// Mutations caught: claiming a probe by a load and a plain store (or an
// Add without the check) instead of one compare-and-swap of the word, and
// moving Open to HalfOpen with a store, which lets two callers each start a
// half-open period with its first probe.
func TestHalfOpenAdmitsExactlyItsProbes(t *testing.T) {
	const callers, rounds = 64, 50
	for _, probes := range []int{1, 3} {
		for range rounds {
			b, clk := newTest(t, Config{FailureThreshold: 1, HalfOpenProbes: probes})
			run(t, b, clk, []string{"fail open", "wait=1s open"})

			var admitted atomic.Int64
			var ready, done sync.WaitGroup
			start := make(chan struct{})
			for range callers {
				ready.Add(1)
				done.Add(1)
				go func() {
					defer done.Done()
					ready.Done()
					<-start
					if _, ok := b.Allow(); ok {
						admitted.Add(1)
					}
				}()
			}
			ready.Wait()
			close(start)
			done.Wait()

			c := b.Counts()
			require.Equal(t, int64(probes), admitted.Load(), "probes=%d", probes)
			require.Equal(t, probes, c.Probes)
			require.Equal(t, uint64(callers-probes), c.Rejected)
			require.Equal(t, uint64(1), c.Transitions[HalfOpen], "one half-open period")
		}
	}
}

// TestConcurrentFailuresTripOnce: many goroutines fail at once on a closed
// breaker; it opens exactly once. With the threshold at the number of
// failures, only an exact run trips it; with a low one, many failures find
// the run past the threshold and try to trip. Mutations caught: counting
// the run with a load and a store (lost failures: the run ends short of
// the threshold and never trips), and tripping with a store instead of a
// swap from the closed word (each failure past the threshold opens the
// breaker again and counts another transition).
func TestConcurrentFailuresTripOnce(t *testing.T) {
	const callers = 32
	for _, threshold := range []int{callers, 2} {
		for range 50 {
			b, _ := newTest(t, Config{FailureThreshold: threshold})
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tk, ok := b.Allow()
					<-start
					if ok {
						b.Done(tk, errSink, 0)
					}
				}()
			}
			close(start)
			wg.Wait()
			c := b.Counts()
			require.Equal(t, Open, c.State, "threshold %d", threshold)
			require.Equal(t, uint64(1), c.Transitions[Open], "threshold %d", threshold)
		}
	}
}

func TestOnStateChangeSeesEveryTransitionInOrder(t *testing.T) {
	type change struct{ from, to State }
	var got []change
	b, clk := newTest(t, Config{FailureThreshold: 1, OnStateChange: func(from, to State) {
		got = append(got, change{from, to})
	}})
	run(t, b, clk, []string{"fail open", "wait=1s open", "take half-open", "fail-held open",
		"wait=1s open", "take half-open", "pass-held closed", "reset closed", // not a change
		"force forced-open", "disable disabled", "reset closed"})
	require.Equal(t, []change{
		{Closed, Open}, {Open, HalfOpen}, {HalfOpen, Open}, {Open, HalfOpen}, {HalfOpen, Closed},
		{Closed, ForcedOpen}, {ForcedOpen, Disabled}, {Disabled, Closed},
	}, got)
}

// A callback may call the breaker, even make a transition: that change is
// delivered after the callback returns, in order, and nothing deadlocks.
func TestOnStateChangeMayCallTheBreaker(t *testing.T) {
	type change struct{ from, to State }
	var got []change
	var b *Breaker
	// The callback runs on another goroutine: assert, not require.
	b, clk := newTest(t, Config{FailureThreshold: 1, OnStateChange: func(from, to State) {
		got = append(got, change{from, to})
		assert.Equal(t, to, b.State(), "the change is visible when the callback runs")
		_ = b.Counts()
		if to == Open {
			_, ok := b.Allow()
			assert.False(t, ok)
		}
		if to == HalfOpen {
			b.ForceOpen()
			assert.Equal(t, ForcedOpen, b.State())
			assert.Len(t, got, 2, "the nested change waits for this callback to return")
		}
	}})
	finished := make(chan struct{})
	tk := tick(t, b)
	go func() {
		defer close(finished)
		b.Done(tk, errSink, 0)
		clk.advance(time.Second)
		_, ok := b.Allow() // moves to half-open; the callback forces it open
		assert.True(t, ok)
	}()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("deadlocked")
	}
	require.Equal(t, []change{{Closed, Open}, {Open, HalfOpen}, {HalfOpen, ForcedOpen}}, got)
	require.Equal(t, uint64(1), b.Counts().Rejected)
}

func tick(t *testing.T, b *Breaker) Ticket {
	t.Helper()
	tk, ok := b.Allow()
	require.True(t, ok)
	return tk
}

// TestOnStateChangeIsSerialAndOrderedUnderContention makes transitions from
// several goroutines at once. The callback must never run twice at once,
// and the changes it sees must chain (each from is the last to), except
// where a change was dropped and counted. Mutation caught: calling the
// callback straight after each swap, as most breakers do; calls then
// overlap and arrive out of order.
func TestOnStateChangeIsSerialAndOrderedUnderContention(t *testing.T) {
	type change struct{ from, to State }
	var (
		inside, overlaps atomic.Int32
		got              []change
	)
	b, clk := newTest(t, Config{FailureThreshold: 1, HalfOpenProbes: 2, OnStateChange: func(from, to State) {
		if inside.Add(1) != 1 {
			overlaps.Add(1)
		}
		got = append(got, change{from, to})
		runtime.Gosched() // widen the window for an overlapping call
		inside.Add(-1)
	}})
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range 300 {
				switch (g + i) % 7 {
				case 0:
					b.Reset()
				case 1:
					b.ForceOpen()
				case 2:
					clk.advance(time.Second)
				default:
					if tk, ok := b.Allow(); ok {
						var err error
						if i%2 == 0 {
							err = errSink
						}
						b.Done(tk, err, 0)
					}
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	require.Zero(t, overlaps.Load(), "callbacks overlap")

	c := b.Counts()
	var transitions uint64
	for _, n := range c.Transitions {
		transitions += n
	}
	require.NotZero(t, transitions)
	require.LessOrEqual(t, uint64(len(got)), transitions)
	require.GreaterOrEqual(t, uint64(len(got))+c.CallbacksDropped, transitions, "every change delivered or counted")
	breaks := 0
	for i := 1; i < len(got); i++ {
		if got[i].from != got[i-1].to {
			breaks++
		}
	}
	require.LessOrEqual(t, uint64(breaks), c.CallbacksDropped, "out of order: %v", got)
	if c.CallbacksDropped == 0 {
		require.Equal(t, Closed, got[0].from)
		require.Equal(t, c.State, got[len(got)-1].to, "the last change delivered is the current state")
	}
}

func TestStateStrings(t *testing.T) {
	names := []string{"closed", "open", "half-open", "forced-open", "disabled"}
	for s := range State(numStates) {
		require.Equal(t, names[s], s.String())
		text, err := s.MarshalText()
		require.NoError(t, err)
		require.Equal(t, names[s], string(text))
	}
	require.Equal(t, "State(9)", State(9).String())
}

// A deadline past the largest Duration saturates rather than wraps.
func TestDeadlineRoundsUpAndSaturates(t *testing.T) {
	d := packDeadline(7, time.Hour, time.Duration(math.MaxInt64))
	require.Equal(t, uint16(7), deadlineTag(d))
	require.Equal(t, int64(math.MaxInt64/int64(time.Millisecond))+1, deadlineMs(d))
	require.Equal(t, int64(2), deadlineMs(packDeadline(1, 0, time.Millisecond+1)), "rounded up")
	require.Equal(t, int64(1), deadlineMs(packDeadline(1, 0, time.Millisecond)))
}

func TestGenerationSkipsZero(t *testing.T) {
	require.Equal(t, uint32(1), nextGen(math.MaxUint32))
	require.True(t, genBefore(math.MaxUint32, 1))
	require.False(t, genBefore(1, math.MaxUint32))
}

// TestSlowCallbackDropsOnlyTheOldestChanges holds the first callback while
// 100 more changes are made. The queue keeps the newest 64; the 36 older
// ones are skipped and counted, the rest delivered in order, and no
// transition waited for the callback.
func TestSlowCallbackDropsOnlyTheOldestChanges(t *testing.T) {
	type change struct{ from, to State }
	var got []change
	entered, release := make(chan struct{}), make(chan struct{})
	b, _ := newTest(t, Config{OnStateChange: func(from, to State) {
		if len(got) == 0 {
			close(entered)
			<-release
		}
		got = append(got, change{from, to})
	}})
	done := make(chan struct{})
	go func() { defer close(done); b.ForceOpen() }() // generation 2, delivered first
	<-entered
	for i := range 100 { // generations 3..102, all queued behind the held callback
		if i%2 == 0 {
			b.Reset()
		} else {
			b.ForceOpen()
		}
	}
	close(release)
	<-done

	require.Equal(t, uint64(36), b.Counts().CallbacksDropped, "generations 3..38")
	require.Len(t, got, 1+64)
	require.Equal(t, change{Closed, ForcedOpen}, got[0])
	for i := 1; i < len(got); i++ {
		require.Equal(t, got[i-1].to, got[i].from, "in order")
	}
	require.Equal(t, b.State(), got[len(got)-1].to)
}

func TestStateTextRoundTrips(t *testing.T) {
	for st := Closed; st <= Disabled; st++ {
		text, err := st.MarshalText()
		require.NoError(t, err)
		var back State
		require.NoError(t, back.UnmarshalText(text))
		require.Equal(t, st, back)
	}
	var s State
	require.ErrorContains(t, s.UnmarshalText([]byte("ajar")), `unknown state "ajar"`)
}
