package engine

import (
	"context"
	"sync"
	"time"
)

// callContext is the context a sink writer hands to each Write: it ends at
// the sink's write timeout (WithSinkWriteTimeout, SinkWriteTimeout), or
// when Shutdown gives up on the writer, so a sink that honours its context
// cannot hang its writer for ever.
//
// One is reused for every call of a writer, with one timer, so a Write
// costs a timer reset and two uncontended lock pairs instead of a
// context.WithTimeout (a context, a timer and a goroutine-safe cancel
// function allocated per batch). Sinks must not keep the context after
// Write returns (core.Sink says so for everything a Write receives).
//
// The timer may fire late, after its call ended and the next began: fire
// checks the current call's deadline, so a stale expiry never ends a call
// early. The done channel is replaced only after it has been closed.
type callContext struct {
	parent  context.Context // values, and Shutdown's cancellation
	timeout time.Duration
	timer   *time.Timer

	mu       sync.Mutex
	deadline time.Time
	active   bool
	done     chan struct{}
	closed   bool
	err      error
	stopped  error // set by stop: every call from now on starts ended
}

func newCallContext(parent context.Context, timeout time.Duration) *callContext {
	c := &callContext{parent: parent, timeout: timeout, done: make(chan struct{})}
	c.timer = time.AfterFunc(time.Hour, func() { c.expire() })
	c.timer.Stop()
	return c
}

// begin starts a call: a fresh deadline, an open done channel.
func (c *callContext) begin() {
	c.mu.Lock()
	if c.closed {
		c.done = make(chan struct{})
		c.closed = false
	}
	c.err = nil
	c.deadline = time.Now().Add(c.timeout)
	c.active = true
	if c.stopped != nil {
		c.closeLocked(c.stopped)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.timer.Reset(c.timeout)
}

// end finishes the call; it reports whether the call ran past its
// deadline (whatever the sink returned).
func (c *callContext) end() (late bool) {
	c.timer.Stop()
	c.mu.Lock()
	c.active = false
	late = c.err == context.DeadlineExceeded || !time.Now().Before(c.deadline)
	c.mu.Unlock()
	return late
}

func (c *callContext) expire() {
	c.mu.Lock()
	if c.active && !time.Now().Before(c.deadline) {
		c.closeLocked(context.DeadlineExceeded)
	}
	c.mu.Unlock()
}

// stop ends the call in progress, if any, and every later one as it
// begins, with err (Shutdown gave up, or discards). Under the mutex, so a
// call that begins concurrently either is ended here or sees stopped.
func (c *callContext) stop(err error) {
	c.mu.Lock()
	c.stopped = err
	if c.active {
		c.closeLocked(err)
	}
	c.mu.Unlock()
}

func (c *callContext) closeLocked(err error) {
	if !c.closed {
		c.err = err
		close(c.done)
		c.closed = true
	}
}

// Deadline, Done, Err and Value make callContext a context.Context.
func (c *callContext) Deadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deadline, true
}

func (c *callContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.done
}

func (c *callContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *callContext) Value(key any) any { return c.parent.Value(key) }
