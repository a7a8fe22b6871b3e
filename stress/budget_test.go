package stress

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
)

// The memory budget under pressure: a 1 MiB budget, a sink that stalls
// while producers log small events, big ones (8 KiB, charged at the call)
// and oversized ones (past a 32 KiB limit), then recovers. Under Truncate
// and under Refuse. Checked: the budget's peak stays within its limit plus
// the engine's documented overhead (Engine.MemoryOverhead), and reached
// its trim mark; what is lost is counted as budget (or too-large under
// Refuse, or by the ring), and exactly: every oversized call is cut
// (Truncated) or refused (too-large), each delivered oversized event is
// within the limit and marked, no other event is cut; the limit hook ran
// and reported no more than was lost; everything charged is released by
// the end.
func TestMemoryBudgetUnderPressure(t *testing.T) {
	for _, action := range []shardlog.OversizeAction{shardlog.Truncate, shardlog.Refuse} {
		t.Run(action.String(), func(t *testing.T) {
			const limit, maxEvent = 1 << 20, 32 << 10
			out := newFaultySink("out", nil)
			out.stall()
			defer out.open()
			out.rec.inspect = func(ev *core.Event) string {
				size := core.Footprint(ev.Message, ev.Fields())
				cut := strings.Contains(ev.Message, "…[truncated ")
				kind := ""
				for _, f := range ev.Fields() {
					cut = cut || strings.Contains(f.Str(), "…[truncated ")
					if f.Key == "kind" {
						kind = f.Str()
					}
				}
				switch {
				case kind == "oversize" && action == shardlog.Refuse:
					return "an oversized event was delivered under Refuse"
				case kind == "oversize" && !cut:
					return "an oversized event was delivered without a truncation marker"
				case kind == "oversize" && size > maxEvent+core.TruncationSlack:
					return "an oversized event was delivered past the limit"
				case kind != "oversize" && cut:
					return "an event within the limit was cut"
				}
				return ""
			}
			var hookCalls, hookDropped atomic.Uint64
			e, err := shardlog.New(shardlog.WithMaxQueueBytes(limit), shardlog.WithMaxEventBytes(maxEvent), shardlog.WithOversizedEvents(action),
				shardlog.WithShards(4), shardlog.WithCapacity(256), engine.WithBatchSize(64),
				shardlog.WithOnLimitExceeded(func(le shardlog.LimitExceeded) {
					hookCalls.Add(1)
					hookDropped.Add(le.Dropped)
				}),
				shardlog.WithSink(out, shardlog.SinkName("out"), shardlog.SinkWriteTimeout(time.Minute)))
			require.NoError(t, err)

			big := strings.Repeat("b", 8<<10)
			huge := strings.Repeat("h", 40<<10)
			n, each := producers(), scaled(4000)
			var oversize atomic.Uint64
			counts := make([]int64, n)
			var half sync.WaitGroup
			half.Add(n)
			resume := make(chan struct{})
			go func() {
				half.Wait()
				// The sink recovers once the hook has run (or after 10s,
				// and the test then fails below).
				for deadline := time.Now().Add(10 * time.Second); hookCalls.Load() == 0 && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
				out.open()
				close(resume)
			}()
			run(t, n, func(p int) {
				log := e.Logger()
				for i := range each {
					if i == each/2 {
						half.Done()
						<-resume
					}
					switch i % 10 {
					case 0:
						log.Info("oversize", shardlog.Int("p", p), shardlog.Int("s", i), shardlog.String("kind", "oversize"),
							shardlog.String("a", huge), shardlog.String("b", huge[:20<<10]))
						oversize.Add(1)
					case 1, 2, 3:
						log.Info("big", shardlog.Int("p", p), shardlog.Int("s", i), shardlog.String("kind", "big"), shardlog.String("v", big))
					default:
						log.Info("small", shardlog.Int("p", p), shardlog.Int("s", i), shardlog.String("kind", "small"))
					}
					counts[p]++
				}
			})
			m := e.Metrics(false).Engine
			overhead := e.MemoryOverhead()
			rep := shutdown(t, e)
			s := sinkStats(t, rep, "out")
			b := e.Metrics(false).Engine.Budget
			t.Logf("budget: peak %d KiB of %d KiB (overhead %d KiB), %d crossings, %d refused; truncated %d; hook %d calls, %d dropped; out: written %d of %d, dropped %+v",
				b.Peak>>10, b.Limit>>10, overhead>>10, b.Crossings, b.Refused, m.Truncated, hookCalls.Load(), hookDropped.Load(), s.Written, s.Accepted, s.Dropped)

			requireExact(t, s, sum(counts), out.rec.count())
			out.rec.check(t, callsOf(counts))
			require.LessOrEqual(t, b.Peak, b.Limit+overhead, "the budget's peak stays within its limit plus the documented overhead")
			require.GreaterOrEqual(t, b.Peak, b.Limit-b.Limit/8, "the stall pushed the budget past its trim mark")
			require.Zero(t, b.Usage, "everything charged was released")
			require.Positive(t, s.Dropped.Budget, "the stalled sink's backlog was shed")
			require.Positive(t, hookCalls.Load(), "the limit hook ran")
			require.LessOrEqual(t, hookDropped.Load(), s.Dropped.Budget, "the hook reports no more than was lost")
			if action == shardlog.Refuse {
				requireOnlyDrops(t, s, shardlog.Budget, shardlog.TooLarge, shardlog.QueueFullOldest, shardlog.QueueFullNewest)
				require.Equal(t, oversize.Load(), s.Dropped.TooLarge, "every oversized call refused as too-large")
				require.Zero(t, m.Truncated)
			} else {
				requireOnlyDrops(t, s, shardlog.Budget, shardlog.QueueFullOldest, shardlog.QueueFullNewest)
				require.Equal(t, oversize.Load(), m.Truncated, "every oversized call was cut")
			}
		})
	}
}
