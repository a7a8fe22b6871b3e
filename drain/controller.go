package drain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ErrShutDown is returned (wrapped) by Register once Shutdown has begun.
var ErrShutDown = errors.New("drain: already shut down")

// Stage is one ordered step of the owner's shutdown, such as "stop
// intake" or "deliver held".
type Stage struct {
	// Name names the stage in the report; unique among the stages.
	Name string
	// Run does the step. ctx is the drain's context: it is done at the
	// deadline (or when the caller cancels), and may already be done when
	// Run is called, since the stages after the deadline still run. s is
	// the strategy Shutdown was given. Run must return promptly once ctx
	// is done, having accounted for what it abandoned; the controller
	// waits for it only until the overrun (see WithOverrun) has passed,
	// then reports it abandoned, leaves its goroutine behind and skips the
	// stages after it. Each Run is called on its own goroutine, after the
	// previous stage has returned.
	Run func(ctx context.Context, s Strategy) error
	// Always runs the stage even when the overrun ran out before its turn,
	// provided no stage before it is still running: for a step that does
	// not wait and must happen whatever else was cut short (the engine's
	// "stop intake", which closes the queue; skipped, it left an engine
	// that went on accepting events and could never be shut down).
	Always bool
}

// Shutdowner is what HandleSignals drives. *Controller implements it; an
// owner that wraps a Controller (the engine) can too.
type Shutdowner interface {
	Shutdown(ctx context.Context, s Strategy) (Report, error)
}

var _ Shutdowner = (*Controller)(nil)

// Controller runs a shutdown once: the registered handlers, then the
// owner's stages, bounded by a deadline. Its methods are safe for
// concurrent use. A Controller must not be copied; create it with New. (A
// zero Controller works, as one from New(WithOverrun(0)) would.)
type Controller struct {
	cfg config

	mu       sync.Mutex
	handlers []handler
	names    map[string]struct{}
	started  bool          // Shutdown has begun: handlers are snapshotted
	done     chan struct{} // closed when the first Shutdown has finished

	// Written once by the first Shutdown before done is closed; read only
	// after done is closed.
	report Report
	err    error
}

type handler struct {
	name string
	fn   func(ctx context.Context) error
}

// New makes a Controller. A nil option or an invalid value is an error
// naming the option and the value; New does not panic.
func New(opts ...Option) (*Controller, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &Controller{cfg: cfg, done: make(chan struct{})}, nil
}

// Register adds a named cleanup handler (the seed's register). Handlers
// run concurrently with each other, each on its own goroutine, before the
// stages: application cleanup may still log, and its events should be
// delivered. Each gets the drain's context, bounded further by
// WithHandlerTimeout, and must return promptly once it is done; one that
// does not is abandoned like a stage. Handlers appear in the report in
// registration order.
//
// Register is safe for concurrent use, also with Shutdown: a handler is
// either registered before Shutdown takes its snapshot, and then runs
// exactly once, or Register returns an error wrapping ErrShutDown (and the
// handler never runs). An empty or duplicate name or a nil h is an error.
func (c *Controller) Register(name string, h func(ctx context.Context) error) error {
	if name == "" {
		return errors.New("drain: Register: empty handler name")
	}
	if h == nil {
		return fmt.Errorf("drain: Register %q: nil handler", name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return fmt.Errorf("%w: cannot register handler %q", ErrShutDown, name)
	}
	if _, dup := c.names[name]; dup {
		return fmt.Errorf("drain: Register %q: a handler with this name is already registered", name)
	}
	if c.names == nil {
		c.names = make(map[string]struct{})
	}
	c.names[name] = struct{}{}
	c.handlers = append(c.handlers, handler{name, h})
	return nil
}

// Done returns a channel that is closed when the first Shutdown has
// finished (not when it begins: see ShuttingDown).
func (c *Controller) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.doneLocked()
}

// ShuttingDown reports whether Shutdown has begun (it may have finished).
func (c *Controller) ShuttingDown() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started
}

func (c *Controller) doneLocked() chan struct{} {
	if c.done == nil { // zero Controller
		c.done = make(chan struct{})
	}
	return c.done
}

