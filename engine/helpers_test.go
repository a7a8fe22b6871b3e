package engine_test

import (
	"context"
	"sync/atomic"

	"github.com/shardlog/shardlog/ring"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
)

// countSink accepts everything and keeps only a count: the cheapest sink,
// so benchmarks and allocation tests measure the engine.
type countSink struct {
	n atomic.Int64
}

func (s *countSink) Write(_ context.Context, b []sinks.Entry) (int, error) {
	s.n.Add(int64(len(b)))
	return len(b), nil
}
func (s *countSink) Flush(context.Context) error { return nil }
func (s *countSink) Close(context.Context) error { return nil }

// encodingCountSink is a countSink that asks the engine for JSON lines, so
// the pipeline's encoding cost is included.
type encodingCountSink struct{ countSink }

func (s *encodingCountSink) Encoder() sinks.Encoder { return format.JSON{} }

var policies = []ring.Policy{ring.DropOldest, ring.DropNewest, ring.Block}
