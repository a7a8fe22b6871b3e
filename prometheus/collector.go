package shardlogprom

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/shardlog/shardlog/breaker"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shardlog/shardlog"
)

// DefaultWriteDurationBuckets are the upper bounds, in seconds, of
// shardlog_sink_write_duration_seconds: 1µs to 10s in 1-2.5-5 steps.
var DefaultWriteDurationBuckets = []float64{
	1e-6, 2.5e-6, 5e-6,
	1e-5, 2.5e-5, 5e-5,
	1e-4, 2.5e-4, 5e-4,
	1e-3, 2.5e-3, 5e-3,
	1e-2, 2.5e-2, 5e-2,
	0.1, 0.25, 0.5,
	1, 2.5, 5, 10,
}

// Option configures NewCollector.
type Option func(*config)

type config struct {
	buckets     []float64
	constLabels prometheus.Labels
}

// WithWriteDurationBuckets sets the upper bounds, in seconds, of the write
// duration histogram: positive, finite and increasing (NewCollector panics
// otherwise). The +Inf bucket is implicit.
func WithWriteDurationBuckets(seconds []float64) Option {
	return func(c *config) { c.buckets = slices.Clone(seconds) }
}

// WithConstLabels adds labels to every series, for instance to tell two
// engines of one process apart in one registry.
func WithConstLabels(l prometheus.Labels) Option {
	return func(c *config) { c.constLabels = l }
}

// collector reads one metrics snapshot per Collect; it keeps no state
// besides its descriptors, so concurrent scrapes are safe.
type collector struct {
	read    func(histograms bool) shardlog.Metrics
	buckets []float64 // seconds
	bounds  []int64   // the same, in nanoseconds

	written, failed, dropped, pending, accepted, bytes, batches, errors, markers      *prometheus.Desc
	lagging, lastError, writeDuration                                                 *prometheus.Desc
	levelAccepted, queueDepth, queueEvicted, queueSpilled, flusherLag, sinks, intErrs *prometheus.Desc
	truncated, budgetLimit, budgetUsage, budgetPeak, budgetOver                       *prometheus.Desc
	budgetCrossings, budgetRefused, timeouts                                          *prometheus.Desc
	diverted, fallbackWritten, fallbackFailed, breakerState, breakerTransitions       *prometheus.Desc
	breakerRejected, retries                                                          *prometheus.Desc
}

// NewCollector returns a collector of e's metrics. Each Collect reads one
// snapshot, e.Metrics(true), and turns it into the series listed in the
// package documentation. The collector is checked: Describe sends every
// descriptor, so a registry refuses a second collector with the same
// series: register several engines with WithConstLabels, one label name
// and a value per engine. It panics if e is nil or the buckets are invalid.
func NewCollector(e *shardlog.Engine, opts ...Option) prometheus.Collector {
	if e == nil {
		panic("shardlogprom: NewCollector: nil engine")
	}
	return newCollector(e.Metrics, opts...)
}

