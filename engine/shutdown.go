package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shardlog/shardlog/drain"
)

// The engine's shutdown runs on a drain.Controller: the application's
// handlers (OnShutdown), then five stages, each watching one step of the
// pipeline finish:
//
//	stop intake   close the queue (later calls: dropped{closed}); under
//	              Immediate, tell flushers and writers to discard
//	drain shards  every flusher has drained its shard and pushed (or,
//	              discarding, counted) its last batch
//	deliver held  every writer has written (or counted) what it holds
//	flush sinks   every sink's last Flush has returned
//	close sinks   every sink's Close has returned
//
// The stages do no work of their own beyond the first: the flushers and
// writers finish by themselves once the queue is closed, and the stages
// wait for them. When the drain's context ends (the caller's deadline, or
// Graceful's), the stage that sees it gives up on the pipeline (expire):
// flushers discard what they still drain, writers count what they hold as
// dropped{shutdown} and close their sinks with a canceled context, and a
// writer inside a sink call that ignores the cancellation is left there,
// marked Stuck, its events Pending until the call returns.
func (e *Engine) newController() (*drain.Controller, error) {
	return drain.New(
		drain.WithStages(
			drain.Stage{Name: "stop intake", Run: e.stopIntake, Always: true},
			drain.Stage{Name: "drain shards", Run: e.drainShards},
			drain.Stage{Name: "deliver held", Run: e.deliverHeld},
			drain.Stage{Name: "flush sinks", Run: e.flushSinks},
			drain.Stage{Name: "close sinks", Run: e.closeSinks},
		),
		drain.WithAccounting(e.accounts),
		drain.WithOverrun(shutdownOverrun),
	)
}

// shutdownOverrun is how long past the drain's deadline the controller
// waits for the stages to account for what they gave up: callGrace for a
// canceled sink call, and room for the scheduler on a loaded machine.
// Graceful(50ms) then returns within 58ms whatever the sinks do.
const shutdownOverrun = 8 * time.Millisecond

// Shutdown stops the engine under a strategy (drain.FlushPending when none
// is given): later log calls are dropped as closed; what was accepted
// before is delivered (FlushPending: all of it, unless ctx ends first;
// Graceful(d): until d or ctx, whichever ends first) or discarded and
// counted dropped{shutdown} (Immediate); every sink is flushed and closed.
// Handlers registered with OnShutdown run first, concurrently. Shutdown
// returns by the drain's deadline plus a few milliseconds whatever the
// sinks and handlers do.
//
// The error is nil only when every handler returned nil, everything
// accepted was written, failed or dropped for a counted reason, and every
// sink was closed; it wraps context.DeadlineExceeded (or ctx's error) when
// the deadline cut the drain short, and joins the sinks' Close errors.
//
// The Report is the accounting when Shutdown returns, with Drain set to
// the drain's own report (strategy, duration, stages, handlers, what each
// sink received and lost during the drain). After a clean shutdown
// nothing is Pending. After the deadline, events still held are counted
// dropped{shutdown}, except those inside a sink call that had not
// returned: they stay Pending, the sink is marked Stuck, and they settle
// when that call returns.
//
// Concurrent and repeated calls are safe: the first runs the drain, the
// others wait for it (or for their own ctx) and get its drain report and
// error, with the accounting as it is when they return (so settled
// figures once stuck calls have returned). Passing more than one strategy,
// or an invalid one, is an error and starts nothing.
func (e *Engine) Shutdown(ctx context.Context, strategy ...drain.Strategy) (Report, error) {
	s := drain.FlushPending
	switch len(strategy) {
	case 0:
	case 1:
		s = strategy[0]
	default:
		return e.Stats(), fmt.Errorf("engine: Shutdown takes at most one strategy, got %d", len(strategy))
	}
	dr, err := e.ctrl.Shutdown(ctx, s)
	e.errs.finish()
	rep := e.Stats()
	if !dr.Started.IsZero() {
		rep.Drain = &dr
	}
	return rep, err
}

// OnShutdown registers a cleanup handler that Shutdown runs before it
// stops the engine, concurrently with the other handlers, under the
// drain's context (the seed's register). Events the handler logs are
// delivered like any other. After Shutdown has begun it returns an error
// wrapping drain.ErrShutDown.
func (e *Engine) OnShutdown(name string, h func(ctx context.Context) error) error {
	return e.ctrl.Register(name, h)
}

// Controller returns the engine's shutdown controller, for
// drain.HandleSignals; its Shutdown is the engine's.
func (e *Engine) Controller() *drain.Controller { return e.ctrl }

// stopIntake closes the queue first: flushers decide their final epoch
// from the queue's closed flag, so no event can be accepted after a
// flusher has taken its final target.
func (e *Engine) stopIntake(_ context.Context, s drain.Strategy) error {
	if s.Kind() == drain.KindImmediate {
		e.discardAll()
	}
	e.q.Close()
	hookShutdownAfterClose()
	e.state.Store(stateClosing)
	for _, f := range e.flushers {
		signal(f.kick)
	}
	go func() {
		e.flusherWG.Wait()
		close(e.flushersDone)
		for _, w := range e.writers {
			signal(w.wake)
		}
	}()
	return nil
}

