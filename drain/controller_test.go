package drain

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustNew(t *testing.T, opts ...Option) *Controller {
	t.Helper()
	c, err := New(opts...)
	require.NoError(t, err)
	return c
}

// release returns a channel that a hung step waits on; the test closes it
// when it ends, so that the abandoned goroutine exits before goleak looks.
func release(t *testing.T) chan struct{} {
	ch := make(chan struct{})
	t.Cleanup(func() { close(ch) })
	return ch
}

func bounded(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func stage(name string, run func(ctx context.Context, s Strategy) error) Stage {
	return Stage{Name: name, Run: run}
}

func nop(context.Context, Strategy) error { return nil }

// log records events from several goroutines.
type log struct {
	mu sync.Mutex
	ev []string
}

func (l *log) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ev = append(l.ev, fmt.Sprintf(format, args...))
}

func (l *log) events() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ev...)
}

func TestStrategyPassedToStages(t *testing.T) {
	for _, s := range []Strategy{Immediate, FlushPending, Graceful(time.Second)} {
		t.Run(s.String(), func(t *testing.T) {
			var got []Strategy
			var mu sync.Mutex
			rec := func(_ context.Context, s Strategy) error {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, s)
				return nil
			}
			c := mustNew(t, WithStages(stage("a", rec), stage("b", rec)))
			r, err := c.Shutdown(bounded(t, 5*time.Second), s)
			require.NoError(t, err)
			assert.Equal(t, []Strategy{s, s}, got)
			assert.Equal(t, s, r.Strategy)
			assert.True(t, r.Clean(), r.String())
		})
	}
}

func TestHandlersThenStagesInOrder(t *testing.T) {
	var l log
	rec := func(name string) Stage {
		return stage(name, func(context.Context, Strategy) error { l.add("stage %s", name); return nil })
	}
	c := mustNew(t,
		WithStages(rec("stop intake"), rec("drain shards")),
		WithStages(rec("deliver held"), rec("flush sinks"), rec("close sinks")))
	for _, name := range []string{"db", "cache", "queue"} {
		require.NoError(t, c.Register(name, func(context.Context) error {
			time.Sleep(time.Millisecond) // a stage that started early would show
			l.add("handler %s", name)
			return nil
		}))
	}
	r, err := c.Shutdown(bounded(t, 5*time.Second), FlushPending)
	require.NoError(t, err)

	ev := l.events()
	require.Len(t, ev, 8)
	assert.ElementsMatch(t, []string{"handler db", "handler cache", "handler queue"}, ev[:3])
	assert.Equal(t, []string{"stage stop intake", "stage drain shards", "stage deliver held",
		"stage flush sinks", "stage close sinks"}, ev[3:])

	var names []string
	for _, s := range r.Handlers {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"db", "cache", "queue"}, names, "registration order")
	names = names[:0]
	for _, s := range r.Stages {
		names = append(names, s.Name)
		assert.Positive(t, s.Duration)
	}
	assert.Equal(t, []string{"stop intake", "drain shards", "deliver held", "flush sinks", "close sinks"}, names)
	assert.True(t, r.Clean(), r.String())
}

// Two handlers that each wait for the other to start can only both
// return nil if they run at the same time.
func TestHandlersRunConcurrently(t *testing.T) {
	c := mustNew(t)
	a, b := make(chan struct{}), make(chan struct{})
	meet := func(mine, other chan struct{}) func(context.Context) error {
		return func(ctx context.Context) error {
			close(mine)
			select {
			case <-other:
				return nil
			case <-ctx.Done():
				return errors.New("the other handler never started")
			}
		}
	}
	require.NoError(t, c.Register("a", meet(a, b)))
	require.NoError(t, c.Register("b", meet(b, a)))
	r, err := c.Shutdown(bounded(t, 5*time.Second), FlushPending)
	require.NoError(t, err)
	assert.True(t, r.Clean(), r.String())
}

