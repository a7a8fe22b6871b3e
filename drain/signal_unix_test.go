//go:build unix

package drain

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type signalResult struct {
	r   Report
	err error
}

// handleSignals runs HandleSignals on a goroutine and returns once the
// signals are being caught, so that sending one cannot kill the test.
func handleSignals(t *testing.T, ctx context.Context, c Shutdowner, cfg SignalConfig) <-chan signalResult {
	t.Helper()
	ready := make(chan struct{})
	cfg.ready = func() { close(ready) }
	out := make(chan signalResult, 1)
	go func() {
		r, err := HandleSignals(ctx, c, cfg)
		out <- signalResult{r, err}
	}()
	select {
	case <-ready:
	case res := <-out:
		t.Fatalf("HandleSignals returned before catching signals: %v", res.err)
	}
	return out
}

func kill(t *testing.T, sig syscall.Signal) {
	t.Helper()
	require.NoError(t, syscall.Kill(os.Getpid(), sig))
}

func wait(t *testing.T, out <-chan signalResult) signalResult {
	t.Helper()
	select {
	case res := <-out:
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("HandleSignals did not return")
		return signalResult{}
	}
}

// signals records what OnSignal is given.
type signals struct {
	mu  sync.Mutex
	got []os.Signal
	ch  chan os.Signal
}

func newSignals() *signals { return &signals{ch: make(chan os.Signal, 4)} }

func (s *signals) on(sig os.Signal) {
	s.mu.Lock()
	s.got = append(s.got, sig)
	s.mu.Unlock()
	s.ch <- sig
}

func (s *signals) all() []os.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]os.Signal(nil), s.got...)
}

func TestHandleSignalsSIGTERM(t *testing.T) {
	var stageCtx context.Context
	c := mustNew(t, WithStages(stage("s", func(ctx context.Context, _ Strategy) error {
		stageCtx = ctx
		return nil
	})))
	sigs := newSignals()
	out := handleSignals(t, context.Background(), c, SignalConfig{OnSignal: sigs.on})
	assert.False(t, c.ShuttingDown(), "waits for the signal")
	kill(t, syscall.SIGTERM)
	res := wait(t, out)
	require.NoError(t, res.err)
	assert.Equal(t, []os.Signal{syscall.SIGTERM}, sigs.all())
	assert.Equal(t, FlushPending, res.r.Strategy, "the default")
	assert.True(t, res.r.Clean(), res.r.String())
	// The default deadline: 25s from the signal.
	d := res.r.Deadline.Sub(res.r.Started)
	assert.True(t, d > 24*time.Second && d <= DefaultSignalDeadline, d)
	require.NotNil(t, stageCtx)
	assert.True(t, c.ShuttingDown())
}

func TestHandleSignalsCustomSignalAndStrategy(t *testing.T) {
	var got Strategy
	c := mustNew(t, WithStages(stage("s", func(_ context.Context, s Strategy) error { got = s; return nil })))
	out := handleSignals(t, context.Background(), c, SignalConfig{
		Signals:  []os.Signal{syscall.SIGUSR1},
		Strategy: Graceful(time.Second),
		Deadline: time.Hour,
	})
	kill(t, syscall.SIGUSR1)
	res := wait(t, out)
	require.NoError(t, res.err)
	assert.Equal(t, Graceful(time.Second), got)
	d := res.r.Deadline.Sub(res.r.Started)
	assert.True(t, d > 900*time.Millisecond && d < time.Second+50*time.Millisecond, "Graceful's shorter timeout wins: %v", d)
}

