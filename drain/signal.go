package drain

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// DefaultSignalDeadline is HandleSignals' drain deadline when
// SignalConfig.Deadline is 0: below Kubernetes' default
// terminationGracePeriodSeconds of 30s, leaving the process time to exit.
const DefaultSignalDeadline = 25 * time.Second

// SignalConfig configures HandleSignals. The zero value is usable: drain
// with FlushPending, under a 25s deadline, on SIGTERM or os.Interrupt, and
// return.
type SignalConfig struct {
	// Signals are the signals that start the drain. Default SIGTERM and
	// os.Interrupt.
	Signals []os.Signal
	// Strategy is passed to Shutdown. The zero value is FlushPending:
	// deliver everything, bounded by Deadline. With Graceful(d) the drain
	// ends after d or Deadline, whichever is earlier.
	Strategy Strategy
	// Deadline bounds the drain, counted from the signal. Default
	// DefaultSignalDeadline (25s); negative is an error.
	Deadline time.Duration
	// Exit makes HandleSignals end the process after the drain, with
	// status 0 if Shutdown returned no error and the report is Clean, else
	// 1. The report is then not returned: to log it, pass HandleSignals a
	// Shutdowner that wraps the Controller and writes the report (to
	// stderr: the logger has just been shut down).
	Exit bool
	// OnSignal, if set, is called with each signal HandleSignals receives:
	// the first before the drain starts, a second (which forces the drain
	// to end) from another goroutine while it runs. Calls never overlap
	// and none is made after HandleSignals returns. It must not block.
	OnSignal func(os.Signal)

	exit  func(code int) // test seam: os.Exit when nil
	ready func()         // test seam: called once the signals are being caught
}

// HandleSignals waits for one of cfg.Signals, then drains c: it calls
// c.Shutdown(dctx, cfg.Strategy) where dctx ends cfg.Deadline after the
// signal. dctx keeps ctx's values but not its cancellation: once the
// signal has arrived, canceling ctx does not cut the drain short. A second
// signal during the drain forces it: dctx is canceled (its cause names
// the signal) and Shutdown returns with what it has, within its overrun.
// It returns Shutdown's report and error, or, with cfg.Exit, ends the
// process.
//
// If ctx ends before a signal arrives, HandleSignals returns
// (Report{}, ctx.Err()) without draining. Invalid configuration (a nil ctx
// or c, an invalid Strategy, a negative Deadline) is an error returned at
// once. The signals are caught (signal.Notify) only while HandleSignals
// runs; afterwards their default action applies again. Call it from one
// goroutine, typically main's.
func HandleSignals(ctx context.Context, c Shutdowner, cfg SignalConfig) (Report, error) {
	switch {
	case ctx == nil:
		return Report{}, errors.New("drain: HandleSignals: nil context")
	case c == nil:
		return Report{}, errors.New("drain: HandleSignals: nil Shutdowner")
	case cfg.Deadline < 0:
		return Report{}, fmt.Errorf("drain: HandleSignals: Deadline must be >= 0, got %v", cfg.Deadline)
	}
	if err := cfg.Strategy.Validate(); err != nil {
		return Report{}, err
	}
	deadline := cfg.Deadline
	if deadline == 0 {
		deadline = DefaultSignalDeadline
	}
	sigs := cfg.Signals
	if len(sigs) == 0 {
		sigs = []os.Signal{syscall.SIGTERM, os.Interrupt}
	}

	// Room for the first and the second signal; more are not needed.
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, sigs...)
	defer signal.Stop(ch)
	if cfg.ready != nil {
		cfg.ready()
	}

	var sig os.Signal
	select {
	case <-ctx.Done():
		return Report{}, ctx.Err()
	case sig = <-ch:
	}
	if cfg.OnSignal != nil {
		cfg.OnSignal(sig)
	}

	base, force := context.WithCancelCause(context.WithoutCancel(ctx))
	defer force(nil)
	dctx, cancel := context.WithTimeout(base, deadline)
	defer cancel()

	finished, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case sig := <-ch:
			if cfg.OnSignal != nil {
				cfg.OnSignal(sig)
			}
			force(fmt.Errorf("drain: forced by a second signal (%v)", sig))
		case <-finished:
		}
	}()
	rep, err := c.Shutdown(dctx, cfg.Strategy)
	close(finished)
	<-watched

	if cfg.Exit {
		code := 0
		if err != nil || !rep.Clean() {
			code = 1
		}
		exit := cfg.exit
		if exit == nil {
			exit = os.Exit
		}
		exit(code)
	}
	return rep, err
}
