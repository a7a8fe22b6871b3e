package shardlogprom_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/shardlog/shardlog"
	"github.com/shardlog/shardlog/core"
	shardlogprom "github.com/shardlog/shardlog/prometheus"
	"github.com/shardlog/shardlog/sinks"
)

// requireIntegration makes a missing external tool a failure rather than
// a skip (CI sets it where it installs Prometheus).
var requireIntegration = os.Getenv("SHARDLOG_REQUIRE_INTEGRATION") == "1"

// countingWriter counts the bytes written to it.
type countingWriter struct{ n atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return len(p), nil
}

// newEngine returns an engine shut down at the end of the test.
func newEngine(t *testing.T, opts ...shardlog.Option) *shardlog.Engine {
	t.Helper()
	e, err := shardlog.New(opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = e.Shutdown(ctx)
	})
	return e
}

// testEngine has a sink "out" that takes everything and a sink "bad" for
// warnings and above whose writes fail; events with the message "secret"
// are filtered out.
func testEngine(t *testing.T) (*shardlog.Engine, *countingWriter) {
	t.Helper()
	cw := &countingWriter{}
	out, err := shardlog.NewWriter(cw, shardlog.JSON{})
	require.NoError(t, err)
	bad := sinks.NewMemory(sinks.MemoryOptions{})
	bad.SetErr(errors.New("disk on fire"))
	e := newEngine(t, shardlog.WithShards(2),
		shardlog.WithSink(out, shardlog.SinkName("out")),
		// No breaker: with one, how many of the bad sink's events count
		// failed and how many breaker-open depends on how many writes
		// they arrive in (its fifth failure opens it), which the
		// scheduling decides (a fresh-clone CI run saw 3 and 2).
		shardlog.WithSink(bad, shardlog.SinkName("bad"), shardlog.SinkLevel(shardlog.LevelWarn), shardlog.SinkWithoutBreaker()),
		shardlog.WithFilter(func(ev *core.Event) bool { return ev.Message != "secret" }),
		shardlog.WithErrorHandler(func(error) {}))
	return e, cw
}