// A second signal cancels the drain: it returns at once with what it has.
func TestHandleSignalsSecondSignalForces(t *testing.T) {
	inStage := make(chan struct{})
	c := mustNew(t, WithStages(
		stage("deliver", func(ctx context.Context, _ Strategy) error {
			close(inStage)
			<-ctx.Done()
			return context.Cause(ctx)
		}),
		stage("close", nop)))
	sigs := newSignals()
	out := handleSignals(t, context.Background(), c, SignalConfig{OnSignal: sigs.on, Deadline: time.Minute})
	kill(t, syscall.SIGTERM)
	<-inStage
	start := time.Now()
	kill(t, syscall.SIGINT)
	res := wait(t, out)
	assert.Less(t, time.Since(start), 5*time.Second, "forced: no wait for the minute's deadline")
	require.ErrorIs(t, res.err, context.Canceled)
	require.NotErrorIs(t, res.err, context.DeadlineExceeded)
	assert.Contains(t, res.err.Error(), "drain: forced by a second signal (interrupt)")
	assert.Equal(t, []os.Signal{syscall.SIGTERM, syscall.SIGINT}, sigs.all())
	assert.True(t, res.r.DeadlineHit)
	assert.True(t, res.r.Stages[0].TimedOut)
	assert.ErrorContains(t, res.r.Stages[0].Err, "second signal")
}

func TestHandleSignalsContextEndsFirst(t *testing.T) {
	c := mustNew(t)
	ctx, cancel := context.WithCancel(context.Background())
	out := handleSignals(t, ctx, c, SignalConfig{})
	cancel()
	res := wait(t, out)
	require.ErrorIs(t, res.err, context.Canceled)
	assert.Equal(t, Report{}, res.r)
	assert.False(t, c.ShuttingDown(), "no drain without a signal")
}

// Once the signal has arrived, canceling ctx does not cut the drain short.
func TestHandleSignalsContextCanceledAfterSignal(t *testing.T) {
	var stageErr error
	c := mustNew(t, WithStages(stage("s", func(ctx context.Context, _ Strategy) error {
		stageErr = ctx.Err()
		return nil
	})))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := handleSignals(t, ctx, c, SignalConfig{OnSignal: func(os.Signal) { cancel() }})
	kill(t, syscall.SIGTERM)
	res := wait(t, out)
	require.NoError(t, res.err)
	assert.NoError(t, stageErr)
}

func TestHandleSignalsExit(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail bool
		code int
	}{{"clean", false, 0}, {"failed", true, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustNew(t)
			require.NoError(t, c.Register("h", func(context.Context) error {
				if tc.fail {
					return errHandler
				}
				return nil
			}))
			codes := make(chan int, 1)
			cfg := SignalConfig{Exit: true}
			cfg.exit = func(code int) { codes <- code }
			out := handleSignals(t, context.Background(), c, cfg)
			kill(t, syscall.SIGTERM)
			res := wait(t, out) // the seam returns, so HandleSignals does too
			assert.Equal(t, tc.code, <-codes)
			assert.Equal(t, tc.fail, res.err != nil)
		})
	}
}

// fakeShutdowner stands in for an owner that wraps a Controller.
type fakeShutdowner struct{ r Report }

func (f fakeShutdowner) Shutdown(context.Context, Strategy) (Report, error) { return f.r, nil }

func TestHandleSignalsExitUncleanReport(t *testing.T) {
	codes := make(chan int, 1)
	cfg := SignalConfig{Exit: true}
	cfg.exit = func(code int) { codes <- code }
	unclean := Report{Accounts: []AccountReport{{Name: "net", Pending: 3}}}
	out := handleSignals(t, context.Background(), fakeShutdowner{unclean}, cfg)
	kill(t, syscall.SIGTERM)
	res := wait(t, out)
	require.NoError(t, res.err)
	assert.Equal(t, 1, <-codes, "no error, but something was lost")
}

func TestHandleSignalsBadConfig(t *testing.T) {
	c := mustNew(t)
	bg := context.Background()
	_, err := HandleSignals(bg, c, SignalConfig{Deadline: -time.Second})
	require.EqualError(t, err, "drain: HandleSignals: Deadline must be >= 0, got -1s")
	_, err = HandleSignals(bg, c, SignalConfig{Strategy: Graceful(-time.Second)})
	require.EqualError(t, err, "drain: Graceful timeout must be > 0, got -1s")
	_, err = HandleSignals(bg, nil, SignalConfig{})
	require.EqualError(t, err, "drain: HandleSignals: nil Shutdowner")
	//lint:ignore SA1012 a nil ctx is the point
	_, err = HandleSignals(nil, c, SignalConfig{})
	require.EqualError(t, err, "drain: HandleSignals: nil context")
	assert.False(t, c.ShuttingDown())
	assert.False(t, errors.Is(err, ErrShutDown))
}
