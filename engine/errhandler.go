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
type errorReporter struct {
	handler    func(error)
	count      atomic.Uint64
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (r *errorReporter) init(h func(error)) { r.handler = h }

func (r *errorReporter) report(err error) {
	r.count.Add(1)
	if r.handler != nil {
		func() {
			defer func() { _ = recover() }() // a panicking handler must not kill the pipeline
			r.handler(err)
		}()
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if now.Sub(r.last) < time.Second {
		r.suppressed++
		return
	}
	if r.suppressed > 0 {
		fmt.Fprintf(os.Stderr, "shardlog: %v (and %d more errors in the last second)\n", err, r.suppressed)
	} else {
		fmt.Fprintf(os.Stderr, "shardlog: %v\n", err)
	}
	r.last, r.suppressed = now, 0
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
