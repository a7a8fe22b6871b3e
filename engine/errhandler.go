package engine

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shardlog/shardlog/core"
)

// errorReporter delivers internal errors to the configured handler, or by
// default to stderr at most once per second with a count of those it
// suppressed. It never runs on a logging caller's goroutine.
//
// The default handler decides under its mutex and writes after: a
// stderr that blocks (a full pipe) holds up the one goroutine printing,
// never the reports it suppresses. What a burst suppressed is printed a
// second after the line before it (tail), and at Shutdown (finish).
type errorReporter struct {
	handler    func(error)
	count      atomic.Uint64
	mu         sync.Mutex
	last       time.Time
	suppressed int
	tail       *time.Timer // prints the suppressed count; nil when none is due
}

func (r *errorReporter) init(h func(error)) { r.handler = h }

func (r *errorReporter) report(err error) {
	r.count.Add(1)
	if r.handler != nil {
		// On a goroutine of its own, waited for: a panic is recovered, and
		// a runtime.Goexit (t.FailNow in a test's handler) ends that
		// goroutine, not the flusher or writer reporting (errors are rare:
		// a goroutine each is cheap).
		isolated(func() { r.handler(err) })
		return
	}
	r.mu.Lock()
	now := time.Now()
	if now.Sub(r.last) < time.Second {
		r.suppressed++
		if r.tail == nil {
			r.tail = time.AfterFunc(r.last.Add(time.Second).Sub(now), r.printTail)
		}
		r.mu.Unlock()
		return
	}
	n := r.suppressed
	r.last, r.suppressed = now, 0
	r.mu.Unlock()
	if n > 0 {
		fmt.Fprintf(os.Stderr, "shardlog: %v (after %d more errors, suppressed)\n", err, n)
	} else {
		fmt.Fprintf(os.Stderr, "shardlog: %v\n", err)
	}
}

// printTail prints the count of the errors suppressed since the last
// line, if any are left to print.
func (r *errorReporter) printTail() {
	r.mu.Lock()
	n := r.suppressed
	r.tail = nil
	if n == 0 {
		r.mu.Unlock()
		return
	}
	r.last, r.suppressed = time.Now(), 0
	r.mu.Unlock()
	fmt.Fprintf(os.Stderr, "shardlog: %d more errors, suppressed (at most one line a second)\n", n)
}

// finish prints what is left to print, at Shutdown, and stops the timer.
func (r *errorReporter) finish() {
	r.mu.Lock()
	t := r.tail
	r.mu.Unlock()
	if t != nil && t.Stop() {
		r.printTail()
	}
}

// isolated runs f on a goroutine of its own and waits for it to end:
// returned, panicked (recovered, reported as the result) or ended by
// runtime.Goexit, which no recover stops and which would otherwise end
// the caller's goroutine. For user callbacks that run rarely on the
// pipeline (the error handler, a breaker's OnStateChange).
func isolated(f func()) (panicked any) {
	done := make(chan any, 1)
	go func() {
		var v any
		defer func() { done <- v }() // runs on return, panic and Goexit
		defer func() { v = recover() }()
		f()
	}()
	return <-done
}

// safely runs a user callback (enricher, filter), reporting a panic
// instead of letting it kill the flusher.
// extract runs a context extractor on a logging caller's goroutine: a
// panic gives no fields, never reaches the caller, and is reported from
// another goroutine (the handler never runs on a caller's).
func (e *Engine) extract(x ContextExtractor, ctx context.Context) (fs []core.Field) {
	defer func() {
		if r := recover(); r != nil {
			fs = nil
			go e.errs.report(fmt.Errorf("engine: context extractor panicked: %v", r))
		}
	}()
	return x(ctx)
}

func (e *Engine) safely(what string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			e.errs.report(fmt.Errorf("engine: %s panicked: %v", what, r))
		}
	}()
	f()
}
