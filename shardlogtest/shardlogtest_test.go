package shardlogtest_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/shardlogtest"
	"github.com/shardlog/shardlog/sinks"
)

// The brief's example, on a real *testing.T.
func TestNew(t *testing.T) {
	log, obs := shardlogtest.New(t)
	log.Info("hello", shardlog.Int("n", 1))
	obs.Sync()
	require.Equal(t, 1, obs.FilterMessage("hello").Len())
	require.NoError(t, log.Sync())
}

func TestFieldsLevelsAndNames(t *testing.T) {
	log, obs := shardlogtest.New(t)
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

	log.Trace("below debug") // the default level is Debug
	log.Debug("debug")
	api := log.Named("api").With(shardlog.String("region", "eu"))
	api.Info("request",
		shardlog.Int("status", 200),
		shardlog.Uint64("bytes", 512),
		shardlog.Float64("ratio", 0.5),
		shardlog.Bool("cached", true),
		shardlog.Duration("took", 3*time.Millisecond),
		shardlog.Time("at", at),
		shardlog.Err(errors.New("boom")),
		shardlog.Err(nil),
		shardlog.Bytes("raw", []byte("xy")),
		shardlog.Any("ids", []int{1, 2}),
	)
	api.Named("db").WithGroup("q").Warn("slow", shardlog.Int("ms", 90))
	log.Error("failed", shardlog.Group("req", shardlog.Int("id", 7)))

	require.Equal(t, []string{"debug", "request", "slow", "failed"}, obs.Messages())
	require.Equal(t, 0, obs.FilterMessage("below debug").Len())

	req := obs.FilterMessage("request")
	require.Equal(t, 1, req.Len())
	e := req[0]
	require.Equal(t, shardlog.LevelInfo, e.Level)
	require.Equal(t, "api", e.Logger)
	require.False(t, e.Time.IsZero())
	require.Equal(t, "request", e.Event.Message)
	require.Equal(t, map[string]any{
		"region": "eu",
		"status": int64(200),
		"bytes":  uint64(512),
		"ratio":  0.5,
		"cached": true,
		"took":   3 * time.Millisecond,
		"at":     at,
		"error":  "boom",
		"raw":    []byte("xy"),
		"ids":    "[1,2]",
	}, e.FieldMap())
	keys := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		keys[i] = f.Key
	}
	require.Equal(t, []string{"region", "status", "bytes", "ratio", "cached", "took", "at", "error", "error", "raw", "ids"}, keys,
		"the logger's fields first, then the call's, in order, the empty one included")

	// WithGroup nests what follows it, as the encoders do.
	slow := obs.FilterLoggerName("api.db")
	require.Equal(t, []string{"slow"}, slow.Messages())
	require.Equal(t, map[string]any{"region": "eu", "q": map[string]any{"ms": int64(90)}}, slow[0].FieldMap())

	require.Equal(t, []string{"failed"}, obs.FilterLevelExact(shardlog.LevelError).Messages())
	require.Equal(t, []string{"debug", "failed"}, obs.FilterLoggerName("").Messages())
	require.Equal(t, []string{"request"}, obs.FilterField(shardlog.Int("status", 200)).Messages())
	require.Empty(t, obs.FilterField(shardlog.Int64("status", 201)))
	require.Empty(t, obs.FilterField(shardlog.Uint64("status", 200)), "the kind must match too")
	require.Equal(t, []string{"failed"}, obs.FilterField(shardlog.Group("req", shardlog.Int("id", 7))).Messages())
	require.Equal(t, []string{"request", "slow"}, obs.FilterFieldKey("region").Messages())
	require.Equal(t, []string{"request"}, obs.FilterMessageSnippet("ques").Messages())
	require.Equal(t, []string{"slow"}, obs.Filter(func(e shardlogtest.LoggedEvent) bool { return e.Level >= shardlog.LevelWarn }).
		FilterLoggerName("api.db").Messages())
}

func TestFieldValue(t *testing.T) {
	require.Nil(t, shardlogtest.FieldValue(shardlog.Err(nil)))
	require.Equal(t, "v", shardlogtest.FieldValue(shardlog.String("k", "v")))
	require.Equal(t, `{"a":1}`, shardlogtest.FieldValue(shardlog.Any("k", map[string]int{"a": 1})))
	require.Equal(t, map[string]any{"a": true, "b": map[string]any{"c": "d"}},
		shardlogtest.FieldValue(shardlog.Group("g", shardlog.Bool("a", true), shardlog.Group("b", shardlog.String("c", "d")))))
}