// After a known number of events, the counters are exact.
func TestCollectorCountsAKnownWorkload(t *testing.T) {
	e, cw := testEngine(t)
	for i := range 10 {
		e.Logger().Info("hello", shardlog.Int("i", i))
	}
	for range 5 {
		e.Logger().Error("boom")
	}
	for range 3 {
		e.Logger().Info("secret")
	}
	_ = e.Flush(t.Context()) // the bad sink's Flush fails

	c := shardlogprom.NewCollector(e)
	want := `
# HELP shardlog_sink_events_accepted_total Events accepted for the sink: written + diverted + failed + dropped + pending.
# TYPE shardlog_sink_events_accepted_total counter
shardlog_sink_events_accepted_total{sink="bad"} 5
shardlog_sink_events_accepted_total{sink="out"} 18
# HELP shardlog_sink_events_written_total Events the sink wrote.
# TYPE shardlog_sink_events_written_total counter
shardlog_sink_events_written_total{sink="bad"} 0
shardlog_sink_events_written_total{sink="out"} 15
# HELP shardlog_sink_events_failed_total Events the sink failed to write.
# TYPE shardlog_sink_events_failed_total counter
shardlog_sink_events_failed_total{sink="bad"} 5
shardlog_sink_events_failed_total{sink="out"} 0
# HELP shardlog_sink_events_pending Events accepted for the sink and not yet written, diverted, failed or dropped.
# TYPE shardlog_sink_events_pending gauge
shardlog_sink_events_pending{sink="bad"} 0
shardlog_sink_events_pending{sink="out"} 0
# HELP shardlog_sink_events_dropped_total Events dropped before the sink wrote them, by reason.
# TYPE shardlog_sink_events_dropped_total counter
shardlog_sink_events_dropped_total{reason="below-sink-level",sink="bad"} 0
shardlog_sink_events_dropped_total{reason="below-sink-level",sink="out"} 0
shardlog_sink_events_dropped_total{reason="block-timeout",sink="bad"} 0
shardlog_sink_events_dropped_total{reason="block-timeout",sink="out"} 0
shardlog_sink_events_dropped_total{reason="breaker-open",sink="bad"} 0
shardlog_sink_events_dropped_total{reason="breaker-open",sink="out"} 0
shardlog_sink_events_dropped_total{reason="budget",sink="bad"} 0
shardlog_sink_events_dropped_total{reason="budget",sink="out"} 0
shardlog_sink_events_dropped_total{reason="closed",sink="bad"} 0
shardlog_sink_events_dropped_total{reason="closed",sink="out"} 0
shardlog_sink_events_dropped_total{reason="filtered",sink="bad"} 0
shardlog_sink_events_dropped_total{reason="filtered",sink="out"} 3
shardlog_sink_events_dropped_total{reason="not-attempted",sink="bad"} 0
shardlog_sink_events_dropped_total{reason="not-attempted",sink="out"} 0
shardlog_sink_events_dropped_total{reason="queue-full-newest",sink="bad"} 0
shardlog_sink_events_dropped_total{reason="queue-full-newest",sink="out"} 0
shardlog_sink_events_dropped_total{reason="queue-full-oldest",sink="bad"} 0
shardlog_sink_events_dropped_total{reason="queue-full-oldest",sink="out"} 0
shardlog_sink_events_dropped_total{reason="shutdown",sink="bad"} 0
shardlog_sink_events_dropped_total{reason="shutdown",sink="out"} 0
shardlog_sink_events_dropped_total{reason="sink-lagging",sink="bad"} 0
shardlog_sink_events_dropped_total{reason="sink-lagging",sink="out"} 0
shardlog_sink_events_dropped_total{reason="too-large",sink="bad"} 0
shardlog_sink_events_dropped_total{reason="too-large",sink="out"} 0
# HELP shardlog_sink_lagging 1 while the sink is stalled and its backlog queues in memory, else 0.
# TYPE shardlog_sink_lagging gauge
shardlog_sink_lagging{sink="bad"} 0
shardlog_sink_lagging{sink="out"} 0
# HELP shardlog_events_accepted_total Log calls accepted, by level class (from the level up to the next one).
# TYPE shardlog_events_accepted_total counter
shardlog_events_accepted_total{level="<TRACE"} 0
shardlog_events_accepted_total{level="TRACE"} 0
shardlog_events_accepted_total{level="DEBUG"} 0
shardlog_events_accepted_total{level="INFO"} 13
shardlog_events_accepted_total{level="WARN"} 0
shardlog_events_accepted_total{level="ERROR"} 5
shardlog_events_accepted_total{level="FATAL"} 0
# HELP shardlog_queue_depth Events waiting in the shard's queue.
# TYPE shardlog_queue_depth gauge
shardlog_queue_depth{shard="0"} 0
shardlog_queue_depth{shard="1"} 0
# HELP shardlog_queue_evicted_total Events evicted from the full shard for newer ones.
# TYPE shardlog_queue_evicted_total counter
shardlog_queue_evicted_total{shard="0"} 0
shardlog_queue_evicted_total{shard="1"} 0
# HELP shardlog_flusher_lag_seconds Bound on the age of the shard's oldest queued event; 0 when empty.
# TYPE shardlog_flusher_lag_seconds gauge
shardlog_flusher_lag_seconds{shard="0"} 0
shardlog_flusher_lag_seconds{shard="1"} 0
# HELP shardlog_sinks Sinks of the engine.
# TYPE shardlog_sinks gauge
shardlog_sinks 2
`
	require.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(want),
		"shardlog_sink_events_accepted_total", "shardlog_sink_events_written_total",
		"shardlog_sink_events_failed_total", "shardlog_sink_events_pending",
		"shardlog_sink_events_dropped_total", "shardlog_sink_lagging",
		"shardlog_events_accepted_total", "shardlog_queue_depth", "shardlog_queue_evicted_total",
		"shardlog_flusher_lag_seconds", "shardlog_sinks"))

	// The rest depend on batching and timing: check them against the engine.
	m := e.Metrics(true)
	got := gather(t, c)
	out, bad := m.Sinks[0], m.Sinks[1]
	require.Equal(t, float64(cw.n.Load()), got[`shardlog_sink_bytes_written_total{sink="out"}`])
	require.Equal(t, float64(out.Bytes), got[`shardlog_sink_bytes_written_total{sink="out"}`])
	require.Equal(t, float64(out.Batches), got[`shardlog_sink_batches_total{sink="out"}`])
	require.Equal(t, float64(out.Batches), got[`shardlog_sink_write_duration_seconds_count{sink="out"}`])
	require.Positive(t, got[`shardlog_sink_write_duration_seconds_sum{sink="out"}`])
	require.Equal(t, float64(bad.Errors), got[`shardlog_sink_errors_total{sink="bad"}`])
	require.Positive(t, bad.Errors)
	require.Zero(t, got[`shardlog_sink_errors_total{sink="out"}`])
	require.InDelta(t, float64(time.Now().Unix()), got[`shardlog_sink_last_error_timestamp_seconds{sink="bad"}`], 60)
	require.NotContains(t, got, `shardlog_sink_last_error_timestamp_seconds{sink="out"}`, "no error, no series")
	require.Contains(t, got, `shardlog_internal_errors_total`)
	// The memory budget (on by default) and the truncation counter.
	b := m.Engine.Budget
	require.NotNil(t, b)
	require.Equal(t, float64(shardlog.DefaultMaxQueueBytes), got[`shardlog_budget_limit_bytes`])
	require.Equal(t, float64(b.Peak), got[`shardlog_budget_peak_bytes`])
	require.Positive(t, got[`shardlog_budget_peak_bytes`], "the events were charged while queued")
	require.Contains(t, got, `shardlog_budget_usage_bytes`)
	require.Zero(t, got[`shardlog_budget_over`])
	require.Zero(t, got[`shardlog_budget_crossings_total`])
	require.Zero(t, got[`shardlog_budget_refused_total`])
	require.Zero(t, got[`shardlog_events_truncated_total`])

	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	require.Empty(t, problems)
}

