package ring_test

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/ring"
)

// A consumer parks only on an empty shard, and the first publish after it
// parked signals Notify. Mutation caught: not waking a parked consumer
// on publish leaves Notify empty.
func TestParkedConsumerIsWokenByThePublish(t *testing.T) {
	forEachVariant(t, func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int]) {
		q := newQ(ring.Config[int]{Shards: 1, Capacity: 4})
		require.True(t, q.Park(0), "an empty shard parks")
		require.Empty(t, q.Notify(0))
		put(q, ring.DropOldest, 1)
		require.Len(t, q.Notify(0), 1, "the publish woke the parked consumer")
		<-q.Notify(0)
		put(q, ring.DropOldest, 2)
		require.Empty(t, q.Notify(0), "one wake-up per park")
		require.False(t, q.Park(0), "a shard with entries does not park")
		q.Unpark(0)
		vals, _ := drainAll(q, 0)
		require.Equal(t, []int{1, 2}, vals)
	})
}

// No wake-up is lost between a consumer that parks and producers that
// publish at the same moment: a consumer that only ever sleeps parked
// (no timer) still drains every value. A lost wake-up shows as a park
// that outlasts its bound with entries waiting.
func TestParkLosesNoWakeUp(t *testing.T) {
	for _, procs := range []int{1, 2, 4} {
		forEachVariant(t, func(t *testing.T, newQ func(ring.Config[int]) ring.Queue[int]) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			q := newQ(ring.Config[int]{Shards: 1, Capacity: 64})
			const producers, each = 4, 2000
			done := make(chan struct{})
			got := make(chan int, producers*each)
			go func() {
				defer close(got)
				buf := make([]int, 16)
				for {
					n, _ := q.Drain(0, buf)
					for _, v := range buf[:n] {
						got <- v
					}
					if n > 0 {
						continue
					}
					if !q.Park(0) {
						continue
					}
					select {
					case <-q.Notify(0):
					case <-done:
						q.Unpark(0)
						if q.Depth(0) == 0 {
							return
						}
						continue
					case <-time.After(5 * time.Second):
						t.Errorf("parked for 5s with %d entries waiting: a lost wake-up", q.Depth(0))
						return
					}
					q.Unpark(0)
				}
			}()
			var wg sync.WaitGroup
			for p := range producers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						put(q, ring.Block, p*each+i)
						if i%7 == 0 {
							runtime.Gosched() // let the consumer catch up and park
						}
					}
				}()
			}
			wg.Wait()
			close(done)
			n := 0
			for range got {
				n++
			}
			require.Equal(t, producers*each, n)
		})
	}
}