// ctxRecorder is a stage that records the context's error it ran with.
type ctxRecorder struct {
	mu  sync.Mutex
	ran map[string]error
}

func (r *ctxRecorder) stage(name string) Stage {
	return stage(name, func(ctx context.Context, _ Strategy) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.ran == nil {
			r.ran = map[string]error{}
		}
		r.ran[name] = ctx.Err()
		return nil
	})
}

// get says whether the stage ran, and with what ctx.Err().
func (r *ctxRecorder) get(name string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	err, ok := r.ran[name]
	return ok, err
}

// The default overrun (5ms): Shutdown returns by about the deadline plus
// the overrun although a handler never returns.
func TestHangingHandlerGraceful(t *testing.T) {
	hang := release(t)
	var rec ctxRecorder
	c := mustNew(t, WithStages(rec.stage("deliver held"), rec.stage("close sinks")))
	require.NoError(t, c.Register("hangs", func(context.Context) error {
		<-hang // ignores ctx
		return nil
	}))
	require.NoError(t, c.Register("quick", func(context.Context) error { return nil }))

	start := time.Now()
	r, err := c.Shutdown(context.Background(), Graceful(50*time.Millisecond))
	elapsed := time.Since(start)
	t.Logf("Graceful(50ms) with a hung handler returned after %v", elapsed)
	// 50ms deadline + 5ms overrun, measured about 56ms; the margin is for
	// scheduling on a busy machine under -race.
	assert.Less(t, elapsed, 100*time.Millisecond)
	assert.GreaterOrEqual(t, elapsed, 50*time.Millisecond)

	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "drain: graceful(50ms): context deadline exceeded")
	assert.True(t, r.DeadlineHit)
	assert.WithinDuration(t, r.Started.Add(50*time.Millisecond), r.Deadline, 5*time.Millisecond)

	h := r.Handlers[0]
	assert.Equal(t, "hangs", h.Name)
	assert.True(t, h.TimedOut)
	assert.True(t, h.Abandoned)
	assert.GreaterOrEqual(t, h.Duration, 50*time.Millisecond)
	assert.Equal(t, Step{Name: "quick", Duration: r.Handlers[1].Duration}, r.Handlers[1])
	assert.Contains(t, err.Error(), `drain: handler "hangs": still running, abandoned after`)
	assert.Contains(t, r.String(), `"hangs": still running, abandoned after`)
	assert.False(t, r.Clean())

	// The stages ran after the deadline, with the done context. (5ms is
	// little on a loaded machine: TestStagesRunAfterDeadline checks the
	// same with room to spare.)
	for _, s := range r.Stages {
		if s.Skipped || s.Abandoned {
			t.Logf("stage %q: the 5ms overrun ran out first (slow machine)", s.Name)
			continue
		}
		ran, ctxErr := rec.get(s.Name)
		assert.True(t, ran, s.Name)
		assert.ErrorIs(t, ctxErr, context.DeadlineExceeded, s.Name)
		assert.False(t, s.TimedOut, "started after the deadline: not cut short by it")
	}
}

func TestStagesRunAfterDeadline(t *testing.T) {
	hang := release(t)
	var rec ctxRecorder
	c := mustNew(t, WithOverrun(200*time.Millisecond), WithStages(rec.stage("deliver held"), rec.stage("close sinks")))
	require.NoError(t, c.Register("hangs", func(context.Context) error { <-hang; return nil }))

	start := time.Now()
	r, err := c.Shutdown(context.Background(), Graceful(20*time.Millisecond))
	elapsed := time.Since(start)
	assert.GreaterOrEqual(t, elapsed, 220*time.Millisecond, "the hung handler gets the overrun")
	assert.Less(t, elapsed, 2*time.Second)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, r.Handlers[0].Abandoned)
	require.Len(t, r.Stages, 2)
	for _, s := range r.Stages {
		assert.Equal(t, Step{Name: s.Name, Duration: s.Duration}, s)
		ran, ctxErr := rec.get(s.Name)
		assert.True(t, ran, s.Name)
		assert.ErrorIs(t, ctxErr, context.DeadlineExceeded, s.Name)
	}
}