// gather returns c's samples by series, written as in the text format
// with the labels in name order; a histogram gives its _count and _sum.
func gather(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			series := func(suffix string) string {
				if len(labels) == 0 {
					return mf.GetName() + suffix
				}
				return mf.GetName() + suffix + "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[series("")] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[series("")] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[series("_count")] = float64(m.GetHistogram().GetSampleCount())
				out[series("_sum")] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

// Two engines in one registry need a const label to tell them apart; the
// collector is checked, so a duplicate is refused at registration.
func TestCollectorRegistration(t *testing.T) {
	e1, _ := testEngine(t)
	e2, _ := testEngine(t)
	label := func(v string) shardlogprom.Option {
		return shardlogprom.WithConstLabels(prometheus.Labels{"engine": v})
	}
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(shardlogprom.NewCollector(e1, label("one"))))
	require.Error(t, reg.Register(shardlogprom.NewCollector(e2, label("one"))))
	require.NoError(t, reg.Register(shardlogprom.NewCollector(e2, label("two"))))
	_, err := reg.Gather()
	require.NoError(t, err)
	require.Panics(t, func() { shardlogprom.NewCollector(nil) })
}

// Scrapes while goroutines log are safe (run with -race) and see
// counters that never go back.
func TestCollectorConcurrentScrapes(t *testing.T) {
	e, _ := testEngine(t)
	c := shardlogprom.NewCollector(e)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError})

	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				e.Logger().Info("c", shardlog.Int("g", g), shardlog.Int("i", i))
			}
		})
	}
	var scrapes sync.WaitGroup
	lasts := make([]float64, 4)
	for k := range 4 {
		scrapes.Go(func() {
			last := 0.0
			for range 50 {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
				if !assertOK(t, rec) {
					return
				}
				v := sampleValue(rec.Body.String(), `shardlog_sink_events_accepted_total{sink="out"}`)
				if v < 0 {
					t.Errorf("the series is missing from the scrape")
					return
				}
				if v < last {
					t.Errorf("accepted went back from %v to %v", last, v)
					return
				}
				last = v
			}
			lasts[k] = last
		})
	}
	scrapes.Wait()
	close(stop)
	wg.Wait()
	accepted := float64(e.Metrics(false).Sinks[0].Accepted)
	for k, last := range lasts {
		require.Positive(t, last, "scraper %d saw the counter rise", k)
		require.LessOrEqual(t, last, accepted, "scraper %d saw no more than was accepted", k)
	}
}

