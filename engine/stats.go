package engine

import (
	"github.com/shardlog/shardlog/core"
	"github.com/shardlog/shardlog/drain"
	"github.com/shardlog/shardlog/hist"
)

// Drops counts dropped events by reason.
type Drops struct {
	QueueFullOldest uint64 `json:"queue_full_oldest"`
	QueueFullNewest uint64 `json:"queue_full_newest"`
	BlockTimeout    uint64 `json:"block_timeout"`
	SinkLagging     uint64 `json:"sink_lagging"`
	BelowSinkLevel  uint64 `json:"below_sink_level"`
	Filtered        uint64 `json:"filtered"`
	Shutdown        uint64 `json:"shutdown"`
	Closed          uint64 `json:"closed"`
	Budget          uint64 `json:"budget"`
	TooLarge        uint64 `json:"too_large"`
	NotAttempted    uint64 `json:"not_attempted"`
	BreakerOpen     uint64 `json:"breaker_open"`
}

// Total is the sum over all reasons.
func (d Drops) Total() uint64 {
	return d.QueueFullOldest + d.QueueFullNewest + d.BlockTimeout + d.SinkLagging + d.BelowSinkLevel + d.Filtered + d.Shutdown + d.Closed + d.Budget + d.TooLarge + d.NotAttempted + d.BreakerOpen
}

// Count returns the drops for reason r.
func (d Drops) Count(r Reason) uint64 {
	switch r {
	case QueueFullOldest:
		return d.QueueFullOldest
	case QueueFullNewest:
		return d.QueueFullNewest
	case BlockTimeout:
		return d.BlockTimeout
	case SinkLagging:
		return d.SinkLagging
	case BelowSinkLevel:
		return d.BelowSinkLevel
	case Filtered:
		return d.Filtered
	case Shutdown:
		return d.Shutdown
	case Closed:
		return d.Closed
	case Budget:
		return d.Budget
	case TooLarge:
		return d.TooLarge
	case NotAttempted:
		return d.NotAttempted
	case BreakerOpen:
		return d.BreakerOpen
	}
	return 0
}

func (d *Drops) add(r Reason, n uint64) {
	switch r {
	case QueueFullOldest:
		d.QueueFullOldest += n
	case QueueFullNewest:
		d.QueueFullNewest += n
	case BlockTimeout:
		d.BlockTimeout += n
	case SinkLagging:
		d.SinkLagging += n
	case BelowSinkLevel:
		d.BelowSinkLevel += n
	case Filtered:
		d.Filtered += n
	case Shutdown:
		d.Shutdown += n
	case Closed:
		d.Closed += n
	case Budget:
		d.Budget += n
	case TooLarge:
		d.TooLarge += n
	case NotAttempted:
		d.NotAttempted += n
	case BreakerOpen:
		d.BreakerOpen += n
	}
}

// SinkStats accounts for every event a sink was meant to receive:
//
//	Accepted = Written + Diverted + Dropped.Total() + Failed + Pending
//
// Accepted counts the enabled log calls at or above the sink's level;
// Pending is what is still in the queue, in a batch or in a Write call.
// After Flush or Shutdown with nothing logged meanwhile, Pending is 0.
type SinkStats struct {
	Name     string `json:"name"`
	Accepted uint64 `json:"accepted"`
	Written  uint64 `json:"written"`
	Dropped  Drops  `json:"dropped"`
	Failed   uint64 `json:"failed"`
	Pending  uint64 `json:"pending"`
	Writes   uint64 `json:"writes"`            // Write calls
	Errors   uint64 `json:"errors"`            // failed or panicking sink calls
	Bytes    uint64 `json:"bytes"`             // encoded bytes handed to Write
	Markers  uint64 `json:"markers,omitempty"` // loss markers written (SinkLossMarker)
	// Timeouts counts Write calls that ran past the sink's write timeout
	// (SinkWriteTimeout), whatever they returned.
	Timeouts uint64 `json:"timeouts,omitempty"`
	// Diverted counts events handed to the sink's fallback (SinkFallback)
	// while its breaker was open: a final outcome for this sink, like
	// Written. Of them, the fallback wrote FallbackWritten and failed
	// FallbackFailed: Diverted = FallbackWritten + FallbackFailed.
	Diverted uint64 `json:"diverted,omitempty"`
	// Retries counts Write attempts after the first (SinkRetry).
	Retries         uint64 `json:"retries,omitempty"`
	FallbackWritten uint64 `json:"fallback_written,omitempty"`
	FallbackFailed  uint64 `json:"fallback_failed,omitempty"`
	// Stuck is set when Shutdown's deadline passed while this sink's
	// writer was inside a Write, Flush or Close that had not returned:
	// its Pending events are in that call. They settle (written, failed or
	// dropped{shutdown}) when the call returns; a later Stats or Shutdown
	// shows the settled figures.
	Stuck bool `json:"stuck,omitempty"`
	// WriteLatency is the distribution of Write call durations (ns)
	// since the engine started.
	WriteLatency *hist.Snapshot `json:"write_latency_ns"`
}

