package engine_test

import (
	"context"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/ring"
	"github.com/shardlog/shardlog/sinks"
)

func TestNewRefusesBadOptionsNamingThem(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	other, third := sinks.NewMemory(sinks.MemoryOptions{}), sinks.NewMemory(sinks.MemoryOptions{})
	ok := engine.WithSink(mem)
	cases := []struct {
		name string
		opts []engine.Option
		want string
	}{
		{"no sinks", nil, "WithSink"},
		{"nil sink", []engine.Option{engine.WithSink(nil)}, "WithSink: sink 0 is nil"},
		{"nil option", []engine.Option{ok, nil}, "nil Option"},
		{"duplicate names", []engine.Option{engine.WithSink(mem, engine.SinkName("a")), engine.WithSink(sinks.NewMemory(sinks.MemoryOptions{}), engine.SinkName("a"))}, `duplicate sink name "a"`},
		{"empty sink name", []engine.Option{engine.WithSink(mem, engine.SinkName(""))}, "SinkName: empty name"},
		// A sink's name labels its metrics, and Prometheus refuses a label
		// that is not UTF-8: accepted, it failed every scrape of the
		// registry. Mutation caught: no UTF-8 check.
		{"sink name not UTF-8", []engine.Option{engine.WithSink(mem, engine.SinkName("app\xff.log"))}, `SinkName: "app\xff.log" is not valid UTF-8`},
		{"shards zero", []engine.Option{ok, engine.WithShards(0)}, "WithShards: must be a power of two > 0, got 0"},
		{"shards not pow2", []engine.Option{ok, engine.WithShards(3)}, "WithShards: must be a power of two > 0, got 3"},
		{"capacity negative", []engine.Option{ok, engine.WithCapacity(-4)}, "WithCapacity: must be a power of two >= 2, got -4"},
		{"capacity not pow2", []engine.Option{ok, engine.WithCapacity(1000)}, "WithCapacity: must be a power of two >= 2, got 1000"},
		{"policy unknown", []engine.Option{ok, engine.WithOverflow(ring.Policy(9))}, "WithOverflow: unknown policy 9"},
		{"rule policy unknown", []engine.Option{ok, engine.WithOverflowAt(core.LevelError, ring.Policy(7))}, "WithOverflowAt(ERROR): unknown policy 7"},
		{"block timeout", []engine.Option{ok, engine.WithBlockTimeout(0)}, "WithBlockTimeout: must be > 0"},
		{"batch size", []engine.Option{ok, engine.WithBatchSize(0)}, "WithBatchSize: must be in 1..65536, got 0"},
		{"lane depth", []engine.Option{ok, engine.WithLaneDepth(-1)}, "WithLaneDepth: must be in 1..65536, got -1"},
		{"flush interval", []engine.Option{ok, engine.WithFlushInterval(-time.Second)}, "WithFlushInterval: must be > 0"},
		{"write coalescing negative", []engine.Option{ok, engine.WithWriteCoalescing(-time.Millisecond)}, "WithWriteCoalescing: must be in 0..1s, got -1ms"},
		{"write coalescing too long", []engine.Option{ok, engine.WithWriteCoalescing(2 * time.Second)}, "WithWriteCoalescing: must be in 0..1s, got 2s"},
		{"caller skip", []engine.Option{ok, engine.WithCallerSkip(-1)}, "WithCallerSkip: must be >= 0, got -1"},
		{"fatal timeout", []engine.Option{ok, engine.WithFatalTimeout(0)}, "WithFatalTimeout: must be > 0"},
		{"queue kind", []engine.Option{ok, engine.WithQueue(engine.QueueKind(5))}, "WithQueue: unknown queue kind 5"},
		{"nil level var", []engine.Option{ok, engine.WithLevelVar(nil)}, "WithLevelVar: nil LevelVar"},
		{"nil enricher", []engine.Option{ok, engine.WithEnricher(nil)}, "WithEnricher: nil"},
		{"nil filter", []engine.Option{ok, engine.WithFilter(nil)}, "WithFilter: nil"},
		{"nil extractor", []engine.Option{ok, engine.WithContextExtractor(nil)}, "WithContextExtractor: nil"},
		{"nil exit", []engine.Option{ok, engine.WithExitFunc(nil)}, "WithExitFunc: nil"},
		{"unknown level", []engine.Option{ok, engine.WithLevelName("verbose")}, `WithLevelName: unknown level "verbose"`},
		{"unknown sink level", []engine.Option{engine.WithSink(mem, engine.SinkLevelName("loud"))}, `SinkLevelName: unknown level "loud"`},
		// One sink given twice would be called from two writers at once
		// (a data race in any sink without locks of its own) and closed
		// twice. Mutation caught: no identity check (New accepts each).
		{"same sink twice", []engine.Option{ok, engine.WithSink(mem, engine.SinkName("again"))}, "WithSink: sink 1 (again) is sink 0 (sink0) again"},
		{"own fallback", []engine.Option{engine.WithSink(mem, engine.SinkFallback(mem))}, "WithSink: the fallback of sink 0 (sink0) is sink 0 (sink0) again"},
		{"fallback is a sink", []engine.Option{ok, engine.WithSink(other, engine.SinkFallback(mem))}, "WithSink: the fallback of sink 1 (sink1) is sink 0 (sink0) again"},
		{"shared fallback", []engine.Option{engine.WithSink(other, engine.SinkFallback(mem)), engine.WithSink(third, engine.SinkFallback(mem))}, "the fallback of sink 1 (sink1) is the fallback of sink 0 (sink0) again"},
		{"equal values", []engine.Option{engine.WithSink(valueSink{}), engine.WithSink(valueSink{})}, "sink 1 (sink1) is sink 0 (sink0) again"},
		{"event larger than the budget", []engine.Option{ok, engine.WithMaxQueueBytes(256 << 10), engine.WithMaxEventBytes(512 << 10)}, "WithMaxEventBytes: 524288 is more than WithMaxQueueBytes (262144)"},
		// Sizes that would allocate the machine away (a fatal out-of-memory
		// error, or the OOM killer, before this check): refused before any
		// allocation, naming what sized them. Without the check the first
		// case allocates 12 GiB (run under ulimit -v to see it die).
		{"rings too large", []engine.Option{ok, engine.WithCapacity(1 << 24)}, "WithCapacity: "},
		{"too many shards", []engine.Option{ok, engine.WithShards(1 << 16)}, "WithShards: 65536 shards of 1024 slots"},
		// Past the ring's bound, with rings small enough for the up-front
		// check: named by the engine, not as the ring's Config field.
		{"shards past the ring's bound", []engine.Option{ok, engine.WithShards(1 << 17), engine.WithCapacity(2), engine.WithMaxQueueBytes(0)}, "WithShards: must be at most 65536, got 131072"},
		{"both", []engine.Option{ok, engine.WithShards(1 << 10), engine.WithCapacity(1 << 20)}, "WithShards, WithCapacity:"},
		{"lanes too deep", []engine.Option{ok, engine.WithShards(1 << 10), engine.WithLaneDepth(1 << 16)}, "WithShards, WithLaneDepth:"},
		{"budget's lanes", []engine.Option{ok, engine.WithShards(1 << 10), engine.WithMaxQueueBytes(1 << 40)}, "WithShards, WithMaxQueueBytes:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := engine.New(c.opts...)
			require.Nil(t, e)
			require.ErrorContains(t, err, c.want)
		})
	}
}