func newCollector(read func(bool) shardlog.Metrics, opts ...Option) *collector {
	cfg := config{buckets: DefaultWriteDurationBuckets}
	for _, o := range opts {
		o(&cfg)
	}
	c := &collector{read: read, buckets: slices.Clone(cfg.buckets)}
	for i, b := range c.buckets {
		if !(b > 0) || math.IsInf(b, 0) || (i > 0 && b <= c.buckets[i-1]) {
			panic(fmt.Sprintf("shardlogprom: write duration buckets must be positive, finite and increasing: %v", c.buckets))
		}
		c.bounds = append(c.bounds, int64(math.Round(b*1e9)))
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("shardlog_"+name, help, labels, cfg.constLabels)
	}
	c.accepted = desc("sink_events_accepted_total", "Events accepted for the sink: written + diverted + failed + dropped + pending.", "sink")
	c.written = desc("sink_events_written_total", "Events the sink wrote.", "sink")
	c.failed = desc("sink_events_failed_total", "Events the sink failed to write.", "sink")
	c.dropped = desc("sink_events_dropped_total", "Events dropped before the sink wrote them, by reason.", "sink", "reason")
	c.pending = desc("sink_events_pending", "Events accepted for the sink and not yet written, diverted, failed or dropped.", "sink")
	c.bytes = desc("sink_bytes_written_total", "Encoded bytes handed to the sink's Write.", "sink")
	c.batches = desc("sink_batches_total", "Write calls to the sink.", "sink")
	c.markers = desc("sink_loss_markers_total", "Loss markers written to the sink (SinkLossMarker).", "sink")
	c.errors = desc("sink_errors_total", "Failed or panicking calls to the sink or its fallback.", "sink")
	c.timeouts = desc("sink_write_timeouts_total", "Write calls that ran past the sink's write timeout.", "sink")
	c.retries = desc("sink_write_retries_total", "Write attempts after the first (the sink's retry policy).", "sink")
	c.diverted = desc("sink_events_diverted_total", "Events handed to the sink's fallback while its breaker was open.", "sink")
	c.fallbackWritten = desc("sink_fallback_events_written_total", "Diverted events the fallback wrote.", "sink")
	c.fallbackFailed = desc("sink_fallback_events_failed_total", "Diverted events the fallback failed to write.", "sink")
	c.breakerState = desc("sink_breaker_state", "1 for the state the sink's circuit breaker is in, 0 for the others.", "sink", "state")
	c.breakerTransitions = desc("sink_breaker_transitions_total", "Changes of the sink's circuit breaker, by the state entered.", "sink", "state")
	c.breakerRejected = desc("sink_breaker_rejected_total", "Write attempts the sink's circuit breaker refused.", "sink")
	c.lagging = desc("sink_lagging", "1 while the sink is stalled and its backlog queues in memory, else 0.", "sink")
	c.lastError = desc("sink_last_error_timestamp_seconds", "Unix time of the sink's last error; absent if none.", "sink")
	c.writeDuration = desc("sink_write_duration_seconds", "Duration of the sink's Write calls.", "sink")
	c.levelAccepted = desc("events_accepted_total", "Log calls accepted, by level class (from the level up to the next one).", "level")
	c.queueDepth = desc("queue_depth", "Events waiting in the shard's queue.", "shard")
	c.queueEvicted = desc("queue_evicted_total", "Events evicted from the full shard for newer ones.", "shard")
	c.queueSpilled = desc("queue_spilled_total", "Events the full shard evicted, or could not take under DropOldest, kept in memory (the spill, within the budget) instead of lost.", "shard")
	c.flusherLag = desc("flusher_lag_seconds", "Bound on the age of the shard's oldest queued event; 0 when empty.", "shard")
	c.sinks = desc("sinks", "Sinks of the engine.")
	c.intErrs = desc("internal_errors_total", "Errors the engine reported to its error handler, sink and fallback failures included.")
	c.truncated = desc("events_truncated_total", "Events cut to the event size limit and delivered.")
	c.budgetLimit = desc("budget_limit_bytes", "The memory budget for queued events; absent when off.")
	c.budgetUsage = desc("budget_usage_bytes", "Bytes queued events keep alive now.")
	c.budgetPeak = desc("budget_peak_bytes", "The most bytes queued events have kept alive.")
	c.budgetOver = desc("budget_over", "1 while the budget is over its limit (new events refused), else 0.")
	c.budgetCrossings = desc("budget_crossings_total", "Times the budget went over its limit.")
	c.budgetRefused = desc("budget_refused_total", "Charges refused for want of room: large events at the call, events the spill could not pay for (a waiting Block call counts each try).")
	return c
}

func (c *collector) descs() []*prometheus.Desc {
	return []*prometheus.Desc{
		c.accepted, c.written, c.failed, c.dropped, c.pending, c.bytes, c.batches, c.errors, c.markers,
		c.lagging, c.lastError, c.writeDuration,
		c.levelAccepted, c.queueDepth, c.queueEvicted, c.queueSpilled, c.flusherLag, c.sinks, c.intErrs,
		c.timeouts, c.retries, c.diverted, c.fallbackWritten, c.fallbackFailed, c.breakerState, c.breakerTransitions, c.breakerRejected,
		c.truncated, c.budgetLimit, c.budgetUsage, c.budgetPeak, c.budgetOver, c.budgetCrossings, c.budgetRefused,
	}
}