func TestTakeAll(t *testing.T) {
	log, obs := shardlogtest.New(t)
	log.Info("one")
	log.Info("two")
	got := obs.TakeAll()
	require.Len(t, got, 2)
	require.Equal(t, 0, obs.Len())
	log.Info("three")
	require.Equal(t, []string{"three"}, obs.Messages())
}

// Options given to New replace the helper's defaults.
func TestEngineOptionsWin(t *testing.T) {
	log, obs := shardlogtest.New(t, shardlog.WithLevel(shardlog.LevelInfo), shardlog.WithName("svc"))
	log.Debug("hidden")
	log.Info("shown")
	require.Equal(t, []string{"shown"}, obs.Messages())
	require.Equal(t, "svc", obs.All()[0].Logger)
}

// Many goroutines log at once; every event reaches both sinks, and each
// goroutine's events arrive in the order it logged them. No read syncs
// explicitly: the reads wait for delivery themselves.
func TestConcurrentExactCounts(t *testing.T) {
	const goroutines, each = 32, 300
	ft := &fakeTB{}
	log, obs := shardlogtest.New(ft)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := log.With(shardlog.Int("g", g))
			for i := range each {
				l.Info("tick", shardlog.Int("i", i))
			}
		}()
	}
	// Reads while logging are safe (checked by -race); their counts only
	// grow.
	for range 5 {
		require.LessOrEqual(t, obs.Len(), goroutines*each)
	}
	wg.Wait()

	all := obs.All()
	require.Equal(t, goroutines*each, len(all))
	require.Equal(t, goroutines*each, len(ft.Logs()))
	for g := range goroutines {
		evs := shardlogtest.Events(all).FilterField(shardlog.Int("g", g))
		require.Equal(t, each, len(evs))
		for i, e := range evs {
			require.Equal(t, int64(i), e.FieldMap()["i"], "goroutine %d", g)
		}
	}
	ft.finish()
	require.Empty(t, ft.Errors())
	require.Zero(t, ft.Late())
}

func TestOutputReachesTestLog(t *testing.T) {
	ft := &fakeTB{}
	log, obs := shardlogtest.New(ft)
	log.Named("api").Info("hello", shardlog.Int("n", 1), shardlog.String("who", "ann smith"))
	log.Debug("detail")
	obs.Sync()
	require.Equal(t, []string{
		`level=INFO logger=api msg=hello n=1 who="ann smith"`,
		`level=DEBUG msg=detail`,
	}, ft.Logs())
	ft.finish()
	require.Empty(t, ft.Errors())
}

func TestConfigEncoderAndQuiet(t *testing.T) {
	keys := shardlog.DefaultKeys()
	keys.Time = ""
	ft := &fakeTB{}
	log, obs := shardlogtest.NewWithConfig(ft, shardlogtest.Config{Encoder: shardlog.JSON{Keys: keys}})
	log.Info("hello", shardlog.Int("n", 1))
	obs.Sync()
	require.Equal(t, []string{`{"level":"INFO","msg":"hello","n":1}`}, ft.Logs())
	ft.finish()
	require.Empty(t, ft.Errors())

	ft = &fakeTB{}
	log, obs = shardlogtest.NewWithConfig(ft, shardlogtest.Config{Quiet: true})
	log.Info("hello")
	require.Equal(t, 1, obs.Len())
	require.Empty(t, ft.Logs())
	rep := log.Engine().Stats()
	require.Len(t, rep.Sinks, 1)
	require.Equal(t, shardlogtest.ObserverSinkName, rep.Sinks[0].Name)
	ft.finish()
	require.Empty(t, ft.Errors())
}

// The cleanup shuts the engine down: what was queued is delivered first,
// later calls reach nobody, and the events stay readable.
func TestCleanupShutsDown(t *testing.T) {
	ft := &fakeTB{}
	log, obs := shardlogtest.New(ft)
	for i := range 100 {
		log.Info("queued", shardlog.Int("i", i))
	}
	ft.finish() // no read before: the shutdown delivers

	require.Empty(t, ft.Errors())
	require.Len(t, ft.Logs(), 100)
	require.ErrorIs(t, log.Sync(), shardlog.ErrClosed)
	_, err := log.Engine().Shutdown(context.Background())
	require.NoError(t, err, "a second Shutdown reports the first")

	log.Info("after the test")
	require.Equal(t, 100, obs.Len())
	require.Len(t, ft.Logs(), 100)
	require.Zero(t, ft.Late())
}