// discardAll turns every flusher and writer to discarding (Immediate).
func (e *Engine) discardAll() {
	e.discarding.Store(true)
	for _, w := range e.writers {
		w.discard()
	}
	for _, f := range e.flushers {
		signal(f.room) // a flusher pacing a Block batch stops waiting
		signal(f.kick)
	}
}

// expire gives up on the pipeline when the drain's context has ended:
// flushers discard, writers stop at their next step (see abandon).
func (e *Engine) expire() {
	e.discarding.Store(true)
	for _, w := range e.writers {
		w.abandon()
	}
	for _, f := range e.flushers {
		signal(f.room)
		signal(f.kick)
	}
}

// drainShards waits for the flushers. They do no I/O; once the drain has
// expired they only count what they drain, so this returns promptly.
func (e *Engine) drainShards(ctx context.Context, _ drain.Strategy) error {
	select {
	case <-e.flushersDone:
		return nil
	case <-ctx.Done():
	}
	e.expire()
	<-e.flushersDone
	return ctx.Err()
}

// deliverHeld waits for every writer to settle its accounting. After the
// deadline it waits for the writers that are not inside a sink call (a
// Dekker pair with enterCall: a writer either sees abandoned before it
// calls the sink, or is seen inside the call); those settle promptly. A
// writer inside a call gets callGrace: a sink that honours its canceled
// context returns at once and the writer settles; one that ignores it is
// left in the call, reported Stuck.
func (e *Engine) deliverHeld(ctx context.Context, _ drain.Strategy) error {
	for _, w := range e.writers {
		select {
		case <-w.settled:
			continue
		case <-ctx.Done():
		}
		e.expire()
		grace := time.NewTimer(callGrace)
		defer grace.Stop()
		for _, w := range e.writers {
			if !w.inCall.Load() {
				select {
				case <-w.settled:
				case <-w.exited:
				}
				continue
			}
			select {
			case <-w.settled:
			case <-w.exited:
			case <-grace.C:
				grace.Reset(0) // the grace is spent: look at the rest without waiting
			}
		}
		return ctx.Err()
	}
	return nil
}

// callGrace is how long a shutdown past its deadline waits, in all, for
// the sink calls it canceled to return (deliverHeld). On Linux a Go timer
// under about 1ms fires after about 1ms; this is 2, within the
// shutdownOverrun the drain controller allows past the deadline.
const callGrace = 2 * time.Millisecond

// flushSinks waits for every sink's last Flush.
func (e *Engine) flushSinks(ctx context.Context, _ drain.Strategy) error {
	for _, w := range e.writers {
		select {
		case <-w.flushed:
		case <-ctx.Done():
			e.expire()
			return ctx.Err()
		}
	}
	return nil
}

// closeSinks waits for every sink's Close and joins their errors.
func (e *Engine) closeSinks(ctx context.Context, _ drain.Strategy) error {
	defer e.state.Store(stateClosed)
	var errs []error
	for _, w := range e.writers {
		select {
		case <-w.exited:
			if w.closeErr != nil {
				errs = append(errs, fmt.Errorf("engine: close %s: %w", w.name, w.closeErr))
			}
		case <-ctx.Done():
			e.expire()
			if len(errs) == 0 {
				return ctx.Err()
			}
			return errors.Join(append(errs, ctx.Err())...)
		}
	}
	// Every flusher and writer has exited: no one takes from or returns
	// to the free lists any more, and an engine kept after its shutdown
	// keeps nothing of the events it wrote (freeList).
	for _, f := range e.flushers {
		f.sweep()
	}
	return errors.Join(errs...)
}

// accounts is the drain's view of the sinks' accounting: delivered counts
// what the sink or its fallback wrote, failed what either failed.
func (e *Engine) accounts() []drain.Account {
	r := e.report(false)
	out := make([]drain.Account, len(r.Sinks))
	for i, st := range r.Sinks {
		a := drain.Account{
			Name:      st.Name,
			Delivered: st.Written + st.FallbackWritten,
			Failed:    st.Failed + st.FallbackFailed,
			Pending:   st.Pending,
			Stuck:     st.Stuck,
			Dropped:   map[string]uint64{},
			Withheld:  map[string]uint64{},
		}
		for _, rs := range Reasons() {
			n := st.Dropped.Count(rs)
			switch {
			case n == 0:
			case rs == Filtered || rs == BelowSinkLevel:
				// The application's choice (a filter, a sink's level):
				// not delivered, but not lost either.
				a.Withheld[rs.String()] = n
			default:
				a.Dropped[rs.String()] = n
			}
		}
		out[i] = a
	}
	return out
}
