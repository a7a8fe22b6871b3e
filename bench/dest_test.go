package bench

import (
	"bytes"
	"sync"
	"sync/atomic"
)

// lineCounter is the destination every logger under test writes to. It
// discards the bytes and counts complete lines: a line is counted when
// its '\n' arrives, so a logger may write a line in pieces or several
// lines at once. The JSON encoders here escape newlines inside strings,
// so each line is one delivered event.
//
// It is safe for concurrent use. zerolog without a diode calls Write from
// every logging goroutine at once, so there the atomic add on the shared
// count is contended: the least that any shared destination (a file's
// descriptor, a pipe) would cost. The other loggers call Write from one
// goroutine at a time.
//
// A lineCounter made with keep also keeps a copy of the bytes, for the
// output test; the benchmarks use one without.
type lineCounter struct {
	// counts holds the complete lines in its low 32 bits and the Write
	// calls in its high 32: one atomic add per Write, as the line count
	// alone cost before the calls were counted too.
	counts atomic.Uint64

	mu   sync.Mutex // guards kept
	keep bool
	kept bytes.Buffer
}

func newLineCounter(keep bool) *lineCounter { return &lineCounter{keep: keep} }

// Write counts the newlines in p and, with keep, copies p. It never fails.
func (c *lineCounter) Write(p []byte) (int, error) {
	c.counts.Add(uint64(bytes.Count(p, []byte{'\n'})) | 1<<32)
	if c.keep {
		c.mu.Lock()
		c.kept.Write(p)
		c.mu.Unlock()
	}
	return len(p), nil
}

// Lines returns the number of complete lines written so far (fewer than
// 2^32 in any one benchmark run).
func (c *lineCounter) Lines() int64 { return int64(c.counts.Load() & (1<<32 - 1)) }

// Writes returns the number of Write calls so far: with a real file each
// is a system call, which this destination does not charge for.
func (c *lineCounter) Writes() int64 { return int64(c.counts.Load() >> 32) }

// Kept returns a copy of everything written, for a lineCounter made with
// keep.
func (c *lineCounter) Kept() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.kept.Bytes())
}