func TestParseQueueKind(t *testing.T) {
	for _, k := range queues {
		got, err := engine.ParseQueueKind(k.String())
		require.NoError(t, err)
		require.Equal(t, k, got)
	}
	_, err := engine.ParseQueueKind("channel")
	require.ErrorContains(t, err, `"channel"`)
}

func TestLevelNamesFromConfiguration(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	warn := sinks.NewMemory(sinks.MemoryOptions{})
	e, err := engine.New(engine.WithLevelName("debug"), engine.WithSink(mem),
		engine.WithSink(warn, engine.SinkLevelName("WARN")))
	require.NoError(t, err)
	e.Logger().Debug("d")
	e.Logger().Warn("w")
	_, err = e.Shutdown(context.Background())
	require.NoError(t, err)
	require.Equal(t, 2, mem.Len())
	require.Equal(t, 1, warn.Len())
}

// Every reason has a name and a field in Drops that Count reads and Total
// sums: adding a reason without wiring it fails here.
func TestEveryReasonIsNamedAndCounted(t *testing.T) {
	var d engine.Drops
	v := reflect.ValueOf(&d).Elem()
	require.Equal(t, len(engine.Reasons()), v.NumField(), "one Drops field per reason")
	for i := range v.NumField() {
		v.Field(i).SetUint(1 << i)
	}
	seen := map[string]bool{}
	var sum uint64
	for _, r := range engine.Reasons() {
		name := r.String()
		require.NotEqual(t, "unknown", name)
		require.False(t, seen[name], "duplicate name %s", name)
		seen[name] = true
		n := d.Count(r)
		require.NotZero(t, n, "reason %s has no field", name)
		require.Zero(t, sum&n, "reason %s reads another reason's field", name)
		sum |= n
	}
	require.Equal(t, sum, d.Total())
}