func TestHangingStageAbandonedAfterOverrun(t *testing.T) {
	hang := release(t)
	var lastRan atomic.Bool
	c := mustNew(t, WithOverrun(20*time.Millisecond), WithStages(
		stage("first", nop),
		stage("stuck", func(context.Context, Strategy) error { <-hang; return nil }),
		stage("last", func(context.Context, Strategy) error { lastRan.Store(true); return nil })))

	start := time.Now()
	r, err := c.Shutdown(context.Background(), Graceful(30*time.Millisecond))
	elapsed := time.Since(start)
	t.Logf("Graceful(30ms) + overrun 20ms with a hung stage returned after %v", elapsed)
	assert.GreaterOrEqual(t, elapsed, 50*time.Millisecond, "waits out the overrun")
	assert.Less(t, elapsed, 150*time.Millisecond)

	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NoError(t, r.Stages[0].Err)
	stuck := r.Stages[1]
	assert.True(t, stuck.TimedOut)
	assert.True(t, stuck.Abandoned)
	assert.GreaterOrEqual(t, stuck.Duration, 45*time.Millisecond)
	assert.Equal(t, Step{Name: "last", Skipped: true}, r.Stages[2])
	assert.False(t, lastRan.Load())
	assert.Contains(t, err.Error(), `drain: stage "stuck": still running, abandoned`)
	assert.Contains(t, err.Error(), `drain: stage "last": skipped`)
}

// A stage that stops at the deadline returns in the overrun: it is
// TimedOut but not abandoned, and Shutdown does not wait out the overrun.
func TestStageReturnsInOverrun(t *testing.T) {
	var afterCtx error
	c := mustNew(t, WithOverrun(5*time.Second), WithStages(
		stage("deliver held", func(ctx context.Context, _ Strategy) error {
			<-ctx.Done()
			return ctx.Err()
		}),
		stage("close sinks", func(ctx context.Context, _ Strategy) error {
			afterCtx = ctx.Err()
			return nil
		})))
	start := time.Now()
	r, err := c.Shutdown(context.Background(), Graceful(20*time.Millisecond))
	assert.Less(t, time.Since(start), time.Second)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, r.Stages[0].TimedOut)
	assert.False(t, r.Stages[0].Abandoned)
	assert.ErrorIs(t, r.Stages[0].Err, context.DeadlineExceeded)
	assert.ErrorIs(t, afterCtx, context.DeadlineExceeded)
	assert.False(t, r.Stages[1].TimedOut, "started after the deadline: not cut short by it")
	assert.Contains(t, r.String(), "(timed out, returned in the overrun)")
}

func TestOverrunZero(t *testing.T) {
	hang := release(t)
	c := mustNew(t, WithOverrun(0), WithStages(stage("stuck", func(context.Context, Strategy) error { <-hang; return nil })))
	start := time.Now()
	r, err := c.Shutdown(context.Background(), Graceful(20*time.Millisecond))
	assert.Less(t, time.Since(start), 100*time.Millisecond)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, r.Stages[0].Abandoned)
}

var (
	errHandler = errors.New("handler failed")
	errPanic   = errors.New("panic value")
	errStage   = errors.New("stage failed")
)