func assertOK(t *testing.T, rec *httptest.ResponseRecorder) bool {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Errorf("scrape: %d %s", rec.Code, rec.Body)
		return false
	}
	return true
}

// sampleValue returns the value of series in a text exposition, -1 if absent.
func sampleValue(text, series string) float64 {
	for line := range strings.SplitSeq(text, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return f
			}
		}
	}
	return -1
}

// promtool, when installed, accepts the exposition.
func TestPromtoolChecksTheExposition(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if requireIntegration {
			t.Fatalf("promtool not on PATH and SHARDLOG_REQUIRE_INTEGRATION=1: %v", err)
		}
		t.Skip("promtool not on PATH (install the prometheus package); skipping")
	}
	e, _ := testEngine(t)
	for range 20 {
		e.Logger().Warn("w")
	}
	_ = e.Flush(t.Context())
	reg := prometheus.NewRegistry()
	reg.MustRegister(shardlogprom.NewCollector(e))
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = rec.Body
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool check metrics:\n%s", out)
	require.Empty(t, strings.TrimSpace(string(out)), "promtool reported problems")
}

// BenchmarkScrape measures one Prometheus scrape of an engine: a metrics
// snapshot with distributions and the collector's conversion, gathered
// by a registry, for 1 and 8 sinks.
func BenchmarkScrape(b *testing.B) {
	for _, nsinks := range []int{1, 8} {
		b.Run(fmt.Sprintf("sinks=%d", nsinks), func(b *testing.B) {
			var opts []shardlog.Option
			for i := range nsinks {
				s, err := shardlog.NewWriter(io.Discard, shardlog.JSON{})
				if err != nil {
					b.Fatal(err)
				}
				opts = append(opts, shardlog.WithSink(s, shardlog.SinkName(fmt.Sprintf("s%d", i))))
			}
			e, err := shardlog.New(opts...)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _, _ = e.Shutdown(context.Background()) })
			for i := range 10000 {
				e.Logger().Info("x", shardlog.Int("i", i))
			}
			if err := e.Logger().Sync(); err != nil {
				b.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(shardlogprom.NewCollector(e))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := reg.Gather(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Without a memory budget the budget series are absent; a truncated
// event is counted.
func TestCollectorBudgetSeries(t *testing.T) {
	w, err := shardlog.NewWriter(&countingWriter{}, shardlog.JSON{})
	require.NoError(t, err)
	e := newEngine(t, shardlog.WithSink(w, shardlog.SinkName("out")), shardlog.WithMaxQueueBytes(0), shardlog.WithMaxEventBytes(1024))
	e.Logger().Info(strings.Repeat("x", 4096))
	require.NoError(t, e.Flush(t.Context()))
	got := gather(t, shardlogprom.NewCollector(e))
	require.Equal(t, float64(1), got[`shardlog_events_truncated_total`])
	for name := range got {
		require.False(t, strings.HasPrefix(name, "shardlog_budget_"), "no budget, no %s", name)
	}
}
