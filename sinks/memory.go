package sinks

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks/format"
)

// MemoryOptions configures NewMemory.
type MemoryOptions struct {
	// Encoder encodes the events for Lines; nil means format.JSON{}.
	Encoder core.Encoder
}

// Memory is a core.Sink that keeps what it is given, for tests and examples: a
// deep copy of every event, and every record as a line of text.
//
// Memory implements core.Encoding, so under the engine its lines are the
// engine's encoding of the events; a core.Entry without a Line is encoded with
// the Memory's core.Encoder.
//
// Its readers (Events, Lines, Len, Wait) are safe to call from any
// goroutine while the engine writes. So are the failure injectors
// (SetErr, FailAfter, SetDelay), which let engine tests simulate a failing
// or slow sink.
//
// Context: Write and Flush return ctx's error, wrapped, when ctx is done
// before they start; Write also gives up its delay (SetDelay) when ctx is
// done. Lifecycle: after Close, Write and Flush and a second Close return
// ErrClosed; what was stored stays readable.
type Memory struct {
	enc core.Encoder

	mu      sync.Mutex
	events  []core.Event
	lines   []string
	scratch []byte // encodes the entries that come without a Line
	closed  bool
	// arrived is closed, and set to nil, when events are stored or the
	// sink is closed; Wait makes it, so Write costs nothing when nobody
	// waits.
	arrived chan struct{}

	failErr   error // nil: Writes succeed
	failAfter int   // events still stored before failing with failErr
	delay     time.Duration
}

var (
	_ core.Sink     = (*Memory)(nil)
	_ core.Encoding = (*Memory)(nil)
)

// NewMemory returns an empty Memory. It has no options that can be
// invalid, so unlike the other constructors it returns no error.
func NewMemory(opts MemoryOptions) *Memory {
	enc := opts.Encoder
	if enc == nil {
		enc = format.JSON{}
	}
	return &Memory{enc: enc}
}

// Encoder returns the Memory's encoder.
func (m *Memory) Encoder() core.Encoder { return m.enc }

// Write stores a copy of each event of the batch and its line. It waits
// first for the delay set by SetDelay, and stores only as many events as
// FailAfter allows.
func (m *Memory) Write(ctx context.Context, batch []core.Entry) (int, error) {
	m.mu.Lock()
	closed, delay := m.closed, m.delay
	m.mu.Unlock()
	if closed {
		return 0, ErrClosed
	}
	if len(batch) == 0 {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("sinks: memory: %w", err)
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, fmt.Errorf("sinks: memory: %w", ctx.Err())
		}
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	n := len(batch)
	var err error
	if m.failErr != nil {
		if n > m.failAfter {
			n, err = m.failAfter, m.failErr
		}
		m.failAfter -= n
	}
	for i := range batch[:n] {
		e := batch[i].Event
		m.events = append(m.events, e.Clone())

		line := batch[i].Line
		if line == nil {
			m.scratch = m.enc.Append(m.scratch[:0], e)
			line = m.scratch
		}
		m.lines = append(m.lines, strings.TrimSuffix(string(line), "\n"))
	}
	if n > 0 {
		m.wake()
	}
	return n, err
}

// wake releases the goroutines blocked in Wait. m.mu must be held.
func (m *Memory) wake() {
	if m.arrived != nil {
		close(m.arrived)
		m.arrived = nil
	}
}

// Flush returns nil: Write stores events at once. It returns ErrClosed
// after Close.
func (m *Memory) Flush(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sinks: memory: flush: %w", err)
	}
	return nil
}

// Close marks the sink closed and wakes any Wait that can no longer be
// satisfied. The stored events stay readable. A second Close returns
// ErrClosed.
func (m *Memory) Close(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.closed = true
	m.wake()
	return nil
}

// Events returns copies of the stored events, in the order written.
// Their fields are shared with the Memory and must not be modified.
func (m *Memory) Events() []core.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.events)
}

// Lines returns the stored records, in the order written, each without
// its final '\n'.
func (m *Memory) Lines() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.lines)
}

// Len returns the number of stored events.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.events)
}

// Reset discards the stored events and lines. The failure settings and
// whether the sink is closed are kept.
func (m *Memory) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events, m.lines = nil, nil
}

// Wait blocks until at least n events are stored (counted since the last
// Reset), ctx is done, or the sink is closed with fewer. It returns nil,
// ctx's error wrapped, or ErrClosed.
func (m *Memory) Wait(ctx context.Context, n int) error {
	for {
		m.mu.Lock()
		have := len(m.events)
		if have >= n {
			m.mu.Unlock()
			return nil
		}
		if m.closed {
			m.mu.Unlock()
			return ErrClosed
		}
		if m.arrived == nil {
			m.arrived = make(chan struct{})
		}
		arrived := m.arrived
		m.mu.Unlock()

		select {
		case <-arrived:
		case <-ctx.Done():
			return fmt.Errorf("sinks: memory: waiting for %d events, have %d: %w", n, have, ctx.Err())
		}
	}
}

// SetErr makes every later Write fail with err, storing nothing; nil
// makes Writes succeed again. It is FailAfter(0, err).
func (m *Memory) SetErr(err error) { m.FailAfter(0, err) }

// FailAfter lets the next n events be stored and then makes Writes fail
// with err: a batch that crosses the limit stores its first events and
// returns their count with err, as a destination failing midway would.
// A nil err makes Writes succeed again.
func (m *Memory) FailAfter(n int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failErr, m.failAfter = err, max(n, 0)
}

// SetDelay makes every later Write wait d before storing, as a slow
// destination would; Write stops waiting when its ctx is done. Zero
// removes the delay.
func (m *Memory) SetDelay(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delay = d
}
