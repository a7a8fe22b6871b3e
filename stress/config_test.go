package stress

import (
	"context"
	"encoding/json"
	"log/slog"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/core"
)

// levelSteps is the cycle the churners walk through.
var levelSteps = []shardlog.Level{shardlog.LevelDebug, shardlog.LevelWarn, shardlog.LevelTrace, shardlog.LevelInfo, shardlog.LevelError, shardlog.LevelInfo}

// selfLevelSink changes its own run-time level (SinkLevelVar) at the end
// of every Write, from the writer's goroutine. A sink writer reads that
// level once per round, and a round ends with at most one Write (engine
// writer.go, round), so the level each Write's events were filtered by is
// known exactly: the one set at the end of the Write before. It keeps the
// Mono span of each Write with that level.
type selfLevelSink struct {
	rec   *recorder
	lv    *shardlog.LevelVar
	step  int
	spans []levelSpan
}

type levelSpan struct {
	first, last int64 // Mono of the first and last event written
	level       shardlog.Level
}

func (s *selfLevelSink) Write(_ context.Context, b []core.Entry) (int, error) {
	in := s.lv.Level()
	for _, en := range b {
		if en.Event.Level < in {
			s.rec.mu.Lock()
			s.rec.problem("%s: level %v handed over while the sink's level was %v", s.rec.name, en.Event.Level, in)
			s.rec.mu.Unlock()
		}
	}
	s.rec.record(b)
	s.spans = append(s.spans, levelSpan{b[0].Event.Mono, b[len(b)-1].Event.Mono, in})
	s.step++
	s.lv.Set(levelSteps[s.step%len(levelSteps)])
	return len(b), nil
}
func (s *selfLevelSink) Flush(context.Context) error { return nil }
func (s *selfLevelSink) Close(context.Context) error { return nil }

// Configuration changed while many goroutines log: the engine's LevelVar
// flips under the producers' feet; a sink's SinkLevelVar changes after
// each of its writes; loggers are derived concurrently from shared ones
// (Named, With, WithGroup) and so are slog handlers (WithAttrs,
// WithGroup); Flush runs in a loop and producers call Sync. Under Block
// nothing is lost, so filtering is checked exactly where it is
// deterministic:
//   - a call during which the engine's level did not change (a version
//     counter, odd while the churner changes the level, read before and
//     after the call) is delivered if and only if its level is enabled;
//   - an event inside the Mono span of one of the sink's writes reached
//     that sink if and only if its level was at or above the level in
//     force for that write; between two writes, as either allows;
//   - an enabled call followed by Sync is in the sink when Sync returns;
//   - every event carries exactly the name, fields and groups of the
//     logger or handler that logged it (checked on the JSON lines);
//   - the accounting is exact for both sinks (written + below-sink-level
//     for the leveled one).
func TestConfigurationChurn(t *testing.T) {
	var lv, sv shardlog.LevelVar
	lv.Set(shardlog.LevelDebug)
	sv.Set(shardlog.LevelInfo)
	all := newLineRecorder("all")
	all.keepIDs = true
	dyn := &selfLevelSink{rec: newRecorder("dyn"), lv: &sv}
	e, err := shardlog.New(shardlog.WithLevelVar(&lv), shardlog.WithOverflow(shardlog.Block), shardlog.WithBlockTimeout(time.Minute),
		shardlog.WithShards(4), shardlog.WithCapacity(256), shardlog.WithSyncTimeout(time.Minute),
		shardlog.WithSink(all, shardlog.SinkName("all")),
		shardlog.WithSink(dyn, shardlog.SinkName("dyn"), shardlog.SinkLevelVar(&sv)))
	require.NoError(t, err)

	// The engine's level changes under a version counter, odd while it
	// changes; levelAt(v) is the level while it is v (even).
	var version atomic.Int64
	levelAt := func(v int64) shardlog.Level {
		if v == 0 {
			return shardlog.LevelDebug
		}
		return levelSteps[(v/2-1)%int64(len(levelSteps))]
	}
	stop, churned := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(churned)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			l := levelSteps[i%len(levelSteps)]
			version.Add(1)
			lv.Set(l)
			version.Add(1)
			time.Sleep(200 * time.Microsecond)
		}
	}()
	var flushes sync.WaitGroup
	var bad problems
	flushes.Add(1)
	go func() { // Flush in a loop
		defer flushes.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := e.Flush(ctx); err != nil {
				bad.add("Flush: %v", err)
			}
			cancel()
		}
	}()

	type call struct {
		level   shardlog.Level
		version int64 // -1: the level changed during the call
		logger  string
		k       int
	}
	n, each := producers(), scaled(6000)
	calls := make([][]call, n)
	shared := e.Logger().Named("w")
	sharedSlog := slog.New(shardlog.NewHandler(e.Logger().Named("slog"), nil))
	run(t, n, func(p int) {
		var log *shardlog.Logger
		var sl *slog.Logger
		var name string
		var k int
		calls[p] = make([]call, 0, each)
		for i := range each {
			if i%50 == 0 { // a new logger, derived from shared ones
				k = i / 50
				if p%2 == 0 {
					name = "w." + strconv.Itoa(k)
					log = shared.Named(strconv.Itoa(k)).With(shardlog.Int("p", p), shardlog.Int("k", k)).
						WithGroup("grp").With(shardlog.String("inner", "x"))
				} else {
					name = "slog"
					sl = sharedSlog.With("p", p, "k", k).WithGroup("grp").With("inner", "x")
				}
			}
			lvl := levels[(i*7+p)%len(levels)]
			v1 := version.Load()
			if p%2 == 0 {
				log.Log(context.Background(), lvl, "chain", shardlog.Int("s", i))
			} else {
				sl.Log(context.Background(), slog.Level(lvl), "slog", "s", i)
			}
			c := call{level: lvl, version: v1, logger: name, k: k}
			if v2 := version.Load(); v1 != v2 || v1%2 != 0 {
				c.version = -1
			}
			calls[p] = append(calls[p], c)
			if i%64 == 63 && c.version >= 0 && lvl >= levelAt(c.version) {
				// A Sync barrier: this enabled call is delivered when
				// Sync returns.
				if err := shared.Sync(); err != nil {
					bad.add("producer %d: Sync: %v", p, err)
				} else if !all.has(int64(p), int64(i)) {
					bad.add("producer %d: call %d was not delivered when Sync returned", p, i)
				}
			}
			if i%16 == 0 {
				runtime.Gosched()
			}
		}
	})
	close(stop)
	<-churned
	flushes.Wait()
	bad.check(t)
	rep := shutdown(t, e)

	counts := make([]int64, n)
	var stable, enabled int
	var accepted uint64
	for p, cs := range calls {
		counts[p] = int64(len(cs))
		for i, c := range cs {
			got := all.has(int64(p), int64(i))
			if got {
				accepted++
			}
			if c.version < 0 {
				continue
			}
			stable++
			want := c.level >= levelAt(c.version)
			if want {
				enabled++
			}
			if got != want {
				t.Fatalf("producer %d, call %d at %v: delivered %v, but the level was %v throughout the call", p, i, c.level, got, levelAt(c.version))
			}
		}
	}
	t.Logf("%d level changes; %d of %d calls made under one level (%d enabled); %d delivered; %d sink level spans",
		version.Load()/2, stable, n*each, enabled, accepted, len(dyn.spans))
	require.Positive(t, stable, "some calls ran under one level")
	require.Less(t, stable, n*each, "the level changed during some calls")

	sa, sd := sinkStats(t, rep, "all"), sinkStats(t, rep, "dyn")
	requireExact(t, sa, accepted, all.count())
	requireExact(t, sd, accepted, dyn.rec.count())
	require.Equal(t, sa.Accepted, sa.Written, "Block: everything enabled was delivered")
	requireOnlyDrops(t, sd, shardlog.BelowSinkLevel)
	all.check(t, callsOf(counts))
	dyn.rec.check(t, callsOf(counts))
	checkSinkLevelSpans(t, all.recorder, dyn)
	checkScopes(t, all, func(p, s int64) (string, int) {
		c := calls[p][s]
		return c.logger, c.k
	})
}