// Report is a snapshot of the engine's accounting.
type Report struct {
	Sinks []SinkStats `json:"sinks"`
	// Errors is the number of internal errors reported.
	Errors uint64 `json:"errors"`
	// Placeholders is the number of fields that held a placeholder
	// instead of a value that could not be rendered (a cycle, too deep or
	// too big a value, a marshal error, a panic; see core.Any), counted
	// across the whole process (core.Placeholders).
	Placeholders uint64 `json:"placeholders"`
	// Drain is the shutdown's own report (Shutdown sets it; Stats leaves
	// it nil): the strategy, how long each stage and handler took, which
	// were abandoned, and what each sink received and lost during it.
	Drain *drain.Report `json:"drain,omitempty"`
}

// Stats returns the accounting of every sink. It may be called at any
// time; counters are read outcome-first, acceptance-last, so Pending is
// never negative even while events flow.
func (e *Engine) Stats() Report { return e.report(true) }

// report is Stats, with the latency distributions (a clone of each sink's
// histogram, ~200 KiB apiece) only when latency is set.
func (e *Engine) report(latency bool) Report {
	r := Report{Sinks: make([]SinkStats, len(e.writers))}
	for i, w := range e.writers {
		st := &r.Sinks[i]
		st.Name = w.name
		// Outcomes first.
		st.Written = w.counters.written.Load()
		st.Failed = w.counters.failed.Load()
		st.Writes = w.counters.writes.Load()
		st.Errors = w.counters.errors.Load()
		st.Bytes = w.counters.bytes.Load()
		st.Markers = w.counters.markers.Load()
		st.Timeouts = w.counters.timeouts.Load()
		st.FallbackWritten = w.counters.fallbackWritten.Load()
		st.FallbackFailed = w.counters.fallbackFailed.Load()
		st.Diverted = st.FallbackWritten + st.FallbackFailed
		st.Retries = w.counters.retries.Load()
		st.Dropped = e.sinkDrops(w)
		// Acceptance last.
		for _, c := range e.counters {
			for k := w.class; k < len(c.accepted); k++ {
				st.Accepted += c.accepted[k].Load()
			}
		}
		done := st.Written + st.Diverted + st.Failed + st.Dropped.Total()
		if st.Accepted > done {
			st.Pending = st.Accepted - done
		}
		st.Stuck = w.stuck()
		if latency {
			st.WriteLatency = w.latency.Cumulative()
		}
	}
	r.Errors = e.errs.count.Load()
	r.Placeholders = core.Placeholders()
	return r
}

// sinkDrops is the sink's drops by reason: those its writer and the
// flushers counted for it, and those counted per shard for the level
// classes it takes. Stats and the loss markers both read it.
func (e *Engine) sinkDrops(w *sinkWriter) Drops {
	var d Drops
	for rs := Reason(0); rs < numReasons; rs++ {
		d.add(rs, w.counters.dropped[rs].Load())
	}
	for _, c := range e.counters {
		for rs := Reason(0); rs < numReasons; rs++ {
			for k := w.class; k < len(c.dropped[rs]); k++ {
				d.add(rs, c.dropped[rs][k].Load())
			}
		}
	}
	return d
}
