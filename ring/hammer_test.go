package ring_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/ring"
)

// hammerCase is one configuration of the hammer test.
type hammerCase struct {
	policy   ring.Policy
	deadline time.Duration // Block only: per-call context timeout, 0 for none
	closeAt  int           // close the queue after this many attempts in total, 0 never
	// blockEvery > 0 mixes policies: every blockEvery-th call of each
	// producer uses Block, the others policy. No Block entry may ever be
	// evicted.
	blockEvery int
}

// TestHammer runs producers against live consumers and checks that every
// entry is accounted for exactly:
//
//	attempted = accepted + refused + canceled + closed
//	accepted  = drained + evicted   (evicted seen by the hook, by Results,
//	                                 by the consumer's lost count and by Stats)
//
// and that every drained value appears once, and per producer in order
// within a shard.
func TestHammer(t *testing.T) {
	cases := []hammerCase{
		{policy: ring.DropOldest},
		{policy: ring.DropNewest},
		{policy: ring.Block},
		{policy: ring.Block, deadline: 20 * time.Microsecond},
		{policy: ring.DropOldest, closeAt: 15000},
		{policy: ring.Block, closeAt: 15000},
		{policy: ring.DropOldest, blockEvery: 8},
		{policy: ring.DropNewest, blockEvery: 8},
		{policy: ring.DropOldest, blockEvery: 2, closeAt: 15000},
	}
	for _, procs := range []int{1, 2, 4} {
		for _, v := range variants {
			for _, c := range cases {
				name := fmt.Sprintf("procs=%d/%s/%s/deadline=%v/close=%d/blockEvery=%d", procs, v.name, c.policy, c.deadline, c.closeAt, c.blockEvery)
				t.Run(name, func(t *testing.T) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
					hammer(t, v.new, c)
				})
			}
		}
	}
}

func hammer(t *testing.T, newQ func(ring.Config[int]) (ring.Queue[int], error), c hammerCase) {
	const (
		producers = 8
		perProd   = 4000
		shards    = 2
	)
	var hooked sync.Map // value -> struct{}; the hook runs on producers
	var hookCount atomic.Int64
	q, err := newQ(ring.Config[int]{Shards: shards, Capacity: 32, OnEvict: func(_ int, v *int) {
		if _, dup := hooked.LoadOrStore(*v, struct{}{}); dup {
			panic(fmt.Sprintf("value %d evicted twice", *v))
		}
		if c.blockEvery > 0 && (*v%perProd)%c.blockEvery == 0 {
			panic(fmt.Sprintf("value %d was stored under Block and evicted", *v))
		}
		hookCount.Add(1)
	}})
	require.NoError(t, err)

	type tally struct{ accepted, refused, canceled, closed, evicted int }
	tallies := make([]tally, producers)
	accepted := make([][]bool, producers)
	var attempts atomic.Int64

	// Consumers: one per shard.
	stop := make(chan struct{})
	drained := make([][]int, shards)
	lost := make([]uint64, shards)
	var cwg sync.WaitGroup
	for s := range shards {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			buf := make([]int, 7)
			last := make(map[int]int)
			take := func() int {
				n, l := q.Drain(s, buf)
				lost[s] += l
				for _, v := range buf[:n] {
					p, seq := v/perProd, v%perProd
					if prev, ok := last[p]; ok && seq <= prev {
						panic(fmt.Sprintf("shard %d: producer %d seq %d after %d", s, p, seq, prev))
					}
					last[p] = seq
					drained[s] = append(drained[s], v)
				}
				return n
			}
			for {
				select {
				case <-stop:
					// Final drain: everything produced has been claimed by
					// now; wait for all of it to be consumed.
					for q.Consumed(s) != q.Produced(s) {
						if take() == 0 {
							runtime.Gosched()
						}
					}
					return
				default:
				}
				if take() == 0 {
					runtime.Gosched()
				}
			}
		}()
	}

	var pwg sync.WaitGroup
	for p := range producers {
		accepted[p] = make([]bool, perProd)
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			tl := &tallies[p]
			for i := range perProd {
				if c.closeAt > 0 && attempts.Add(1) == int64(c.closeAt) {
					q.Close()
				}
				ctx := context.Background()
				var cancel context.CancelFunc = func() {}
				if c.deadline > 0 {
					ctx, cancel = context.WithTimeout(ctx, c.deadline)
				}
				v := p*perProd + i
				policy := c.policy
				if c.blockEvery > 0 && i%c.blockEvery == 0 {
					policy = ring.Block
				}
				r := q.Enqueue(ctx, policy, func(dst *int) { *dst = v })
				cancel()
				tl.evicted += int(r.Evicted)
				switch r.Status {
				case ring.Accepted:
					tl.accepted++
					accepted[p][i] = true
				case ring.Refused:
					tl.refused++
				case ring.Canceled:
					tl.canceled++
				case ring.Closed:
					tl.closed++
				}
				if i%64 == 0 {
					runtime.Gosched() // let goroutines migrate between Ps
				}
			}
		}()
	}
	pwg.Wait()
	close(stop)
	cwg.Wait()

	var sum tally
	for _, tl := range tallies {
		sum.accepted += tl.accepted
		sum.refused += tl.refused
		sum.canceled += tl.canceled
		sum.closed += tl.closed
		sum.evicted += tl.evicted
	}
	require.Equal(t, producers*perProd, sum.accepted+sum.refused+sum.canceled+sum.closed, "attempted = accepted + refused + canceled + closed")

	seen := make(map[int]bool, sum.accepted)
	drainedSet := make(map[int]bool, sum.accepted)
	nDrained, nLost := 0, uint64(0)
	for s := range shards {
		nDrained += len(drained[s])
		nLost += lost[s]
		for _, v := range drained[s] {
			require.False(t, seen[v], "value %d drained twice", v)
			seen[v] = true
			drainedSet[v] = true
		}
	}
	hooked.Range(func(k, _ any) bool {
		v := k.(int)
		require.False(t, seen[v], "value %d both drained and evicted", v)
		seen[v] = true
		return true
	})
	require.Equal(t, sum.accepted, nDrained+int(hookCount.Load()), "accepted = drained + evicted")
	require.Equal(t, uint64(sum.evicted), nLost, "evictions reported to producers = losses reported to the consumer")
	require.Equal(t, int64(sum.evicted), hookCount.Load(), "one hook call per eviction")
	var st ring.Stats
	for s := range shards {
		x := q.Stats(s)
		st.Evicted += x.Evicted
		st.Refused += x.Refused
		st.Canceled += x.Canceled
	}
	require.Equal(t, uint64(sum.evicted), st.Evicted)
	require.Equal(t, uint64(sum.refused), st.Refused)
	require.Equal(t, uint64(sum.canceled), st.Canceled)
	for p := range producers {
		for i, ok := range accepted[p] {
			require.Equal(t, ok, seen[p*perProd+i], "producer %d value %d: accepted=%v but seen=%v", p, i, ok, seen[p*perProd+i])
		}
	}
	if c.blockEvery > 0 {
		for p := range producers {
			for i := 0; i < perProd; i += c.blockEvery {
				if accepted[p][i] {
					require.True(t, drainedSet[p*perProd+i], "Block value %d accepted but not drained (evicted?)", p*perProd+i)
				}
			}
		}
	}
	if c.policy != ring.Block {
		t.Logf("accepted=%d refused=%d evicted=%d closed=%d", sum.accepted, sum.refused, sum.evicted, sum.closed)
	}
}
