package ring

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// picker chooses a producer's shard.
//
// The default keeps a goroutine on the shard of the processor it runs on
// without reaching into the runtime (no go:linkname to procPin): a
// sync.Pool keeps a private slot per P, so a token Put on P3 is what the
// next Get on P3 returns. The first GOMAXPROCS tokens are numbered round
// robin, so each P ends up owning a distinct shard, and a goroutine that
// migrates picks up the token of its new P. Get and Put cost a few
// nanoseconds each and allocate nothing once the pool is warm; a token lost
// to GC is replaced by a fresh one on the next Get.
//
// Measured against a random shard in docs/bench/ring.md
// (BenchmarkShardChoice): with producers on every P, random choice puts two
// producers on one shard half of the time on 2 Ps, and their CASes on the
// shard's tail bounce its cache line between cores.
type picker struct {
	pool   sync.Pool
	next   atomic.Uint32
	mask   uint32
	choice ShardChoice
}

// token names a shard; the pool hands them out per P.
type token struct{ shard int }

func newPicker(shards int, choice ShardChoice) *picker {
	return &picker{mask: uint32(shards - 1), choice: choice}
}

// pick returns the caller's shard.
func (p *picker) pick() int {
	if p.mask == 0 {
		return 0
	}
	if p.choice == Random {
		return int(rand.Uint32() & p.mask)
	}
	t, _ := p.pool.Get().(*token)
	if t == nil {
		t = &token{shard: int((p.next.Add(1) - 1) & p.mask)}
	}
	s := t.shard
	p.pool.Put(t)
	return s
}
