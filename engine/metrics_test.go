package engine_test

import (
	"encoding/json"
	"errors"
	"expvar"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shardlog/shardlog/breaker"

	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog/budget"
	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/engine"
	"github.com/shardlog/shardlog/hist"
	"github.com/shardlog/shardlog/ring"
	"github.com/shardlog/shardlog/sinks"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files")

// Metrics reads the same exact counters as the accounting, per sink and
// per level, and the last error of a failing sink; distributions only
// when asked for.
func TestMetricsCountersMatchTheAccounting(t *testing.T) {
	good := sinks.NewMemory(sinks.MemoryOptions{})
	bad := sinks.NewMemory(sinks.MemoryOptions{})
	bad.SetErr(errors.New("disk on fire"))
	e := newEngine(t, engine.WithLevel(core.LevelDebug), engine.WithShards(2),
		engine.WithSink(good, engine.SinkName("good")),
		engine.WithSink(bad, engine.SinkName("bad"), engine.SinkLevel(core.LevelWarn)),
		engine.WithErrorHandler(func(error) {}))
	for i := range 30 {
		switch i % 3 {
		case 0:
			e.Logger().Debug("d")
		case 1:
			e.Logger().Info("i")
		default:
			e.Logger().Error("e")
		}
	}
	_ = e.Flush(t.Context()) // the bad sink's Flush fails too

	m := e.Metrics(false)
	require.Equal(t, engine.MetricsSchema, m.Schema)
	require.Equal(t, 2, m.Engine.Sinks)
	require.Len(t, m.Engine.Shards, 2)
	require.Equal(t, uint64(30), m.Engine.Accepted)
	byLevel := map[string]uint64{}
	for _, lc := range m.Engine.AcceptedByLevel {
		byLevel[lc.Level] = lc.Count
	}
	require.Equal(t, map[string]uint64{"<TRACE": 0, "TRACE": 0, "DEBUG": 10, "INFO": 10, "WARN": 0, "ERROR": 10, "FATAL": 0}, byLevel)

	rep := e.Stats()
	for i, s := range m.Sinks {
		st := rep.Sinks[i]
		require.Equal(t, st.Name, s.Name)
		require.Equal(t, st.Accepted, s.Accepted)
		require.Equal(t, st.Written, s.Written)
		require.Equal(t, st.Failed, s.Failed)
		require.Equal(t, st.Dropped, s.Dropped)
		require.Equal(t, s.Accepted, s.Written+s.Diverted+s.Failed+s.Dropped.Total()+s.Pending)
		require.Nil(t, s.WriteLatency, "no histograms unless asked for")
		require.Nil(t, s.BatchSize)
	}
	require.Equal(t, uint64(30), m.Sinks[0].Written)
	require.Equal(t, uint64(10), m.Sinks[1].Accepted)
	// Failed, or refused once its breaker opened (5 failed calls).
	require.Positive(t, m.Sinks[1].Failed)
	require.Equal(t, uint64(10), m.Sinks[1].Failed+m.Sinks[1].Dropped.BreakerOpen)
	require.NotNil(t, m.Sinks[1].Breaker)
	require.Contains(t, m.Sinks[1].LastError, "disk on fire")
	require.WithinDuration(t, time.Now(), m.Sinks[1].LastErrorTime, time.Minute)
	require.Empty(t, m.Sinks[0].LastError)

	h := e.Metrics(true)
	require.Equal(t, int64(h.Sinks[0].Batches), h.Sinks[0].WriteLatency.Count())
	require.Equal(t, int64(h.Sinks[0].Batches), h.Sinks[0].BatchSize.Count())
}

// Two readers of one engine each get their own intervals: one reading
// does not take the other's counts or latencies.
func TestMetricsReadersHaveTheirOwnIntervals(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	e := newEngine(t, engine.WithSink(mem))
	r1, r2 := e.NewMetricsReader(), e.NewMetricsReader()
	logN := func(n int) {
		for range n {
			e.Logger().Info("x")
		}
		flush(t, e)
	}
	logN(10)
	_, i1 := r1.Read(true)
	require.Equal(t, uint64(10), i1.Sinks[0].Written)
	require.Equal(t, int64(i1.Sinks[0].Batches), i1.Sinks[0].WriteLatency.Count())
	logN(5)
	c2, i2 := r2.Read(false)
	require.Equal(t, uint64(15), i2.Sinks[0].Written, "r1's read took nothing from r2")
	require.Equal(t, uint64(15), c2.Sinks[0].Written)
	require.Nil(t, i2.Sinks[0].WriteLatency)
	_, i1 = r1.Read(true)
	require.Equal(t, uint64(5), i1.Sinks[0].Written)
	require.Equal(t, uint64(5), i1.Engine.Accepted)
	require.Equal(t, int64(i1.Sinks[0].Batches), i1.Sinks[0].WriteLatency.Count())
	require.Positive(t, i1.Interval)
}

// An interval counts the truncations and the budget's crossings and
// refusals of that interval, not since New. Mutation caught: leaving
// them out of MetricsReader's difference (the second interval repeats
// the first's truncation).
func TestMetricsIntervalsCountTruncationsAndBudgetEvents(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	e := newEngine(t, engine.WithSink(mem), engine.WithMaxEventBytes(1024))
	r := e.NewMetricsReader()
	e.Logger().Info(strings.Repeat("x", 4096))
	flush(t, e)
	_, i1 := r.Read(false)
	require.Equal(t, uint64(1), i1.Engine.Truncated)
	e.Logger().Info("small")
	flush(t, e)
	c2, i2 := r.Read(false)
	require.Zero(t, i2.Engine.Truncated)
	require.Equal(t, uint64(1), c2.Engine.Truncated)
	require.NotNil(t, i2.Engine.Budget)
	require.Equal(t, c2.Engine.Budget.Limit, i2.Engine.Budget.Limit)
	require.Equal(t, c2.Engine.Budget.Peak, i2.Engine.Budget.Peak, "the peak is as of now")
	require.Zero(t, i2.Engine.Budget.Crossings)
	require.Zero(t, i2.Engine.Budget.Refused)
}

// Snapshots taken while goroutines log add up: the intervals of one
// reader sum to its last cumulative figures, and none is negative
// (a wrapped uint64 would show as huge).
func TestMetricsDuringConcurrentLogging(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	// A long block timeout: on a loaded test machine a starved flusher
	// could keep a Block call waiting past the default 100ms (seen once
	// in CI at 1024 slots), and this test is about the metrics' sums.
	e := newEngine(t, engine.WithSink(mem), engine.WithOverflow(ring.Block), engine.WithBlockTimeout(time.Minute))
	r := e.NewMetricsReader()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				e.Logger().Info("c", core.Int("g", g), core.Int("i", i))
			}
		}()
	}
	var written, accepted uint64
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
		}
		_, iv := r.Read(true)
		require.Less(t, iv.Sinks[0].Written, uint64(1<<40))
		require.Less(t, iv.Engine.Accepted, uint64(1<<40))
		written += iv.Sinks[0].Written
		accepted += iv.Engine.Accepted
	}
	flush(t, e)
	c, iv := r.Read(false)
	written += iv.Sinks[0].Written
	accepted += iv.Engine.Accepted
	require.Equal(t, uint64(8000), c.Sinks[0].Written)
	require.Equal(t, c.Sinks[0].Written, written)
	require.Equal(t, c.Engine.Accepted, accepted)
}

