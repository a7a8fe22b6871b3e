package engine

import (
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/shardlog/shardlog/breaker"

	"github.com/shardlog/shardlog/budget"
	"github.com/shardlog/shardlog/hist"
)

// MetricsSchema names the layout of Metrics as JSON. It changes when a
// field is renamed or removed or its meaning changes; fields may be added
// within one schema. The golden file engine/testdata/metrics_v1.json
// pins it.
const MetricsSchema = "shardlog.metrics/v1"

// Metrics is what an operator reads about an engine: exact counters per
// sink and for the engine, and, when asked for, latency and batch-size
// distributions. Take it with Engine.Metrics (cumulative since New) or a
// MetricsReader (cumulative and the interval since that reader's previous
// read). It is a plain value; JSON is its documented form.
type Metrics struct {
	Schema string    `json:"schema"`
	Time   time.Time `json:"time"`
	// Interval is how long the counters cover: the time since the
	// engine started for a cumulative snapshot, since the reader's
	// previous read for an interval.
	Interval time.Duration `json:"interval_ns"`
	Engine   EngineMetrics `json:"engine"`
	Sinks    []SinkMetrics `json:"sinks"`
}

// EngineMetrics are the engine-wide figures.
type EngineMetrics struct {
	Sinks    int    `json:"sinks"`
	Accepted uint64 `json:"accepted"` // enabled log calls, every level
	// AcceptedByLevel counts accepted calls per level class: each entry
	// holds the calls at or above Level and below the next entry's.
	AcceptedByLevel []LevelCount   `json:"accepted_by_level"`
	Shards          []ShardMetrics `json:"shards"`
	Errors          uint64         `json:"errors"`       // internal errors reported
	Placeholders    uint64         `json:"placeholders"` // unrenderable values, process-wide
	// Truncated counts events cut to WithMaxEventBytes and delivered.
	Truncated uint64 `json:"truncated"`
	// Budget is the memory budget (WithMaxQueueBytes): its limit, the
	// bytes queued events keep alive now and at most so far, whether it
	// is over the limit, how often it went over, and the large events
	// it refused. Absent when the budget is off.
	Budget *budget.Snapshot `json:"budget,omitempty"`
}

// LevelCount is a count for the levels from Level up to the next entry.
type LevelCount struct {
	Level string `json:"level"`
	Count uint64 `json:"count"`
}

// ShardMetrics describe one shard of the queue.
type ShardMetrics struct {
	Depth int `json:"depth"` // events waiting now
	// Evicted counts events a full ring evicted for newer ones since New.
	// Spilled counts the events the spill kept in memory (within the
	// budget) and delivered as usual: evicted ones, and DropOldest calls
	// the full ring could not take. Evicted events it did not keep were
	// lost (queue-full-oldest).
	Evicted uint64 `json:"evicted"`
	Spilled uint64 `json:"spilled"`
	// FlusherLag is how far the shard's watermark trails the clock while
	// events wait in it: a bound on the age of its oldest queued event.
	// Zero when the shard is empty.
	FlusherLag time.Duration `json:"flusher_lag_ns"`
}

// SinkMetrics are one sink's figures. For every sink, in a cumulative
// reading,
//
//	Accepted = Written + Diverted + Dropped.Total() + Failed + Pending
//
// and in an interval (MetricsReader), whose counters are differences and
// whose Pending is as of its end,
//
//	PendingAtStart + Accepted = Written + Diverted + Dropped.Total() + Failed + Pending
type SinkMetrics struct {
	Name     string `json:"name"`
	Accepted uint64 `json:"accepted"`
	Written  uint64 `json:"written"`
	Dropped  Drops  `json:"dropped"`
	Failed   uint64 `json:"failed"`
	Pending  uint64 `json:"pending"`
	// PendingAtStart is Pending at the start of an interval (the previous
	// reading's); zero in a cumulative reading.
	PendingAtStart uint64 `json:"pending_at_start,omitempty"`
	Bytes          uint64 `json:"bytes"`    // encoded bytes handed to Write
	Batches        uint64 `json:"batches"`  // Write calls
	Errors         uint64 `json:"errors"`   // failed or panicking sink calls
	Markers        uint64 `json:"markers"`  // loss markers written (SinkLossMarker)
	Timeouts       uint64 `json:"timeouts"` // Write calls past the write timeout
	// Diverted, FallbackWritten and FallbackFailed account for the
	// fallback (SinkFallback): Diverted = FallbackWritten + FallbackFailed.
	Diverted        uint64 `json:"diverted"`
	Retries         uint64 `json:"retries"` // Write attempts after the first
	FallbackWritten uint64 `json:"fallback_written"`
	FallbackFailed  uint64 `json:"fallback_failed"`
	// Breaker is the sink's circuit breaker (SinkBreaker); absent without
	// one.
	Breaker *breaker.Counts `json:"breaker,omitempty"`
	// LastError is the most recent error of a sink call, and when it
	// happened; empty when there has been none.
	LastError     string    `json:"last_error,omitempty"`
	LastErrorTime time.Time `json:"last_error_time,omitzero"`
	Lagging       bool      `json:"lagging"` // the sink stalled: its backlog queues in memory
	Stuck         bool      `json:"stuck,omitempty"`
	// WriteLatency (ns) and BatchSize (events per Write) are present
	// only when histograms were asked for.
	WriteLatency *hist.Snapshot `json:"write_latency_ns,omitempty"`
	BatchSize    *hist.Snapshot `json:"batch_size,omitempty"`
}

