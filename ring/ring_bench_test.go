package ring_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shardlog/shardlog/ring"
)

// payload stands for a small log entry: big enough that copying it is not
// free, small enough that the queue's own cost dominates.
type payload struct {
	seq uint64
	_   [7]uint64
}

type queueImpl struct {
	name string
	new  func(ring.Config[payload]) (ring.Queue[payload], error)
}

var impls = []queueImpl{
	{"lockfree", func(c ring.Config[payload]) (ring.Queue[payload], error) { return ring.New(c) }},
	{"mutex", func(c ring.Config[payload]) (ring.Queue[payload], error) { return ring.NewMutex(c) }},
}

// produce runs the producer loop on the concrete type, as the engine
// does, so the fill closure stays on the stack.
func produce(q ring.Queue[payload], ctx context.Context, pol ring.Policy, pb *testing.PB) (n uint64) {
	switch q := q.(type) {
	case *ring.Ring[payload]:
		for pb.Next() {
			n++
			q.Enqueue(ctx, pol, func(p *payload) { p.seq = n })
		}
	case *ring.Mutex[payload]:
		for pb.Next() {
			n++
			q.Enqueue(ctx, pol, func(p *payload) { p.seq = n })
		}
	}
	return n
}

// BenchmarkRing measures the producer cost of each queue with b.RunParallel
// producers (one per P at -cpu N) and a live consumer per shard. Besides
// ns/op it reports what a fast-but-lossy queue would hide: delivered
// entries per second (drained by the consumers during the timed run) and
// delivered/attempted.
//
// Both queues use the default configuration: GOMAXPROCS shards of 1024.
// Sub-benchmark names differ only in the queue name, so `make benchstat`
// compares the two with benchstat -ignore.
func BenchmarkRing(b *testing.B) {
	for _, impl := range impls {
		for _, pol := range []ring.Policy{ring.DropOldest, ring.DropNewest, ring.Block} {
			b.Run("impl="+impl.name+"/policy="+pol.String(), func(b *testing.B) {
				benchQueue(b, impl, ring.Config[payload]{}, pol)
			})
		}
	}
}

// BenchmarkRingSeed runs the mutex twin as the original design had it: one
// queue for all producers. Against BenchmarkRing/impl=mutex (sharded like
// the ring) it separates what sharding buys from what lock-freedom buys.
func BenchmarkRingSeed(b *testing.B) {
	for _, pol := range []ring.Policy{ring.DropOldest, ring.DropNewest, ring.Block} {
		b.Run("impl=mutex/policy="+pol.String(), func(b *testing.B) {
			benchQueue(b, impls[1], ring.Config[payload]{Shards: 1}, pol)
		})
	}
}

// BenchmarkShardChoice compares the per-processor shard choice with a
// random shard, on the lock-free ring.
func BenchmarkShardChoice(b *testing.B) {
	for _, c := range []struct {
		name   string
		choice ring.ShardChoice
	}{{"per-processor", ring.PerProcessor}, {"random", ring.Random}} {
		b.Run(c.name, func(b *testing.B) {
			benchQueue(b, impls[0], ring.Config[payload]{ShardChoice: c.choice}, ring.DropOldest)
		})
	}
}

func benchQueue(b *testing.B, impl queueImpl, cfg ring.Config[payload], pol ring.Policy) {
	q, err := impl.new(cfg)
	if err != nil {
		b.Fatal(err)
	}
	delivered := make([]atomic.Int64, q.Shards())
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for s := range q.Shards() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]payload, 256)
			for {
				n, _ := q.Drain(s, buf)
				if n > 0 {
					delivered[s].Add(int64(n))
					continue
				}
				select {
				case <-stop:
					return
				default:
					runtime.Gosched()
				}
			}
		}()
	}
	var attempted atomic.Int64
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		attempted.Add(int64(produce(q, ctx, pol, pb)))
	})
	elapsed := time.Since(start)
	b.StopTimer()
	var got int64
	for s := range delivered {
		got += delivered[s].Load()
	}
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(got)/elapsed.Seconds(), "delivered/s")
	b.ReportMetric(float64(got)/float64(attempted.Load()), "delivered/attempted")
}