// checkSinkLevelSpans checks every event the engine delivered ("all", in
// Mono order) against the level in force when dyn's writer reached it.
func checkSinkLevelSpans(t *testing.T, all *recorder, dyn *selfLevelSink) {
	t.Helper()
	spans := dyn.spans
	require.NotEmpty(t, spans)
	j, inside, between := 0, 0, 0
	for _, id := range all.idents {
		for j < len(spans) && spans[j].last < id.mono {
			j++
		}
		got := dyn.rec.has(id.p, id.s)
		var lo, hi shardlog.Level // the event was filtered at one of these
		switch {
		case j < len(spans) && spans[j].first < id.mono && id.mono < spans[j].last:
			lo, hi = spans[j].level, spans[j].level
			inside++
		case j < len(spans) && spans[j].first <= id.mono:
			continue // on a span's edge: a tie in Mono can put it either side
		default:
			// Between write j-1 and write j: its round ran at the level in
			// force for either.
			lo, hi = levelSteps[0], shardlog.LevelError
			if j < len(spans) {
				lo, hi = spans[j].level, spans[j].level
			}
			if j > 0 {
				lo, hi = min(lo, spans[j-1].level), max(hi, spans[j-1].level)
			}
			between++
		}
		if id.level >= hi && !got {
			t.Fatalf("dyn: %v event (%d, %d) was filtered, but the sink's level was at most %v", id.level, id.p, id.s, hi)
		}
		if id.level < lo && got {
			t.Fatalf("dyn: %v event (%d, %d) was delivered, but the sink's level was at least %v", id.level, id.p, id.s, lo)
		}
	}
	t.Logf("dyn: %d events checked inside a write's span, %d between writes", inside, between)
	require.Positive(t, inside)
}

// checkScopes decodes every JSON line of r and checks that it carries
// what its logger was built with: the logger's name, the producer and
// chain fields at the top, and the group holding the With field and the
// call's own sequence number.
func checkScopes(t *testing.T, r lineRecorder, want func(p, s int64) (logger string, k int)) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, line := range r.lines {
		var m struct {
			Logger string `json:"logger"`
			P      *int64 `json:"p"`
			K      *int   `json:"k"`
			Grp    *struct {
				Inner string `json:"inner"`
				S     *int64 `json:"s"`
			} `json:"grp"`
		}
		require.NoError(t, json.Unmarshal(line, &m), "line %d: %s", i, line)
		if m.P == nil || m.K == nil || m.Grp == nil || m.Grp.S == nil {
			t.Fatalf("line %d lacks the logger's fields or group: %s", i, line)
		}
		logger, k := want(*m.P, *m.Grp.S)
		if m.Logger != logger || *m.K != k || m.Grp.Inner != "x" {
			t.Fatalf("line %d: logger %q, k %d, inner %q; want %q, %d, \"x\": %s", i, m.Logger, *m.K, m.Grp.Inner, logger, k, line)
		}
	}
	if len(r.lines) == 0 {
		t.Fatalf("%s kept no lines", r.name)
	}
}
