package ring

// WithStart returns c with every shard starting at position start, so tests
// can run across the 64-bit wrap-around.
func WithStart[T any](c Config[T], start uint64) Config[T] {
	c.startSeq = start
	return c
}

// CacheLine exposes the padding distance to layout tests.
const CacheLine = cacheLine
