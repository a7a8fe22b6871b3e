package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/sinks"
	"github.com/shardlog/shardlog/sinks/format"
)

// newSlogEngine returns an engine writing JSON lines into a memory sink.
func newSlogEngine(t *testing.T, opts ...engine.Option) (*engine.Engine, *sinks.Memory) {
	t.Helper()
	mem := sinks.NewMemory(sinks.MemoryOptions{Encoder: format.JSON{}})
	return newEngine(t, append([]engine.Option{engine.WithSink(mem)}, opts...)...), mem
}

// slogLines flushes e and decodes every line the memory sink holds.
func slogLines(t *testing.T, e *engine.Engine, mem *sinks.Memory) []map[string]any {
	t.Helper()
	flush(t, e)
	var out []map[string]any
	for _, line := range mem.Lines() {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		out = append(out, m)
	}
	return out
}

// slogLine is slogLines for a test that logs exactly one record.
func slogLine(t *testing.T, e *engine.Engine, mem *sinks.Memory) map[string]any {
	t.Helper()
	ms := slogLines(t, e, mem)
	require.Len(t, ms, 1)
	return ms[0]
}

func TestSlogHandlerPassesSlogtest(t *testing.T) {
	for _, addSource := range []bool{false, true} {
		t.Run(fmt.Sprintf("AddSource=%v", addSource), func(t *testing.T) {
			e, mem := newSlogEngine(t)
			opts := &engine.HandlerOptions{AddSource: addSource}
			slogtest.Run(t,
				func(t *testing.T) slog.Handler {
					mem.Reset()
					return engine.NewHandler(e.Logger(), opts)
				},
				func(t *testing.T) map[string]any { return slogLine(t, e, mem) })
		})
	}
}

func TestSlogHandlerPassesTestHandler(t *testing.T) {
	e, mem := newSlogEngine(t)
	err := slogtest.TestHandler(engine.NewHandler(e.Logger(), nil), func() []map[string]any {
		return slogLines(t, e, mem)
	})
	require.NoError(t, err)
}

func TestSlogHandlerNestsWithAttrsWithGroupAndGroupAttrs(t *testing.T) {
	e, mem := newSlogEngine(t)
	h := engine.NewHandler(e.Logger().Named("svc").With(core.String("native", "n")), nil)
	log := slog.New(h).With("a", 1).WithGroup("g").With("b", 2).WithGroup("h")
	log.Info("m", "c", 3,
		slog.Group("grp", slog.Int("d", 4), slog.Group("", slog.Int("inlined", 5))),
		slog.Group("", slog.Int("e", 6)),
		slog.Group("empty"),
		slog.Int("", 7))
	require.Equal(t, map[string]any{
		"level":  "INFO",
		"msg":    "m",
		"logger": "svc",
		"native": "n",
		"a":      float64(1),
		"g": map[string]any{
			"b": float64(2),
			"h": map[string]any{
				"c":   float64(3),
				"grp": map[string]any{"d": float64(4), "inlined": float64(5)},
				"e":   float64(6),
			},
		},
	}, withoutTime(t, slogLine(t, e, mem)))
}

// withoutTime checks that m has a time and removes it, for comparisons.
func withoutTime(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	require.Contains(t, m, "time")
	delete(m, "time")
	return m
}

func TestSlogHandlerReturnsReceiverForEmptyWith(t *testing.T) {
	e, _ := newSlogEngine(t)
	h := engine.NewHandler(e.Logger(), nil)
	require.Same(t, h, h.WithGroup(""))
	require.Same(t, h, h.WithAttrs(nil))
	require.Same(t, h, h.WithAttrs([]slog.Attr{}))
}