// Shutdown runs the handlers, concurrently, then the stages, one at a
// time in order, under the drain's context s.Context(ctx): for Graceful
// that ends after the timeout or at ctx's deadline, whichever is first;
// for the other strategies at ctx's. Stages receive s as given.
//
// Bound: Shutdown returns by the end of the drain's context plus the
// overrun (WithOverrun), whatever the handlers and stages do (the
// accounting and clock functions, which must not block, are called
// directly). A handler
// or stage still running when the context ends is marked TimedOut; one
// still running when Shutdown returns is abandoned: its goroutine cannot
// be stopped and is left to end whenever the call returns, and the report
// names it with Abandoned set. Once the handler phase ends (every handler
// returned, or its context ended), the stages start; a handler still
// running keeps running alongside them and is waited for, at the end, up
// to the overrun past its own context's end. A stage that fails (error or
// panic) is reported and the next stages still run, since a later stage
// may be what accounts for the loss. After the deadline the remaining
// stages still run, with the done context, until the overrun has passed;
// a stage still running then is abandoned and the stages after it are
// skipped (Skipped set). Panics in handlers and stages are recovered;
// nothing panics into the caller. Without a deadline (Immediate or
// FlushPending under a ctx that has none) nothing bounds Shutdown: give
// ctx a deadline.
//
// Error: nil when every handler and stage returned nil before the drain's
// context ended; otherwise errors.Join of what went wrong: the context's
// end first (wrapping context.DeadlineExceeded when the deadline was hit,
// context.Canceled and the cause when ctx was canceled), then each failed,
// panicked, abandoned or skipped handler and stage, and failures of the
// accounting function.
//
// Idempotent: concurrent and repeated calls are safe, and only the first
// runs the drain. Every other call waits for it to finish and returns the
// first call's Report (a copy of its own) and exactly the same error,
// whatever strategy it passed, or, if its own ctx ends first, returns
// (Report{}, ctx.Err()). This differs from the seed, which raised on a
// second execute; Go callers expect a second Close-like call to be a
// no-op. Calling Shutdown from inside a handler or stage therefore waits
// for its own ctx to end.
//
// A nil ctx or an invalid strategy (see Strategy.Validate) is an error
// returned at once; it does not start the shutdown, so a later valid call
// still can.
func (c *Controller) Shutdown(ctx context.Context, s Strategy) (Report, error) {
	if ctx == nil {
		return Report{}, errors.New("drain: Shutdown: nil context")
	}
	if err := s.Validate(); err != nil {
		return Report{}, err
	}
	c.mu.Lock()
	done := c.doneLocked()
	if c.started {
		c.mu.Unlock()
		select {
		case <-done: // finished: its result even if ctx is done too
		default:
			select {
			case <-done:
			case <-ctx.Done():
				return Report{}, ctx.Err()
			}
		}
		return c.report.clone(), c.err
	}
	c.started = true
	handlers := slices.Clone(c.handlers)
	c.mu.Unlock()

	r, err := c.drain(ctx, s, handlers)
	c.report, c.err = r, err
	close(done)
	return r.clone(), err
}

// clock returns the report clock.
func (c *Controller) clock() time.Time {
	if c.cfg.now != nil {
		return c.cfg.now()
	}
	return time.Now()
}

