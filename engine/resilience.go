package engine

import (
	"context"
	"errors"
	"fmt"
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
		if to == breaker.Open || from == breaker.Open && to == breaker.Closed || to == breaker.ForcedOpen {
			e.errs.report(fmt.Errorf("engine: sink %s: circuit breaker %s -> %s", name, from, to))
		}
		if user != nil {
			user(from, to)
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
	if late && err == nil {
		err = context.DeadlineExceeded
	}
	if errors.Is(err, core.ErrNotAttempted) {
		err = nil // not tried: says nothing about the sink's health
	}
	w.br.Done(t, err, took)
}

// divert hands w.entries to the fallback, or drops them (breaker-open).
// The events count as diverted once the fallback's outcome is counted.
func (w *sinkWriter) divert() {
	events := uint64(len(w.entries))
	if w.fallback == nil {
		w.counters.dropped[BreakerOpen].Add(events)
		return
	}
	entries := w.entries
	if w.fbEnc != nil && w.fbEnc != w.ownEncoder() {
		// The fallback encodes differently: encode for it here (this
		// path runs only while the breaker is open).
		w.fbBuf = w.fbBuf[:0]
		w.fbEntries = w.fbEntries[:0]
		offs := w.fbOffs[:0]
		for _, en := range w.entries {
			offs = append(offs, len(w.fbBuf))
			w.fbBuf = appendEncoded(w.fbEnc, w.fbBuf, en.Event, w.e)
		}
		offs = append(offs, len(w.fbBuf))
		for i, en := range w.entries {
			w.fbEntries = append(w.fbEntries, core.Entry{Event: en.Event, Line: w.fbBuf[offs[i]:offs[i+1]]})
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
	n, err := w.fallbackWrite(entries)
	n = max(0, min(n, len(entries)))
	w.counters.fallbackWritten.Add(uint64(n))
	if failed := len(entries) - n; failed > 0 {
		w.counters.fallbackFailed.Add(uint64(failed))
		if err == nil {
			err = fmt.Errorf("wrote %d of %d events without an error", n, len(entries))
		}
	}
	if err != nil {
		w.counters.errors.Add(1)
		w.noteError(fmt.Errorf("fallback: %w", err))
		w.e.errs.report(fmt.Errorf("engine: sink %s: fallback write: %w", w.name, err))
	}
	w.counters.diverted.Add(events)
	clear(w.fbEntries)
}

// fallbackWrite calls the fallback's Write under the sink's write timeout,
// turning a panic into an error.
func (w *sinkWriter) fallbackWrite(entries []core.Entry) (n int, err error) {
	w.call.begin()
	defer func() {
		w.call.end()
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("panic: %v", r)
		}
	}()
	return w.fallback.Write(w.call, entries)
}

// ownEncoder is the encoder whose lines w.entries carry, or nil.
func (w *sinkWriter) ownEncoder() core.Encoder {
	if w.enc < 0 {
		return nil
	}
	return w.e.encoders[w.enc]
}

// appendEncoded encodes ev with enc, turning a panic into an error report
// and an empty line.
func appendEncoded(enc core.Encoder, buf []byte, ev *core.Event, e *Engine) (out []byte) {
	start := len(buf)
	defer func() {
		if r := recover(); r != nil {
			e.errs.report(fmt.Errorf("engine: encoder %T panicked: %v", enc, r))
			out = buf[:start]
		}
	}()
	return enc.Append(buf, ev)
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