func TestSlogHandlerReplaceAttr(t *testing.T) {
	e, mem := newSlogEngine(t)
	var (
		mu    sync.Mutex
		paths []string // "g1.g2.key" for every non-built-in attr seen
	)
	opts := &engine.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if groups == nil {
				switch a.Key {
				case slog.TimeKey:
					return slog.Attr{}
				case slog.MessageKey:
					return slog.String(a.Key, strings.ToUpper(a.Value.String()))
				}
				return a
			}
			mu.Lock()
			paths = append(paths, strings.Join(append(slices.Clone(groups), a.Key), "."))
			mu.Unlock()
			switch a.Key {
			case "password":
				return slog.String(a.Key, "***")
			case "drop":
				return slog.Attr{}
			}
			return a
		},
	}
	log := slog.New(engine.NewHandler(e.Logger(), opts)).WithGroup("req").With("password", "w1")
	log.Info("login",
		slog.Group("user", slog.String("name", "ann"), slog.String("password", "hunter2"), slog.Bool("drop", true)),
		slog.Group("", slog.String("password", "inline")),
		slog.String("drop", "x"))
	require.Equal(t, map[string]any{
		"level": "INFO",
		"msg":   "LOGIN",
		"req": map[string]any{
			"password": "***",
			"user":     map[string]any{"name": "ann", "password": "***"},
		},
	}, slogLine(t, e, mem))
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{
		"req.password", // WithAttrs, once
		"req.user.name", "req.user.password", "req.user.drop",
		"req.password", // the inlined group adds no name
		"req.drop",
	}, paths)
}

func TestSlogHandlerReplaceAttrChangesLevelAndRemovesSource(t *testing.T) {
	e, mem := newSlogEngine(t)
	opts := &engine.HandlerOptions{
		AddSource: true,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			switch {
			case groups != nil:
				return a
			case a.Key == slog.LevelKey:
				return slog.Any(a.Key, slog.LevelWarn)
			case a.Key == slog.SourceKey:
				require.Contains(t, a.Value.Any().(*slog.Source).File, "slog_test.go")
				return slog.Attr{}
			case a.Key == slog.TimeKey:
				return slog.Time(a.Key, time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC))
			}
			return a
		},
	}
	slog.New(engine.NewHandler(e.Logger(), opts)).Info("m")
	require.Equal(t, map[string]any{
		"time":  "2001-02-03T04:05:06.000000000Z",
		"level": "WARN",
		"msg":   "m",
	}, slogLine(t, e, mem))
}

func TestSlogHandlerAddSourceRecordsCaller(t *testing.T) {
	e, mem := newSlogEngine(t)
	slog.New(engine.NewHandler(e.Logger(), &engine.HandlerOptions{AddSource: true})).Info("with")
	slog.New(engine.NewHandler(e.Logger(), nil)).Info("without")
	ms := slogLines(t, e, mem)
	require.Len(t, ms, 2)
	require.Contains(t, ms[0]["caller"], "engine/slog_test.go:")
	require.NotContains(t, ms[1], "caller")
}

func TestSlogHandlerEnabledFollowsLevel(t *testing.T) {
	e, _ := newSlogEngine(t)
	ctx := context.Background()

	engineLevel := engine.NewHandler(e.Logger(), nil)
	require.True(t, engineLevel.Enabled(ctx, slog.LevelInfo))
	require.False(t, engineLevel.Enabled(ctx, slog.LevelDebug))
	e.LevelVar().Set(core.LevelDebug)
	require.True(t, engineLevel.Enabled(ctx, slog.LevelDebug))
	e.LevelVar().Set(core.LevelInfo)

	var lv slog.LevelVar
	lv.Set(slog.LevelWarn)
	own := engine.NewHandler(e.Logger(), &engine.HandlerOptions{Level: &lv})
	require.False(t, own.Enabled(ctx, slog.LevelInfo))
	require.True(t, own.Enabled(ctx, slog.LevelWarn))
	lv.Set(slog.LevelDebug) // below the engine's level: the handler's wins
	require.True(t, own.Enabled(ctx, slog.LevelDebug))
}