// Metrics returns the cumulative figures since New. Without histograms it
// reads only counters: a few hundred atomic loads, no allocation beyond
// the result, cheap enough for a scraper every second. With histograms it
// also merges each sink's latency and batch-size recorders.
func (e *Engine) Metrics(histograms bool) Metrics {
	m := Metrics{Schema: MetricsSchema, Time: time.Now(), Interval: time.Since(e.epoch)}
	m.Engine.Sinks = len(e.writers)
	n := e.classes.count()
	m.Engine.AcceptedByLevel = make([]LevelCount, n)
	for k := range n {
		m.Engine.AcceptedByLevel[k].Level = e.classes.label(k)
	}
	now := e.mono()
	if e.budget != nil {
		s := e.budget.Snapshot()
		m.Engine.Budget = &s
	}
	for s, c := range e.counters {
		for k := range n {
			m.Engine.Truncated += c.truncated[k].Load()
			v := c.accepted[k].Load()
			m.Engine.AcceptedByLevel[k].Count += v
			m.Engine.Accepted += v
		}
		sm := ShardMetrics{Depth: e.q.Depth(s), Evicted: e.q.Stats(s).Evicted, Spilled: e.spills[s].kept.Load()}
		if wm := e.flushers[s].wm.Load(); sm.Depth > 0 && wm != noWatermark && wm < now {
			sm.FlusherLag = time.Duration(now - wm)
		}
		m.Engine.Shards = append(m.Engine.Shards, sm)
	}
	rep := e.report(false) // the per-sink accounting, outcome-first
	m.Engine.Errors, m.Engine.Placeholders = rep.Errors, rep.Placeholders
	for i, w := range e.writers {
		st := rep.Sinks[i]
		sm := SinkMetrics{
			Name: st.Name, Accepted: st.Accepted, Written: st.Written, Dropped: st.Dropped,
			Failed: st.Failed, Pending: st.Pending, Bytes: st.Bytes, Batches: st.Writes,
			Errors: st.Errors, Markers: st.Markers, Timeouts: st.Timeouts,
			Diverted: st.Diverted, Retries: st.Retries, FallbackWritten: st.FallbackWritten, FallbackFailed: st.FallbackFailed, Lagging: w.lagging.Load(), Stuck: st.Stuck,
		}
		if w.br != nil {
			c := w.br.Counts()
			sm.Breaker = &c
		}
		if le := w.lastErr.Load(); le != nil {
			sm.LastError, sm.LastErrorTime = le.msg, le.at
		}
		if histograms {
			sm.WriteLatency, sm.BatchSize = w.latency.Cumulative(), w.batchSizes.Cumulative()
		}
		m.Sinks = append(m.Sinks, sm)
	}
	return m
}

// MetricsReader reads an engine's metrics as an interval since its own
// previous read, beside the cumulative figures. Several readers of one
// engine are independent: none takes another's interval. A reader is
// safe for concurrent use (reads are serialised).
type MetricsReader struct {
	e    *Engine
	mu   sync.Mutex
	prev Metrics // cumulative, at the previous read
}

// NewMetricsReader returns a reader whose first interval starts now.
func (e *Engine) NewMetricsReader() *MetricsReader {
	return &MetricsReader{e: e, prev: e.Metrics(true)}
}

// Read returns the cumulative figures and the interval since the
// previous Read (or since NewMetricsReader): counters are differences,
// distributions hold only the values recorded in the interval, depths,
// flags and the budget's usage and peak are as of now.
func (r *MetricsReader) Read(histograms bool) (cumulative, interval Metrics) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.e.Metrics(true) // the reader keeps distributions to subtract
	interval = cur.since(r.prev, histograms)
	r.prev = cur
	if !histograms {
		cur.stripHistograms()
	}
	return cur, interval
}