// The JSON form of Metrics is a documented schema; this golden file pins
// it (run with -update after a deliberate change, and bump MetricsSchema
// if a field was renamed or removed).
func TestMetricsJSONSchemaIsPinned(t *testing.T) {
	lat := hist.NewLatencyRecorder()
	for _, v := range []int64{1000, 2000, 3000, 1_000_000} {
		lat.Record(v)
	}
	m := engine.Metrics{
		Schema:   engine.MetricsSchema,
		Time:     time.Date(2026, 11, 29, 17, 0, 0, 0, time.UTC),
		Interval: time.Second,
		Engine: engine.EngineMetrics{
			Sinks: 1, Accepted: 12,
			AcceptedByLevel: []engine.LevelCount{{Level: "INFO", Count: 10}, {Level: "ERROR", Count: 2}},
			Shards:          []engine.ShardMetrics{{Depth: 3, Evicted: 1, FlusherLag: 2 * time.Millisecond}},
			Errors:          1,
			Truncated:       1,
			Budget:          &budget.Snapshot{Limit: 128 << 20, Usage: 4096, Peak: 1 << 20, Crossings: 0, Refused: 0},
		},
		Sinks: []engine.SinkMetrics{{
			Name: "file", Accepted: 12, Written: 9, Dropped: engine.Drops{QueueFullOldest: 1}, Failed: 1, Pending: 1,
			Bytes: 900, Batches: 4, Errors: 1, LastError: "write: disk full",
			LastErrorTime: time.Date(2026, 11, 29, 16, 59, 59, 0, time.UTC), Lagging: true,
			Timeouts: 1, Diverted: 3, FallbackWritten: 2, FallbackFailed: 1,
			Breaker:      &breaker.Counts{State: breaker.Open, Generation: 3, OpenInterval: time.Second, Rejected: 4},
			WriteLatency: lat.Cumulative(),
		}},
	}
	got, err := json.MarshalIndent(m, "", "  ")
	require.NoError(t, err)
	path := filepath.Join("testdata", "metrics_v1.json")
	if *updateGolden {
		require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, strings.TrimSpace(string(want)), string(got))

	var back engine.Metrics
	require.NoError(t, json.Unmarshal(got, &back))
	back.Sinks[0].WriteLatency, m.Sinks[0].WriteLatency = nil, nil // a Snapshot decodes as a summary
	require.Equal(t, m, back, "the JSON round-trips")
}

// The metrics are published under one expvar name, refused twice.
func TestMetricsPublishExpvar(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	e := newEngine(t, engine.WithSink(mem, engine.SinkName("mem")))
	name := fmt.Sprintf("shardlog-test-%d", time.Now().UnixNano())
	require.NoError(t, e.PublishExpvar(name))
	e.Logger().Info("x")
	flush(t, e)
	var m engine.Metrics
	require.NoError(t, json.Unmarshal([]byte(expvar.Get(name).String()), &m))
	require.Equal(t, engine.MetricsSchema, m.Schema)
	require.Equal(t, uint64(1), m.Sinks[0].Written)
	require.ErrorContains(t, e.PublishExpvar(name), "already published")
	require.ErrorContains(t, e.PublishExpvar(""), "empty name")
}

// The HTTP handler serves the snapshot as JSON on GET, with or without
// histograms, and refuses other methods.
func TestMetricsHandler(t *testing.T) {
	mem := sinks.NewMemory(sinks.MemoryOptions{})
	e := newEngine(t, engine.WithSink(mem, engine.SinkName("mem")))
	e.Logger().Info("x")
	flush(t, e)
	h := e.MetricsHandler()
	for _, q := range []string{"", "?histograms=0"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics.json"+q, nil))
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		var m engine.Metrics
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m))
		require.Equal(t, uint64(1), m.Sinks[0].Written)
		require.Equal(t, q == "", strings.Contains(rec.Body.String(), "write_latency_ns"))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/metrics.json", nil))
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
}