func TestSlogHandlerAddsContextExtractorFields(t *testing.T) {
	type traceKey struct{}
	e, mem := newSlogEngine(t, engine.WithContextExtractor(func(ctx context.Context) []core.Field {
		fs, _ := ctx.Value(traceKey{}).([]core.Field)
		return fs
	}))
	ctx := context.WithValue(context.Background(), traceKey{}, []core.Field{core.String("trace_id", "t-1")})
	slog.New(engine.NewHandler(e.Logger(), nil)).InfoContext(ctx, "m", "k", "v")
	m := slogLine(t, e, mem)
	require.Equal(t, "t-1", m["trace_id"])
	require.Equal(t, "v", m["k"])
}

// countingValuer logs the number of times it was resolved.
type countingValuer struct{ n *int }

func (c countingValuer) LogValue() slog.Value { *c.n++; return slog.IntValue(*c.n) }

func TestSlogHandlerCapturesValuesAtCallTime(t *testing.T) {
	e, mem := newSlogEngine(t)
	log := slog.New(engine.NewHandler(e.Logger(), nil))
	ids := []int{1, 2, 3}
	m := map[string]int{"a": 1}
	var resolved int
	log.LogAttrs(context.Background(), slog.LevelInfo, "m",
		slog.Any("ids", ids), slog.Any("m", m), slog.Any("v", countingValuer{&resolved}))
	ids[0], m["a"] = 99, 99
	resolved = 50
	got := slogLine(t, e, mem)
	require.Equal(t, []any{float64(1), float64(2), float64(3)}, got["ids"])
	require.Equal(t, map[string]any{"a": float64(1)}, got["m"])
	require.Equal(t, float64(1), got["v"])
}

func TestSlogHandlerIsSafeForConcurrentUse(t *testing.T) {
	const goroutines, each = 8, 200
	e, mem := newSlogEngine(t, engine.WithCapacity(1<<12)) // room for all: nothing dropped
	log := slog.New(engine.NewHandler(e.Logger(), nil)).With("svc", "api").WithGroup("g")
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			l := log.With("worker", g)
			for i := range each {
				l.Info("tick", "i", i)
			}
		})
	}
	wg.Wait()
	flush(t, e)
	require.Equal(t, goroutines*each, mem.Len())
	st := e.Stats()
	require.Equal(t, uint64(goroutines*each), st.Sinks[0].Written)
	requireBalanced(t, st)
}

func TestSlogHandlerReturnsErrClosedAfterShutdown(t *testing.T) {
	e, _ := newSlogEngine(t)
	h := engine.NewHandler(e.Logger(), nil)
	_, err := e.Shutdown(context.Background())
	require.NoError(t, err)
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "late", 0)
	require.ErrorIs(t, h.Handle(context.Background(), r), engine.ErrClosed)
}

// slog.Logger.LogAttrs through the Handler allocates nothing for five
// attributes of the basic kinds, the number slog.Record keeps inline.
func TestSlogHandlerLogAttrsDoesNotAllocate(t *testing.T) {
	forEachQueue(t, func(t *testing.T, q engine.QueueKind) {
		e := newEngine(t, engine.WithSink(&countSink{}), engine.WithQueue(q), engine.WithCapacity(1<<14))
		log := slog.New(engine.NewHandler(e.Logger(), nil))
		scoped := log.With("service", "api", "pid", 4242).WithGroup("req")
		ctx := context.Background()
		now := time.Now()
		cases := map[string]func(){
			"basic": func() {
				log.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("method", "GET"), slog.Int("status", 200),
					slog.Int64("bytes", 1<<20), slog.Float64("ratio", 0.25), slog.Bool("ok", true))
			},
			"time": func() {
				log.LogAttrs(ctx, slog.LevelInfo, "request", slog.Duration("took", time.Millisecond), slog.Time("at", now),
					slog.Uint64("id", 7), slog.String("path", "/v1"), slog.Int("status", 200))
			},
			"scoped": func() {
				scoped.LogAttrs(ctx, slog.LevelWarn, "request", slog.String("method", "GET"), slog.Int("status", 200))
			},
			"disabled": func() {
				log.LogAttrs(ctx, slog.LevelDebug, "hidden", slog.String("method", "GET"), slog.Int("status", 200))
			},
		}
		for name, f := range cases {
			require.Zero(t, testing.AllocsPerRun(500, f), name)
		}
	})
}