// drain is the one run of the shutdown.
func (c *Controller) drain(ctx context.Context, s Strategy, hs []handler) (Report, error) {
	t0 := time.Now()
	started := t0
	if c.cfg.now != nil {
		started = c.cfg.now()
	}
	r := Report{Strategy: s, Started: started.Round(0)} // Round(0): no monotonic reading in the report

	dctx, cancel := s.Context(ctx)
	defer cancel()
	if d, ok := dctx.Deadline(); ok {
		r.Deadline = started.Add(d.Sub(t0)).Round(0) // on the report clock
	}
	hard, stopHard := withOverrun(dctx, c.cfg.overrun)
	defer stopHard()

	var accErrs []error
	var before []Account
	startFailed := false
	if f := c.cfg.accounting; f != nil {
		var err error
		if before, err = readAccounts(f); err != nil {
			accErrs = append(accErrs, fmt.Errorf("drain: accounting at the start: %w", err))
			startFailed = true
		}
	}

	// Handler phase: all at once, until they return or hctx ends.
	hctx, hcancel := dctx, context.CancelFunc(func() {})
	if c.cfg.handlerTimeout > 0 {
		hctx, hcancel = context.WithTimeout(dctx, c.cfg.handlerTimeout)
	}
	defer hcancel()
	hhard, stopHHard := withOverrun(hctx, c.cfg.overrun)
	defer stopHHard()
	hg := newGroup(c, len(hs))
	for i, h := range hs {
		hg.start(i, h.name, hctx, h.fn)
	}
	hg.wait(hctx.Done(), nil)

	// Stages: one at a time, in order.
	sg := newGroup(c, len(c.cfg.stages))
	for i, st := range c.cfg.stages {
		if hard.Err() != nil && (!st.Always || sg.pending > 0) {
			sg.steps[i] = Step{Name: st.Name, Skipped: true}
			continue
		}
		run := st.Run
		sg.start(i, st.Name, dctx, func(ctx context.Context) error { return run(ctx, s) })
		if hard.Err() == nil {
			sg.wait(nil, hard.Done())
			continue
		}
		// An Always stage past the overrun gets an overrun of its own.
		grace, stop := context.WithTimeout(context.Background(), c.cfg.overrun)
		sg.wait(nil, grace.Done())
		stop()
	}

	// Handlers still running get the overrun past their context's end.
	hg.wait(nil, hhard.Done())
	r.DeadlineHit = dctx.Err() != nil

	if f := c.cfg.accounting; f != nil {
		after, err := readAccounts(f)
		switch {
		case err != nil:
			accErrs = append(accErrs, fmt.Errorf("drain: accounting at the end: %w", err))
			r.AccountingFailed = true
		case startFailed:
			// No base to take the drain's figures from: none, rather
			// than totals since the start passed off as the drain's.
			r.AccountingFailed = true
		default:
			r.Accounts = deltas(before, after)
		}
	}

	// Whatever has returned by now has returned; the rest is abandoned.
	hg.finish()
	sg.finish()
	r.Handlers, r.Stages = hg.steps, sg.steps
	r.Duration = c.clock().Sub(started)

	var errs []error
	if r.DeadlineHit {
		err := dctx.Err()
		if cause := context.Cause(dctx); cause != nil && cause != err {
			errs = append(errs, fmt.Errorf("drain: %v: %w: %w", s, err, cause))
		} else {
			errs = append(errs, fmt.Errorf("drain: %v: %w", s, err))
		}
	} else if hctx.Err() != nil && hg.anyTimedOut() {
		errs = append(errs, fmt.Errorf("drain: handler timeout %v: %w", c.cfg.handlerTimeout, hctx.Err()))
	}
	// A step that returned just the drain context's error says what the
	// first error already says.
	errs = append(errs, hg.errs("handler", dctx.Err())...)
	errs = append(errs, sg.errs("stage", dctx.Err())...)
	errs = append(errs, accErrs...)
	return r, errors.Join(errs...)
}

// withOverrun returns a context that ends d after soft ends (at once when
// d is 0). stop releases its timer; call it when done.
func withOverrun(soft context.Context, d time.Duration) (context.Context, func()) {
	hard, cancel := context.WithCancel(context.WithoutCancel(soft))
	var (
		mu      sync.Mutex
		timer   *time.Timer
		stopped bool
	)
	stopAfter := context.AfterFunc(soft, func() {
		if d <= 0 {
			cancel()
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			timer = time.AfterFunc(d, cancel)
		}
	})
	return hard, func() {
		stopAfter()
		mu.Lock()
		stopped = true
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel()
	}
}

// readAccounts calls f, recovering a panic, and copies what it returns so
// that f may reuse its maps. f runs on a goroutine of its own: a
// runtime.Goexit in it (which no recover stops) then ends that goroutine,
// not the one running Shutdown, which would never have returned.
func readAccounts(f func() []Account) (accs []Account, err error) {
	type result struct {
		accs []Account
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		returned := false
		defer func() {
			switch v := recover(); {
			case v != nil:
				ch <- result{err: panicError(v)}
			case !returned:
				ch <- result{err: errors.New("panic: runtime.Goexit called")}
			}
		}()
		got := f()
		returned = true
		ch <- result{accs: got}
	}()
	r := <-ch
	if r.err != nil {
		return nil, r.err
	}
	accs = slices.Clone(r.accs)
	for i := range accs {
		accs[i].Dropped = cloneMap(accs[i].Dropped)
		accs[i].Withheld = cloneMap(accs[i].Withheld)
	}
	return accs, nil
}

