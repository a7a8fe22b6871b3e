package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/shardlog/shardlog/breaker"
	"github.com/shardlog/shardlog/core"
)

// A sink's circuit breaker and fallback (issue 11). The writer asks the
// breaker before each Write; while it is open the batch goes to the
// fallback, if there is one, or is dropped (breaker-open), and the sink is
// not called. The breaker hears every outcome: an error (other than one
// wrapping core.ErrNotAttempted), a Write past its timeout, and a panic are
// failures.

// newSinkBreaker builds the breaker of sink sc, reporting its openings
// through the engine's error handler; nil without one.
func newSinkBreaker(e *Engine, sc sinkConfig) *breaker.Breaker {
	if sc.noBreaker {
		return nil
	}
	cfg := sc.breaker
	name := sc.name
	user := cfg.OnStateChange
	cfg.OnStateChange = func(from, to breaker.State) {
		// Openings, and recoveries (a breaker closes from half-open,
		// after a probe succeeded, or from forced-open when released).
		if to == breaker.Open || to == breaker.ForcedOpen || to == breaker.Closed && from != breaker.Closed {
			e.errs.report(fmt.Errorf("engine: sink %s: circuit breaker %s -> %s", name, from, to))
		}
		if user != nil {
			// User code, run from the sink's writer: isolated, so that
			// a panic is recovered and reported and a Goexit ends only
			// its own goroutine.
			if v := isolated(func() { user(from, to) }); v != nil {
				e.errs.report(fmt.Errorf("engine: sink %s: breaker OnStateChange panicked: %v", name, v))
			}
		}
	}
	b, err := breaker.New(cfg)
	if err != nil {
		// SinkBreaker checked the configuration; the defaults are valid.
		panic("engine: " + err.Error())
	}
	return b
}

// admit asks the breaker for a Write. When it refuses, the batch is
// diverted or dropped here and admit returns false.
func (w *sinkWriter) admit() (breaker.Ticket, bool) {
	if w.br == nil {
		return breaker.Ticket{}, true
	}
	t, ok := w.br.Allow()
	if !ok {
		w.divert()
	}
	return t, ok
}

// report tells the breaker how the Write it admitted went.
func (w *sinkWriter) report(t breaker.Ticket, err error, late bool, took time.Duration) {
	if w.br == nil {
		return
	}
	switch {
	case w.canceledByShutdown(err):
		// The shutdown canceled the call: nothing learned about the sink
		// (counting it a failure opened breakers during every drain that
		// cut a write short).
		w.br.Release(t)
		return
	case late:
		// Past the write timeout is a failure, whatever the call said.
		if err == nil || errors.Is(err, core.ErrNotAttempted) || errors.Is(err, core.ErrRejected) {
			err = context.DeadlineExceeded
		}
	case errors.Is(err, core.ErrNotAttempted):
		// Not tried: says nothing about the sink's health. A half-open
		// probe is handed back for the next batch.
		w.br.Release(t)
		return
	case errors.Is(err, core.ErrRejected):
		err = nil // the sink answered: one entry it cannot take
	}
	w.br.Done(t, err, took)
}

// divert hands w.entries to the fallback, or drops them (breaker-open).
// The events count as diverted as the fallback's outcomes are counted.
func (w *sinkWriter) divert() {
	events := uint64(len(w.entries))
	if w.fallback == nil {
		w.counters.dropped[BreakerOpen].Add(events)
		return
	}
	entries := w.entries
	unencoded := 0 // events the fallback's encoder panicked on: failed for it
	if w.fbReencode {
		// The fallback encodes differently: encode for it here (this
		// path runs only while the breaker is open). Lines are sliced
		// once the buffer has stopped growing.
		w.fbBuf = w.fbBuf[:0]
		w.fbEntries = w.fbEntries[:0]
		offs := w.fbOffs[:0]
		for _, en := range w.entries {
			start := len(w.fbBuf)
			var ok bool
			if w.fbBuf, ok = appendEncoded(w.fbEnc, w.fbBuf, en.Event, w.e); !ok {
				unencoded++
				continue
			}
			offs = append(offs, start, len(w.fbBuf))
			w.fbEntries = append(w.fbEntries, core.Entry{Event: en.Event})
		}
		for i := range w.fbEntries {
			w.fbEntries[i].Line = w.fbBuf[offs[2*i]:offs[2*i+1]]
		}
		w.fbOffs = offs
		entries = w.fbEntries
	} else if w.fbEnc == nil {
		w.fbEntries = w.fbEntries[:0]
		for _, en := range w.entries {
			w.fbEntries = append(w.fbEntries, core.Entry{Event: en.Event})
		}
		entries = w.fbEntries
	}
	w.counters.fallbackFailed.Add(uint64(unencoded))
	for len(entries) > 0 {
		n, _, err := w.safeWrite(w.fallback, entries)
		n = max(0, min(n, len(entries)))
		w.counters.fallbackWritten.Add(uint64(n))
		failed := len(entries) - n
		rejected := failed > 0 && errors.Is(err, core.ErrRejected)
		if rejected {
			failed = 1 // entries[n] alone; the rest follows (core.ErrRejected)
		}
		if failed > 0 {
			w.counters.fallbackFailed.Add(uint64(failed))
			if err == nil {
				err = errShortWrite(n, len(entries))
			}
		}
		if err != nil {
			w.counters.errors.Add(1)
			w.noteError(fmt.Errorf("fallback: %w", err))
			w.e.errs.report(fmt.Errorf("engine: sink %s: fallback write: %w", w.name, err))
		}
		if !rejected {
			break
		}
		entries = entries[n+1:]
	}
	clear(w.fbEntries)
}