func TestFailuresAndPanicsReported(t *testing.T) {
	var l log
	c := mustNew(t, WithStages(
		stage("fails", func(context.Context, Strategy) error { l.add("fails"); return errStage }),
		stage("panics", func(context.Context, Strategy) error { l.add("panics"); panic("boom") }),
		stage("goexit", func(context.Context, Strategy) error { l.add("goexit"); runtime.Goexit(); return nil }),
		stage("nil panic", func(context.Context, Strategy) error { l.add("nil panic"); panic(nil) }),
		stage("last", func(context.Context, Strategy) error { l.add("last"); return nil })))
	require.NoError(t, c.Register("fails", func(context.Context) error { return errHandler }))
	require.NoError(t, c.Register("panics", func(context.Context) error { panic(errPanic) }))
	require.NoError(t, c.Register("ok", func(context.Context) error { return nil }))

	r, err := c.Shutdown(bounded(t, 5*time.Second), FlushPending)
	require.Error(t, err)
	assert.Equal(t, []string{"fails", "panics", "goexit", "nil panic", "last"}, l.events(), "later stages still ran")
	assert.NotErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, r.DeadlineHit)
	assert.ErrorIs(t, err, errHandler)
	assert.ErrorIs(t, err, errPanic)
	assert.ErrorIs(t, err, errStage)

	assert.ErrorIs(t, r.Handlers[0].Err, errHandler)
	assert.False(t, r.Handlers[0].Panicked)
	assert.True(t, r.Handlers[1].Panicked)
	assert.EqualError(t, r.Handlers[1].Err, "panic: panic value")
	assert.NoError(t, r.Handlers[2].Err)

	assert.ErrorIs(t, r.Stages[0].Err, errStage)
	assert.True(t, r.Stages[1].Panicked)
	assert.EqualError(t, r.Stages[1].Err, "panic: boom")
	assert.True(t, r.Stages[2].Panicked)
	assert.EqualError(t, r.Stages[2].Err, "panic: runtime.Goexit called")
	assert.True(t, r.Stages[3].Panicked)
	assert.Contains(t, r.Stages[3].Err.Error(), "panic: panic called with nil argument")
	assert.Equal(t, Step{Name: "last", Duration: r.Stages[4].Duration}, r.Stages[4])

	msg := err.Error()
	for _, want := range []string{
		`drain: handler "fails": handler failed`,
		`drain: handler "panics": panic: panic value`,
		`drain: stage "fails": stage failed`,
		`drain: stage "panics": panic: boom`,
	} {
		assert.Contains(t, msg, want)
	}
	assert.Contains(t, r.String(), `"panics": panicked after`)
	assert.False(t, r.Clean())
}

func TestConcurrentShutdown(t *testing.T) {
	var drains atomic.Int32
	gate := make(chan struct{})
	c := mustNew(t, WithStages(stage("count", func(context.Context, Strategy) error {
		drains.Add(1)
		<-gate
		return errStage // an error, to check that all get the same one
	})))
	require.NoError(t, c.Register("h", func(context.Context) error { return nil }))

	const n = 16
	var (
		wg      sync.WaitGroup
		entered sync.WaitGroup
		reports [n]Report
		errs    [n]error
	)
	entered.Add(n)
	for i := range n {
		wg.Go(func() {
			entered.Done()
			s := Graceful(time.Duration(i+1) * time.Second) // only the first one's counts
			reports[i], errs[i] = c.Shutdown(context.Background(), s)
		})
	}
	entered.Wait()
	assert.Eventually(t, c.ShuttingDown, 5*time.Second, time.Millisecond)
	close(gate)
	wg.Wait()

	assert.Equal(t, int32(1), drains.Load())
	require.ErrorIs(t, errs[0], errStage)
	for i := range n {
		assert.True(t, errs[i] == errs[0], "the same error value, caller %d", i) // identity, not errors.Is
		assert.Equal(t, reports[0], reports[i], "caller %d", i)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed")
	}

	// Later calls, with any strategy, return the same.
	r, err := c.Shutdown(context.Background(), Immediate)
	assert.True(t, err == errs[0])
	assert.Equal(t, reports[0], r)
	assert.Equal(t, int32(1), drains.Load())

	// Each caller owns its copy.
	r.Stages[0].Name = "changed"
	r.Handlers[0].Name = "changed"
	r2, _ := c.Shutdown(context.Background(), FlushPending)
	assert.Equal(t, reports[0], r2)
	assert.Equal(t, "count", r2.Stages[0].Name)
}

