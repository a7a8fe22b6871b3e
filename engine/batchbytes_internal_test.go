package engine

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/sinks"
)

// batchBytes, what a batch in use is charged beyond its events, covers
// what newBatch allocates: merge keys and bad flags included. Mutation
// caught: leaving them out (2.4% short at the defaults).
func TestBatchBytesCoversWhatABatchAllocates(t *testing.T) {
	e, err := New(WithShards(1), WithSink(sinks.NewMemory(sinks.MemoryOptions{}), SinkName("mem")))
	require.NoError(t, err)
	defer func() { _, _ = e.Shutdown(t.Context()) }()
	size := e.cfg.batchSize
	b := newBatch(0, size, len(e.encoders), e.flushers[0].free, e.budget)
	allocated := int64(unsafe.Sizeof(*b)) +
		int64(cap(b.events))*int64(unsafe.Sizeof(core.Event{})) +
		int64(cap(b.order))*2 + int64(cap(b.keys))*8 + int64(cap(b.class))
	for _, l := range b.lines {
		allocated += int64(cap(l.off))*4 + int64(cap(l.bad))
	}
	require.GreaterOrEqual(t, e.batchBytes(), allocated,
		"batchBytes %d undercounts what newBatch allocates (%d) by %d bytes", e.batchBytes(), allocated, allocated-e.batchBytes())
}