// ownEncoder is the encoder whose lines w.entries carry, or nil.
func (w *sinkWriter) ownEncoder() core.Encoder {
	if w.enc < 0 {
		return nil
	}
	return w.e.encoders[w.enc]
}

// fallbackEncoder is the fallback's encoder, or nil.
func fallbackEncoder(s core.Sink) core.Encoder {
	if enc, ok := s.(core.Encoding); ok {
		return enc.Encoder()
	}
	return nil
}

// flushFallback and closeFallback follow the sink's own Flush and Close.
func (w *sinkWriter) flushFallback(ctx context.Context) {
	if w.fallback != nil {
		_ = w.safeCall("fallback flush", w.fallback.Flush, ctx)
	}
}

func (w *sinkWriter) closeFallback(ctx context.Context) {
	if w.fallback != nil {
		_ = w.safeCall("fallback close", w.fallback.Close, ctx)
	}
}

// RetryPolicy says how a sink writer retries the part of a batch that a
// Write failed to write: up to MaxAttempts calls in all, waiting
// InitialBackoff, then Multiplier times longer each time up to
// MaxBackoff, each wait moved at random by up to Jitter of itself, and no
// new attempt once MaxElapsed has passed since the first. Every attempt
// asks the sink's breaker first; a batch the breaker refuses goes to the
// fallback or is dropped (breaker-open). Retried events count once, when
// finally written or failed. While a writer waits to retry, its sink's
// batches queue within the memory budget as for any slow sink; other
// sinks are not held up.
type RetryPolicy struct {
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	Multiplier     float64
	Jitter         float64
	MaxElapsed     time.Duration
}

// DefaultRetryPolicy is a sink's retry policy unless SinkRetry says
// otherwise: 3 attempts, 50ms then 100ms apart (±20%), within 2s. The
// shape of the OpenTelemetry Collector's retry_on_failure and Serilog's
// batching (exponential, jittered, bounded in attempts and time), scaled
// to a logger that holds the batch in memory while it waits: a sink that
// stays down is soon the breaker's business, not the retry's.
var DefaultRetryPolicy = RetryPolicy{
	MaxAttempts:    3,
	InitialBackoff: 50 * time.Millisecond,
	MaxBackoff:     time.Second,
	Multiplier:     2,
	Jitter:         0.2,
	MaxElapsed:     2 * time.Second,
}

// NoRetry writes each batch once.
var NoRetry = RetryPolicy{MaxAttempts: 1}

func (p RetryPolicy) validate() error {
	switch {
	case p.MaxAttempts < 1:
		return fmt.Errorf("RetryPolicy.MaxAttempts must be >= 1, got %d", p.MaxAttempts)
	case p.MaxAttempts == 1:
		return nil
	case p.InitialBackoff <= 0:
		return fmt.Errorf("RetryPolicy.InitialBackoff must be > 0, got %v", p.InitialBackoff)
	case p.MaxBackoff < p.InitialBackoff:
		return fmt.Errorf("RetryPolicy.MaxBackoff must be >= InitialBackoff (%v), got %v", p.InitialBackoff, p.MaxBackoff)
	case p.Multiplier < 1:
		return fmt.Errorf("RetryPolicy.Multiplier must be >= 1, got %v", p.Multiplier)
	case p.Jitter < 0 || p.Jitter >= 1:
		return fmt.Errorf("RetryPolicy.Jitter must be in [0, 1), got %v", p.Jitter)
	case p.MaxElapsed <= 0:
		return fmt.Errorf("RetryPolicy.MaxElapsed must be > 0, got %v", p.MaxElapsed)
	}
	return nil
}