// since returns m less prev, both cumulative snapshots of one engine.
func (m Metrics) since(prev Metrics, histograms bool) Metrics {
	d := m
	d.Interval = m.Time.Sub(prev.Time)
	d.Engine.Accepted -= prev.Engine.Accepted
	d.Engine.Errors -= prev.Engine.Errors
	d.Engine.Placeholders -= prev.Engine.Placeholders
	d.Engine.Truncated -= prev.Engine.Truncated
	if m.Engine.Budget != nil && prev.Engine.Budget != nil {
		b := *m.Engine.Budget // Limit, Usage, Peak and Over stay as they are now
		b.Crossings -= prev.Engine.Budget.Crossings
		b.Refused -= prev.Engine.Budget.Refused
		d.Engine.Budget = &b
	}
	d.Engine.AcceptedByLevel = append([]LevelCount(nil), m.Engine.AcceptedByLevel...)
	for k := range d.Engine.AcceptedByLevel {
		d.Engine.AcceptedByLevel[k].Count -= prev.Engine.AcceptedByLevel[k].Count
	}
	d.Engine.Shards = append([]ShardMetrics(nil), m.Engine.Shards...)
	for s := range d.Engine.Shards {
		d.Engine.Shards[s].Evicted -= prev.Engine.Shards[s].Evicted
		d.Engine.Shards[s].Spilled -= prev.Engine.Shards[s].Spilled
	}
	d.Sinks = append([]SinkMetrics(nil), m.Sinks...)
	for i := range d.Sinks {
		c, p := &d.Sinks[i], prev.Sinks[i]
		c.PendingAtStart = p.Pending
		c.Accepted -= p.Accepted
		c.Written -= p.Written
		c.Failed -= p.Failed
		c.Bytes -= p.Bytes
		c.Batches -= p.Batches
		c.Errors -= p.Errors
		c.Markers -= p.Markers
		c.Timeouts -= p.Timeouts
		c.Diverted -= p.Diverted
		c.Retries -= p.Retries
		c.FallbackWritten -= p.FallbackWritten
		c.FallbackFailed -= p.FallbackFailed
		for _, r := range Reasons() {
			c.Dropped.add(r, -p.Dropped.Count(r)) // modular: the difference
		}
		if c.Breaker != nil && p.Breaker != nil {
			// The state and the current run stay as they are now; the
			// counters become differences.
			b := *c.Breaker
			for k := range b.Transitions {
				b.Transitions[k] -= p.Breaker.Transitions[k]
			}
			b.Rejected -= p.Breaker.Rejected
			b.CallbacksDropped -= p.Breaker.CallbacksDropped
			c.Breaker = &b
		}
		if histograms {
			c.WriteLatency = c.WriteLatency.Sub(p.WriteLatency)
			c.BatchSize = c.BatchSize.Sub(p.BatchSize)
		} else {
			c.WriteLatency, c.BatchSize = nil, nil
		}
	}
	return d
}

func (m *Metrics) stripHistograms() {
	m.Sinks = append([]SinkMetrics(nil), m.Sinks...)
	for i := range m.Sinks {
		m.Sinks[i].WriteLatency, m.Sinks[i].BatchSize = nil, nil
	}
}

// errRecord is a sink's last error (sinkWriter.lastErr).
type errRecord struct {
	msg string
	at  time.Time
}

// PublishExpvar publishes the engine's cumulative metrics, histograms
// included, as the expvar variable name (conventionally "shardlog"), served
// at /debug/vars by expvar's handler. expvar names are process-wide and
// cannot be removed: a name already published is refused with an error.
func (e *Engine) PublishExpvar(name string) (err error) {
	if name == "" {
		return errors.New("engine: PublishExpvar: empty name")
	}
	// expvar.Publish panics on a name taken: the check and the publish
	// are one step for every engine of the process.
	expvarMu.Lock()
	defer expvarMu.Unlock()
	taken := fmt.Errorf("engine: PublishExpvar: %q is already published", name)
	if expvar.Get(name) != nil {
		return taken
	}
	defer func() {
		if recover() != nil {
			err = taken
		}
	}()
	expvar.Publish(name, expvar.Func(func() any { return e.Metrics(true) }))
	return nil
}

// expvarMu serialises PublishExpvar's check and publish. (A name another
// package publishes between them still panics in expvar.Publish; that
// one is recovered.)
var expvarMu sync.Mutex

// MetricsHandler serves the engine's cumulative metrics as JSON (the
// Metrics schema) on GET, histograms included unless the query says
// histograms=0. Mount it on an admin mux beside the level handler
// (core.LevelVar.ServeHTTP).
func (e *Engine) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, `{"error":"use GET"}`, http.StatusMethodNotAllowed)
			return
		}
		m := e.Metrics(r.URL.Query().Get("histograms") != "0")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(m)
	})
}