func cloneMap(m map[string]uint64) map[string]uint64 {
	if m == nil {
		return nil
	}
	out := make(map[string]uint64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func panicError(v any) error {
	if err, ok := v.(error); ok {
		return fmt.Errorf("panic: %w", err)
	}
	return fmt.Errorf("panic: %v", v)
}

// group tracks steps that run on their own goroutines. Only the
// controller's goroutine touches it; the steps' goroutines only send to
// results, which has room for all of them, so a late one never blocks and
// never writes into a report.
type group struct {
	c       *Controller
	steps   []Step
	begun   []time.Time // when each step started, on the report clock
	running []bool
	late    []bool // the step started with its context already done
	pending int
	results chan result
}

type result struct {
	i        int
	err      error
	panicked bool
	ctxDone  bool // its context had ended when it returned
	dur      time.Duration
}

func newGroup(c *Controller, n int) *group {
	return &group{
		c:       c,
		steps:   make([]Step, n),
		begun:   make([]time.Time, n),
		running: make([]bool, n),
		late:    make([]bool, n),
		results: make(chan result, n),
	}
}

// start runs fn(ctx) as step i on a new goroutine.
func (g *group) start(i int, name string, ctx context.Context, fn func(context.Context) error) {
	g.steps[i].Name = name
	g.late[i] = ctx.Err() != nil
	begun := g.c.clock()
	g.begun[i] = begun
	g.running[i] = true
	g.pending++
	go func() {
		res := result{i: i}
		returned := false
		defer func() {
			if !returned {
				res.panicked = true
				if v := recover(); v != nil {
					res.err = panicError(v)
				} else {
					res.err = errors.New("panic: runtime.Goexit called")
				}
			}
			res.dur = g.c.clock().Sub(begun)
			res.ctxDone = ctx.Err() != nil
			g.results <- res
		}()
		res.err = fn(ctx)
		returned = true
	}()
}

// wait collects results until no step is running, or stop or hard is
// closed.
func (g *group) wait(stop, hard <-chan struct{}) {
	for g.pending > 0 {
		select {
		case res := <-g.results:
			g.record(res)
		case <-stop:
			g.collectReady()
			return
		case <-hard:
			return
		}
	}
}

// collectReady records the results that have arrived, without waiting.
func (g *group) collectReady() {
	for g.pending > 0 {
		select {
		case res := <-g.results:
			g.record(res)
		default:
			return
		}
	}
}

func (g *group) record(res result) {
	s := &g.steps[res.i]
	s.Err, s.Panicked, s.Duration = res.err, res.panicked, res.dur
	// Still running when its context ended, unless it started after.
	s.TimedOut = res.ctxDone && !g.late[res.i]
	g.running[res.i] = false
	g.pending--
}

// finish takes the results that have arrived and marks the steps still
// running abandoned.
func (g *group) finish() {
	g.collectReady()
	now := g.c.clock()
	for i, run := range g.running {
		if run {
			g.steps[i].Abandoned = true
			g.steps[i].TimedOut = !g.late[i] // abandoned only after its context ended
			g.steps[i].Duration = now.Sub(g.begun[i])
		}
	}
}

func (g *group) anyTimedOut() bool {
	for _, s := range g.steps {
		if s.TimedOut {
			return true
		}
	}
	return false
}

// errs are the steps' failures, each naming its step, but for those that
// returned ctxErr itself (the drain's context had ended: reported once).
func (g *group) errs(kind string, ctxErr error) []error {
	var errs []error
	for _, s := range g.steps {
		switch {
		case s.Err != nil && ctxErr != nil && s.Err == ctxErr:
		case s.Err != nil:
			errs = append(errs, fmt.Errorf("drain: %s %q: %w", kind, s.Name, s.Err))
		case s.Abandoned:
			errs = append(errs, fmt.Errorf("drain: %s %q: still running, abandoned after %v", kind, s.Name, s.Duration))
		case s.Skipped:
			errs = append(errs, fmt.Errorf("drain: %s %q: skipped, the overrun had run out", kind, s.Name))
		}
	}
	return errs
}