// backoff is the wait before attempt number attempt+1 (attempt >= 1).
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := float64(p.InitialBackoff) * math.Pow(p.Multiplier, float64(attempt-1))
	d = min(d, float64(p.MaxBackoff))
	if p.Jitter > 0 {
		d *= 1 + p.Jitter*(2*rand.Float64()-1)
	}
	return time.Duration(d)
}

// writeOutcome is what writeWithRetries did with a batch.
type writeOutcome struct {
	// done is how many entries of the batch the sink has taken or
	// rejected (a prefix); the rest was not written.
	done int
	// rejected counts the entries the sink rejected (core.ErrRejected)
	// among the first done, the loss marker aside; markerRejected says
	// whether the marker was.
	rejected       int
	markerRejected bool
	// refused says the breaker refused a retry: the rest is the caller's
	// to divert.
	refused bool
	// halted says Shutdown ended the wait for a retry: the rest is lost
	// to the shutdown, not failed by the sink.
	halted bool
	// err is the last attempt's error, nil after a rejection the rest
	// followed.
	err error
}

// writeWithRetries writes all, retrying the unwritten rest under the
// sink's retry policy. An entry the sink rejects (core.ErrRejected) is
// counted here, failed, and the entries after it follow at once, without
// using an attempt. markers is 1 when all[0] is a loss marker.
func (w *sinkWriter) writeWithRetries(all []core.Entry, ticket breaker.Ticket, markers int) (out writeOutcome) {
	start := time.Now()
	attempt := 1
	for {
		w.entries = all[out.done:]
		n, err := w.writeOnce(ticket)
		out.done += n
		out.err = err
		if out.done < len(all) && errors.Is(err, core.ErrRejected) {
			// all[out.done] alone cannot be written: it fails, reported
			// as a failed call, and the rest goes on.
			if out.done < markers {
				out.markerRejected = true
			} else {
				out.rejected++
				w.counters.failed.Add(1)
			}
			w.callFailed(err)
			out.done++
			out.err = nil
			if out.done == len(all) {
				return out
			}
			if ticket, out.refused = w.nextTicket(); out.refused {
				return out
			}
			continue
		}
		if out.done == len(all) || errors.Is(err, core.ErrNotAttempted) || errors.Is(err, core.ErrPermanent) {
			return out
		}
		p := w.retry
		if attempt >= p.MaxAttempts || time.Since(start) >= p.MaxElapsed {
			return out
		}
		if !w.waitToRetry(p.backoff(attempt)) {
			// Shutdown took the rest before it could be tried again. The
			// attempt is reported as failed unless it was the shutdown
			// that canceled it (that says nothing about the sink).
			if err == nil {
				err = errShortWrite(n, len(w.entries))
			}
			if !w.canceledByShutdown(err) {
				w.callFailed(err)
			}
			out.halted, out.err = true, nil
			return out
		}
		if ticket, out.refused = w.nextTicket(); out.refused {
			return out
		}
		// The failed attempt is a failed sink call like the last one,
		// counted and reported although a retry may yet write its events.
		if err == nil {
			err = errShortWrite(n, len(w.entries))
		}
		w.callFailed(err)
		w.counters.retries.Add(1)
		attempt++
	}
}

// canceledByShutdown reports whether err is a sink call's answer to
// Shutdown canceling it (abandoned at the deadline, or Immediate).
func (w *sinkWriter) canceledByShutdown(err error) bool {
	return err != nil && (w.abandoned.Load() || w.discarding.Load()) && errors.Is(err, context.Canceled)
}

// nextTicket asks the breaker for the next call of a batch under way;
// refused when it is open (the rest is then diverted).
func (w *sinkWriter) nextTicket() (t breaker.Ticket, refused bool) {
	if w.br == nil {
		return breaker.Ticket{}, false
	}
	t, ok := w.br.Allow()
	return t, !ok
}

// waitToRetry waits d, or until Shutdown gives up on the writer (false).
func (w *sinkWriter) waitToRetry(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return !w.abandoned.Load()
	case <-w.halt:
		return false
	}
}