// The default shard count follows GOMAXPROCS up to ring.MaxDefaultShards:
// with GOMAXPROCS set high (5000 in one service's configuration) New made
// 8192 shards, allocated 4 GiB and started 8192 flushers. Mutation
// caught: DefaultShards without its cap (256 shards here).
func TestDefaultShardsAreCapped(t *testing.T) {
	before := runtime.GOMAXPROCS(256)
	defer runtime.GOMAXPROCS(before)
	e := newEngine(t, engine.WithSink(sinks.NewMemory(sinks.MemoryOptions{})))
	require.Equal(t, ring.MaxDefaultShards, e.Shards())
	runtime.GOMAXPROCS(4)
	e4 := newEngine(t, engine.WithSink(sinks.NewMemory(sinks.MemoryOptions{})))
	require.Equal(t, 4, e4.Shards(), "below the cap, one shard per processor")
}

// valueSink is a sink held by value: two equal values are one sink.
// sliceSink cannot be compared, so two of them are taken as different.
type valueSink struct{}

func (valueSink) Write(_ context.Context, b []core.Entry) (int, error) { return len(b), nil }
func (valueSink) Flush(context.Context) error                          { return nil }
func (valueSink) Close(context.Context) error                          { return nil }

type sliceSink []int

func (sliceSink) Write(_ context.Context, b []core.Entry) (int, error) { return len(b), nil }
func (sliceSink) Flush(context.Context) error                          { return nil }
func (sliceSink) Close(context.Context) error                          { return nil }

// Different sinks, and sinks that cannot be compared, are accepted.
func TestDistinctSinksAreAccepted(t *testing.T) {
	a, b := sinks.NewMemory(sinks.MemoryOptions{}), sinks.NewMemory(sinks.MemoryOptions{})
	newEngine(t, engine.WithSink(a, engine.SinkFallback(b)), engine.WithSink(sliceSink{1}), engine.WithSink(sliceSink{1}))
}

// A small budget needs no WithMaxEventBytes beside it: the default event
// limit is then a quarter of the budget. Before, WithMaxQueueBytes below
// 1 MiB alone was refused, naming WithMaxEventBytes, an option the user
// had not given. Mutation caught: the default fixed at 1 MiB.
func TestASmallBudgetAloneIsAccepted(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	e := newEngine(t, engine.WithSink(mem), engine.WithMaxQueueBytes(256<<10))
	e.Logger().Info(strings.Repeat("x", 100<<10))
	flush(t, e)
	require.Equal(t, uint64(1), e.Metrics(false).Engine.Truncated, "cut at 64 KiB, a quarter of the budget")
	require.Less(t, len(mem.Events()[0].Message), 64<<10+core.TruncationSlack)
	requireBalanced(t, e.Stats())
}

// Logger.WithPolicy cannot return an error: an unknown policy is reported
// to the error handler, and the engine's policies apply. Mutation caught:
// taking the value as it is (policy 3 behaved as DropOldest without the
// spill, and 200, read as int8, as "the engine's rules" silently).
func TestWithPolicyRefusesAnUnknownPolicy(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	var reported []error
	var mu sync.Mutex
	e := newEngine(t, engine.WithSink(mem), engine.WithErrorHandler(func(err error) {
		mu.Lock()
		reported = append(reported, err)
		mu.Unlock()
	}))
	l := e.Logger().WithPolicy(ring.Policy(3))
	l.Info("logged under the engine's policy")
	flush(t, e)
	require.Equal(t, 1, mem.Len())
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, reported, 1)
	require.ErrorContains(t, reported[0], "Logger.WithPolicy: unknown policy 3")
}
