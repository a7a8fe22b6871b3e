package engine_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/ring"
	"github.com/shardlog/shardlog/sinks/format"
)

// countSink accepts everything and keeps only a count: the cheapest sink,
// so benchmarks and allocation tests measure the engine.
type countSink struct {
	n atomic.Int64
}

func (s *countSink) Write(_ context.Context, b []core.Entry) (int, error) {
	s.n.Add(int64(len(b)))
	return len(b), nil
}
func (s *countSink) Flush(context.Context) error { return nil }
func (s *countSink) Close(context.Context) error { return nil }

// encodingCountSink is a countSink that asks the engine for JSON lines, so
// the pipeline's encoding cost is included.
type encodingCountSink struct{ countSink }

func (s *encodingCountSink) Encoder() core.Encoder { return format.JSON{} }

var policies = []ring.Policy{ring.DropOldest, ring.DropNewest, ring.Block}

// churnProcs changes GOMAXPROCS over and over until the returned stop is
// called, so logging goroutines land on processors (and shards) they have
// not used yet. pause 0 yields between changes instead of sleeping. stop
// waits for the churner and restores GOMAXPROCS.
func churnProcs(pause time.Duration) (stop func()) {
	before := runtime.GOMAXPROCS(0)
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			runtime.GOMAXPROCS(1 + i%4)
			if pause > 0 {
				time.Sleep(pause)
			} else {
				runtime.Gosched()
			}
		}
	}()
	return func() {
		close(done)
		<-exited
		runtime.GOMAXPROCS(before)
	}
}

// requireGoroutineOrder checks that in evs (one sink's output) the events
// of each goroutine, named by the logger field "g" in the scope and
// numbered by their first field, come in strictly increasing order.
func requireGoroutineOrder(t *testing.T, name string, evs []core.Event) {
	t.Helper()
	last := make(map[int64]int64)
	for i, ev := range evs {
		g := int64(-1)
		for _, f := range ev.Scope.Frames[0].Fields {
			if f.Key == "g" {
				g = f.Int64()
			}
		}
		seq := ev.Fields()[0].Int64()
		if p, ok := last[g]; ok && seq <= p {
			t.Fatalf("%s: event %d: goroutine %d logged seq %d after %d", name, i, g, seq, p)
		}
		last[g] = seq
	}
}