// A filter drops an event: the cleanup names the reason and both sinks.
func TestCleanupReportsDropped(t *testing.T) {
	ft := &fakeTB{}
	log, obs := shardlogtest.New(ft, shardlog.WithFilter(func(e *core.Event) bool { return e.Message != "secret" }))
	log.Info("public")
	log.Info("secret")
	require.Equal(t, []string{"public"}, obs.Messages())
	require.Empty(t, ft.Errors(), "nothing is reported before the cleanup")

	ft.finish()
	errs := ft.errorsText()
	require.Contains(t, errs, "lost events")
	require.Contains(t, errs, `sink "testlog": 1 dropped (filtered)`)
	require.Contains(t, errs, `sink "observer": 1 dropped (filtered)`)
	require.Zero(t, ft.Late())
}

// Config.Allow accepts drops a test causes on purpose.
func TestCleanupAllow(t *testing.T) {
	ft := &fakeTB{}
	log, obs := shardlogtest.NewWithConfig(ft, shardlogtest.Config{Allow: []shardlog.Reason{shardlog.Filtered}},
		shardlog.WithFilter(func(e *core.Event) bool { return e.Message != "secret" }))
	log.Info("secret")
	ft.finish()
	require.Empty(t, ft.Errors())
	require.Equal(t, 0, obs.Len())
}

// A sink that fails: the error fails the test when it happens, and the
// cleanup reports the failed event.
func TestCleanupReportsFailed(t *testing.T) {
	broken := sinks.NewMemory(sinks.MemoryOptions{})
	broken.SetErr(errors.New("disk full"))
	ft := &fakeTB{}
	log, obs := shardlogtest.New(ft, shardlog.WithSink(broken, shardlog.SinkName("broken")))
	log.Info("lost")
	require.Equal(t, 1, obs.Len(), "the other sinks still get it")

	ft.finish()
	require.Contains(t, ft.errorsText(), "sink broken: write: disk full")
	require.Contains(t, ft.errorsText(), `sink "broken": 1 failed`)
	require.NotContains(t, ft.errorsText(), `sink "observer"`)
}

// hungSink does not return from Write until released, whatever its ctx
// says, as a destination that hangs.
type hungSink struct{ release chan struct{} }

func (s hungSink) Write(_ context.Context, b []core.Entry) (int, error) {
	<-s.release
	return len(b), nil
}
func (hungSink) Flush(context.Context) error { return nil }
func (hungSink) Close(context.Context) error { return nil }

// A sink hangs past the cleanup's deadline: the shutdown error and the
// pending event are reported, and the sink is named as stuck.
func TestCleanupReportsPending(t *testing.T) {
	hung := hungSink{release: make(chan struct{})}
	defer close(hung.release) // let the writer goroutine end (goleak)
	ft := &fakeTB{}
	log, _ := shardlogtest.NewWithConfig(ft, shardlogtest.Config{Timeout: 100 * time.Millisecond},
		shardlog.WithSink(hung, shardlog.SinkName("hung")))
	log.Info("stuck")

	start := time.Now()
	ft.finish()
	require.Less(t, time.Since(start), 5*time.Second, "the cleanup is bounded")
	errs := ft.errorsText()
	require.Contains(t, errs, "shutdown: drain: flush-pending: context deadline exceeded")
	require.Contains(t, errs, `sink "hung": 1 pending (the sink is stuck in a call)`)
	require.NotContains(t, errs, `sink "testlog"`)
	require.Zero(t, ft.Late())
}

// An internal error of the pipeline (here a panicking enricher) fails the
// test.
func TestInternalErrorFails(t *testing.T) {
	ft := &fakeTB{}
	log, obs := shardlogtest.New(ft, shardlog.WithEnricher(func(e *core.Event) {
		if e.Message == "bad" {
			panic("enricher bug")
		}
	}))
	log.Info("bad")
	obs.Sync()
	ft.finish()
	require.Contains(t, ft.errorsText(), "enricher bug")
}

// An option the engine refuses fails the test at once.
func TestBadOptionIsFatal(t *testing.T) {
	ft := &fakeTB{}
	require.PanicsWithValue(t, errFatal, func() { shardlogtest.New(ft, shardlog.WithCapacity(3)) })
	require.Len(t, ft.fatals, 1)
	require.Contains(t, ft.fatals[0], "WithCapacity")
	require.Empty(t, ft.cleanups, "no engine was started")
}