func TestSecondCallerContextEndsFirst(t *testing.T) {
	gate := make(chan struct{})
	inStage := make(chan struct{})
	c := mustNew(t, WithStages(stage("slow", func(context.Context, Strategy) error {
		close(inStage)
		<-gate
		return nil
	})))
	first := make(chan error, 1)
	go func() {
		_, err := c.Shutdown(context.Background(), FlushPending)
		first <- err
	}()
	<-inStage

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	r, err := c.Shutdown(ctx, FlushPending)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, Report{}, r)

	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, err = c.Shutdown(canceled, FlushPending)
	require.ErrorIs(t, err, context.Canceled)

	close(gate)
	require.NoError(t, <-first)

	// Once finished, even a done ctx gets the result.
	r, err = c.Shutdown(canceled, FlushPending)
	require.NoError(t, err)
	assert.Equal(t, "slow", r.Stages[0].Name)
}

func TestRegister(t *testing.T) {
	c := mustNew(t)
	h := func(context.Context) error { return nil }
	require.EqualError(t, c.Register("", h), "drain: Register: empty handler name")
	require.EqualError(t, c.Register("x", nil), `drain: Register "x": nil handler`)
	require.NoError(t, c.Register("x", h))
	require.ErrorContains(t, c.Register("x", h), `drain: Register "x": a handler with this name is already registered`)
}

func TestRegisterAfterShutdownBegan(t *testing.T) {
	var c *Controller
	var during error
	c = mustNew(t, WithStages(stage("register", func(context.Context, Strategy) error {
		during = c.Register("late", func(context.Context) error { return nil })
		return nil
	})))
	assert.False(t, c.ShuttingDown())
	_, err := c.Shutdown(bounded(t, 5*time.Second), FlushPending)
	require.NoError(t, err)
	assert.True(t, c.ShuttingDown())
	require.ErrorIs(t, during, ErrShutDown)
	assert.EqualError(t, during, `drain: already shut down: cannot register handler "late"`)
	err = c.Register("later", func(context.Context) error { return nil })
	require.ErrorIs(t, err, ErrShutDown)
	assert.Contains(t, err.Error(), `"later"`)
}