// Describe sends every descriptor of the collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs() {
		ch <- d
	}
}

// Collect sends the series of one metrics snapshot.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	m := c.read(true)
	// A series that cannot be made (a label that is not UTF-8) is sent as
	// an invalid metric: it fails alone, where a panic would fail the
	// whole scrape.
	send := func(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
		m, err := prometheus.NewConstMetric(d, t, v, labels...)
		if err != nil {
			m = prometheus.NewInvalidMetric(d, err)
		}
		ch <- m
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		send(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		send(d, prometheus.GaugeValue, v, labels...)
	}
	for _, s := range m.Sinks {
		counter(c.accepted, s.Accepted, s.Name)
		counter(c.written, s.Written, s.Name)
		counter(c.failed, s.Failed, s.Name)
		for _, r := range shardlog.Reasons() {
			counter(c.dropped, s.Dropped.Count(r), s.Name, r.String())
		}
		gauge(c.pending, float64(s.Pending), s.Name)
		counter(c.bytes, s.Bytes, s.Name)
		counter(c.batches, s.Batches, s.Name)
		counter(c.markers, s.Markers, s.Name)
		counter(c.errors, s.Errors, s.Name)
		counter(c.timeouts, s.Timeouts, s.Name)
		counter(c.retries, s.Retries, s.Name)
		counter(c.diverted, s.Diverted, s.Name)
		counter(c.fallbackWritten, s.FallbackWritten, s.Name)
		counter(c.fallbackFailed, s.FallbackFailed, s.Name)
		if b := s.Breaker; b != nil {
			for st := breaker.Closed; st <= breaker.Disabled; st++ {
				gauge(c.breakerState, boolFloat(b.State == st), s.Name, st.String())
				counter(c.breakerTransitions, b.Transitions[st], s.Name, st.String())
			}
			counter(c.breakerRejected, b.Rejected, s.Name)
		}
		gauge(c.lagging, boolFloat(s.Lagging), s.Name)
		if !s.LastErrorTime.IsZero() {
			gauge(c.lastError, float64(s.LastErrorTime.UnixNano())/1e9, s.Name)
		}
		lat := s.WriteLatency // nanoseconds
		buckets := make(map[float64]uint64, len(c.buckets))
		for i, b := range c.buckets {
			buckets[b] = uint64(lat.CountAtOrBelow(c.bounds[i]))
		}
		n := lat.Count()
		h, err := prometheus.NewConstHistogram(c.writeDuration, uint64(n), lat.Mean()*float64(n)/1e9, buckets, s.Name)
		if err != nil {
			h = prometheus.NewInvalidMetric(c.writeDuration, err)
		}
		ch <- h
	}
	for _, l := range m.Engine.AcceptedByLevel {
		counter(c.levelAccepted, l.Count, l.Level)
	}
	for i, sh := range m.Engine.Shards {
		shard := strconv.Itoa(i)
		gauge(c.queueDepth, float64(sh.Depth), shard)
		counter(c.queueEvicted, sh.Evicted, shard)
		counter(c.queueSpilled, sh.Spilled, shard)
		gauge(c.flusherLag, sh.FlusherLag.Seconds(), shard)
	}
	gauge(c.sinks, float64(m.Engine.Sinks))
	counter(c.intErrs, m.Engine.Errors)
	counter(c.truncated, m.Engine.Truncated)
	if b := m.Engine.Budget; b != nil {
		gauge(c.budgetLimit, float64(b.Limit))
		gauge(c.budgetUsage, float64(b.Usage))
		gauge(c.budgetPeak, float64(b.Peak))
		gauge(c.budgetOver, boolFloat(b.Over))
		counter(c.budgetCrossings, b.Crossings)
		counter(c.budgetRefused, b.Refused)
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
