package drain

import (
	"errors"
	"fmt"
	"time"
)

// DefaultOverrun is the overrun a Controller gets without WithOverrun.
const DefaultOverrun = 5 * time.Millisecond

// Option configures New. The interface is sealed: options come only from
// this package's With functions.
type Option interface{ apply(*config) }

type config struct {
	stages         []Stage
	accounting     func() []Account
	overrun        time.Duration
	handlerTimeout time.Duration
	now            func() time.Time
	errs           []error // invalid options, reported together by New
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

func (c *config) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

// WithStages appends the owner's stages. They run one at a time, in the
// order given (across repeated WithStages, in the order of the options),
// after the handlers. Every stage needs a name, unique among the stages,
// and a Run function.
func WithStages(stages ...Stage) Option {
	// Copy, so that the caller's slice may be reused.
	own := append([]Stage(nil), stages...)
	return optionFunc(func(c *config) { c.stages = append(c.stages, own...) })
}

// WithAccounting sets the function Shutdown reads the units' accounting
// from, once before the handlers start and once at the end; the report
// carries the deltas. It is called on Shutdown's goroutine and is not
// bounded by the deadline, so it must not block: read counters, do not
// call into the units (a unit that is stuck in a call is what
// Account.Stuck is for). A panic in it is recovered and reported. A later
// WithAccounting replaces an earlier one.
func WithAccounting(f func() []Account) Option {
	return optionFunc(func(c *config) {
		if f == nil {
			c.fail("drain: WithAccounting: nil function")
			return
		}
		c.accounting = f
	})
}

// WithOverrun sets how long past the drain's end (its deadline, or the
// cancellation of its context) Shutdown still waits for handlers and
// stages to return, so that they can account for what they abandoned.
// Default DefaultOverrun (5ms); 0 means no wait at all; a negative value
// makes New fail.
func WithOverrun(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 0 {
			c.fail("drain: WithOverrun: must be >= 0, got %v", d)
			return
		}
		c.overrun = d
	})
}

// WithHandlerTimeout bounds the handler phase: handlers get a context that
// ends after d (or at the drain's end, if sooner), and the stages start
// when every handler has returned or d has passed, whichever comes first.
// The default, 0, bounds the phase only by the drain's own context. A
// negative value makes New fail.
func WithHandlerTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 0 {
			c.fail("drain: WithHandlerTimeout: must be >= 0, got %v", d)
			return
		}
		c.handlerTimeout = d
	})
}

// WithClock sets the clock the report's times and durations are read
// from (default time.Now), so that tests can fix them. It is called from
// the handlers' and stages' goroutines too, so it must be safe for
// concurrent use, and it must not block. It does not affect deadlines and
// timeouts, which always run on real time; the report's Deadline is moved
// onto this clock.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now == nil {
			c.fail("drain: WithClock: nil function")
			return
		}
		c.now = now
	})
}

// newConfig applies opts over the defaults and checks the result.
func newConfig(opts []Option) (config, error) {
	c := config{overrun: DefaultOverrun} // now nil: the real clock
	for i, o := range opts {
		if o == nil {
			c.fail("drain: New: option %d is nil", i)
			continue
		}
		o.apply(&c)
	}
	seen := make(map[string]int, len(c.stages))
	for i, s := range c.stages {
		switch {
		case s.Name == "":
			c.fail("drain: WithStages: stage %d has no name", i)
		case s.Run == nil:
			c.fail("drain: WithStages: stage %d (%q) has a nil Run", i, s.Name)
		}
		if s.Name == "" {
			continue
		}
		if j, dup := seen[s.Name]; dup {
			c.fail("drain: WithStages: stages %d and %d are both named %q", j, i, s.Name)
			continue
		}
		seen[s.Name] = i
	}
	return c, errors.Join(c.errs...)
}