// Register racing with Shutdown: each handler either ran exactly once (and
// is in the report) or its Register returned ErrShutDown.
func TestRegisterRacesShutdown(t *testing.T) {
	for round := range 20 {
		c := mustNew(t)
		const n = 32
		var (
			runs  [n]atomic.Int32
			regs  [n]error
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		for i := range n {
			wg.Go(func() {
				<-start
				regs[i] = c.Register(fmt.Sprint("h", i), func(context.Context) error {
					runs[i].Add(1)
					return nil
				})
			})
		}
		var r Report
		var err error
		wg.Go(func() {
			<-start
			r, err = c.Shutdown(context.Background(), FlushPending)
		})
		close(start)
		wg.Wait()
		require.NoError(t, err)

		inReport := map[string]bool{}
		for _, s := range r.Handlers {
			inReport[s.Name] = true
		}
		for i := range n {
			name := fmt.Sprint("h", i)
			if regs[i] == nil {
				assert.Equal(t, int32(1), runs[i].Load(), "round %d %s", round, name)
				assert.True(t, inReport[name], "round %d %s", round, name)
			} else {
				require.ErrorIs(t, regs[i], ErrShutDown)
				assert.Equal(t, int32(0), runs[i].Load(), "round %d %s", round, name)
				assert.False(t, inReport[name], "round %d %s", round, name)
			}
		}
	}
}

func TestInvalidStrategyDoesNotStart(t *testing.T) {
	var ran atomic.Int32
	c := mustNew(t, WithStages(stage("s", func(context.Context, Strategy) error { ran.Add(1); return nil })))
	_, err := c.Shutdown(context.Background(), Graceful(0))
	require.EqualError(t, err, "drain: Graceful timeout must be > 0, got 0s")
	//lint:ignore SA1012 a nil ctx is the point
	_, err = c.Shutdown(nil, FlushPending)
	require.EqualError(t, err, "drain: Shutdown: nil context")
	assert.False(t, c.ShuttingDown())
	select {
	case <-c.Done():
		t.Fatal("Done closed by a refused call")
	default:
	}
	require.NoError(t, c.Register("h", func(context.Context) error { return nil }), "still open")

	r, err := c.Shutdown(context.Background(), Graceful(time.Second))
	require.NoError(t, err)
	assert.Equal(t, int32(1), ran.Load())
	assert.Equal(t, Graceful(time.Second), r.Strategy)
	assert.Len(t, r.Handlers, 1)
}

func TestNewRefusesBadOptions(t *testing.T) {
	f := func(context.Context, Strategy) error { return nil }
	for _, tc := range []struct {
		name string
		opts []Option
		msg  string
	}{
		{"nil option", []Option{WithOverrun(0), nil}, "drain: New: option 1 is nil"},
		{"negative overrun", []Option{WithOverrun(-time.Millisecond)}, "drain: WithOverrun: must be >= 0, got -1ms"},
		{"negative handler timeout", []Option{WithHandlerTimeout(-time.Second)}, "drain: WithHandlerTimeout: must be >= 0, got -1s"},
		{"nil accounting", []Option{WithAccounting(nil)}, "drain: WithAccounting: nil function"},
		{"nil clock", []Option{WithClock(nil)}, "drain: WithClock: nil function"},
		{"unnamed stage", []Option{WithStages(Stage{Run: f})}, "drain: WithStages: stage 0 has no name"},
		{"nil run", []Option{WithStages(stage("a", f), Stage{Name: "b"})}, `drain: WithStages: stage 1 ("b") has a nil Run`},
		{"duplicate stage", []Option{WithStages(stage("a", f)), WithStages(stage("a", f))}, `drain: WithStages: stages 0 and 1 are both named "a"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.opts...)
			require.EqualError(t, err, tc.msg)
			assert.Nil(t, c)
		})
	}
	// All problems at once.
	_, err := New(WithOverrun(-1), nil, WithClock(nil))
	require.Error(t, err)
	assert.Equal(t, 3, strings.Count(err.Error(), "drain: "))

	// The edges that are allowed.
	_, err = New(WithOverrun(0), WithHandlerTimeout(0), WithStages())
	require.NoError(t, err)
}

func TestHandlerTimeout(t *testing.T) {
	hang := release(t)
	var stageCtxErr error
	stageRan := false
	c := mustNew(t, WithHandlerTimeout(20*time.Millisecond), WithStages(stage("s", func(ctx context.Context, _ Strategy) error {
		stageRan, stageCtxErr = true, ctx.Err()
		return nil
	})))
	require.NoError(t, c.Register("hangs", func(context.Context) error { <-hang; return nil }))
	var handlerDeadline time.Time
	require.NoError(t, c.Register("reads deadline", func(ctx context.Context) error {
		handlerDeadline, _ = ctx.Deadline()
		return nil
	}))

	start := time.Now()
	r, err := c.Shutdown(bounded(t, 10*time.Second), FlushPending)
	assert.Less(t, time.Since(start), 2*time.Second)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "drain: handler timeout 20ms: context deadline exceeded")
	assert.False(t, r.DeadlineHit, "the drain's own deadline was not hit")
	assert.True(t, r.Handlers[0].TimedOut)
	assert.True(t, r.Handlers[0].Abandoned)
	assert.WithinDuration(t, start.Add(20*time.Millisecond), handlerDeadline, 10*time.Millisecond)
	assert.True(t, stageRan)
	assert.NoError(t, stageCtxErr, "the stages still had time")
	assert.False(t, r.Clean())
}

// Shutdown with a ctx that is already done still runs everything, with
// the done context, and nothing counts as timed out.
func TestContextDoneAtEntry(t *testing.T) {
	var stageErr error
	c := mustNew(t, WithOverrun(5*time.Second), WithStages(stage("s", func(ctx context.Context, _ Strategy) error {
		stageErr = ctx.Err()
		return nil
	})))
	require.NoError(t, c.Register("h", func(ctx context.Context) error { return ctx.Err() }))
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("gone")
	cancel(cause)

	start := time.Now()
	r, err := c.Shutdown(ctx, Immediate)
	assert.Less(t, time.Since(start), 2*time.Second, "prompt steps: no wait for the overrun")
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, cause)
	assert.Contains(t, err.Error(), "drain: immediate: context canceled: gone")
	assert.True(t, r.DeadlineHit)
	assert.True(t, r.Deadline.IsZero())
	assert.ErrorIs(t, r.Handlers[0].Err, context.Canceled)
	assert.False(t, r.Handlers[0].TimedOut)
	assert.ErrorIs(t, stageErr, context.Canceled)
	assert.False(t, r.Stages[0].TimedOut)
	assert.Contains(t, r.String(), "deadline: none, context ended")
}

// The report Shutdown returned does not change when an abandoned step
// returns later.
func TestReportNotMutatedLater(t *testing.T) {
	hang := make(chan struct{})
	exited := make(chan struct{})
	c := mustNew(t)
	require.NoError(t, c.Register("hangs", func(context.Context) error {
		defer close(exited)
		<-hang
		return errHandler
	}))
	r, err := c.Shutdown(context.Background(), Graceful(10*time.Millisecond))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	keep := r.clone()
	close(hang)
	<-exited
	runtime.Gosched()
	r2, err2 := c.Shutdown(context.Background(), FlushPending)
	assert.Equal(t, keep, r)
	assert.Equal(t, keep, r2)
	assert.True(t, err == err2)
	assert.True(t, r2.Handlers[0].Abandoned)
	assert.NoError(t, r2.Handlers[0].Err)
}

func TestZeroController(t *testing.T) {
	var c Controller
	done := c.Done()
	require.NoError(t, c.Register("h", func(context.Context) error { return nil }))
	r, err := c.Shutdown(bounded(t, time.Second), FlushPending)
	require.NoError(t, err)
	assert.Len(t, r.Handlers, 1)
	<-done
}

func TestClock(t *testing.T) {
	base := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	var ticks atomic.Int64
	clock := func() time.Time { return base.Add(time.Duration(ticks.Add(1)-1) * time.Millisecond) }
	c := mustNew(t, WithClock(clock), WithStages(stage("s", nop)))
	r, err := c.Shutdown(context.Background(), Graceful(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, base, r.Started)
	assert.Equal(t, time.Duration(0), r.Duration%time.Millisecond)
	assert.Positive(t, r.Duration)
	assert.Equal(t, time.Millisecond, r.Stages[0].Duration, "one tick between its start and its end")
	// The deadline is put on the report clock.
	assert.WithinDuration(t, base.Add(time.Minute), r.Deadline, 10*time.Millisecond)
	assert.False(t, r.Deadline.Before(base.Add(time.Minute)))
}

func TestAccounting(t *testing.T) {
	type unit struct {
		delivered, failed, pending uint64
		dropped                    map[string]uint64
		stuck                      bool
	}
	var mu sync.Mutex
	units := map[string]*unit{
		"file": {delivered: 100, failed: 1, pending: 7, dropped: map[string]uint64{"overflow": 5, "sampled": 2}},
		"net":  {delivered: 50, dropped: map[string]uint64{}},
	}
	order := []string{"file", "net"}
	shared := map[string]map[string]uint64{} // reused across reads, as a careless owner might
	reads := 0
	accounting := func() []Account {
		mu.Lock()
		defer mu.Unlock()
		reads++
		var out []Account
		for _, name := range order {
			u := units[name]
			m := shared[name]
			if m == nil {
				m = map[string]uint64{}
				shared[name] = m
			}
			for k, v := range u.dropped {
				m[k] = v
			}
			out = append(out, Account{Name: name, Delivered: u.delivered, Failed: u.failed,
				Dropped: m, Pending: u.pending, Stuck: u.stuck})
		}
		return out
	}
	c := mustNew(t, WithAccounting(accounting), WithStages(stage("deliver", func(context.Context, Strategy) error {
		mu.Lock()
		defer mu.Unlock()
		f := units["file"]
		f.delivered += 6
		f.failed++
		f.pending = 0
		f.dropped["overflow"] += 3 // "sampled" unchanged: omitted
		f.dropped["closed"] = 1    // new reason
		n := units["net"]
		n.pending, n.stuck = 4, true
		units["held"] = &unit{delivered: 9, dropped: map[string]uint64{"shutdown": 2}} // only at the end
		order = []string{"held", "file", "net"}
		return nil
	})))
	r, err := c.Shutdown(bounded(t, 5*time.Second), FlushPending)
	require.NoError(t, err)
	assert.Equal(t, 2, reads)
	assert.Equal(t, []AccountReport{
		{Name: "held", Delivered: 9, Dropped: map[string]uint64{"shutdown": 2}},
		{Name: "file", Delivered: 6, Failed: 1, Dropped: map[string]uint64{"overflow": 3, "closed": 1}},
		{Name: "net", Pending: 4, Stuck: true},
	}, r.Accounts)
	assert.Equal(t, uint64(2+1+3+1+4), r.Lost())
	assert.False(t, r.Clean())
	s := r.String()
	assert.Contains(t, s, `"file": delivered 6, failed 1, dropped 4 (closed 1, overflow 3), pending 0`)
	assert.Contains(t, s, `"net": delivered 0, failed 0, dropped 0, pending 4, stuck`)
	assert.Contains(t, s, "lost: 11")
}

func TestAccountingPanics(t *testing.T) {
	calls := 0
	c := mustNew(t, WithAccounting(func() []Account {
		calls++
		if calls == 2 {
			panic("counters gone")
		}
		return []Account{{Name: "a"}}
	}))
	r, err := c.Shutdown(bounded(t, time.Second), FlushPending)
	require.EqualError(t, err, "drain: accounting at the end: panic: counters gone")
	assert.Nil(t, r.Accounts)
}

// A stage marked Always runs even when the overrun ran out before its
// turn (here a slow accounting read at the start took the drain past its
// deadline and the overrun), while the others are skipped. The engine
// marks "stop intake" so: skipped, it left an engine that went on
// accepting events and could never be shut down. Mutation caught:
// skipping every stage once the overrun has passed.
func TestAnAlwaysStageRunsAfterTheOverrun(t *testing.T) {
	var calls atomic.Int32
	var alwaysRan, otherRan atomic.Bool
	c := mustNew(t, WithOverrun(5*time.Millisecond),
		WithAccounting(func() []Account {
			if calls.Add(1) == 1 {
				time.Sleep(100 * time.Millisecond) // past the deadline and the overrun
			}
			return nil
		}),
		WithStages(
			Stage{Name: "close intake", Run: func(context.Context, Strategy) error { alwaysRan.Store(true); return nil }, Always: true},
			stage("other", func(context.Context, Strategy) error { otherRan.Store(true); return nil })))
	r, err := c.Shutdown(context.Background(), Graceful(10*time.Millisecond))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.True(t, alwaysRan.Load(), "the Always stage ran")
	assert.False(t, r.Stages[0].Skipped)
	assert.False(t, otherRan.Load())
	assert.True(t, r.Stages[1].Skipped)
}
