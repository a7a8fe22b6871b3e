// Package shardlogprom exports a shardlog engine's metrics to Prometheus.
// It lives in its own module, github.com/shardlog/shardlog/prometheus, so
// that shardlog itself does not depend on the Prometheus client; its
// package name is shardlogprom, so it does not shadow the client's.
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(shardlogprom.NewCollector(e))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Each scrape reads one snapshot, e.Metrics(true), and exposes:
//
//	shardlog_sink_events_accepted_total{sink}         counter
//	shardlog_sink_events_written_total{sink}          counter
//	shardlog_sink_events_failed_total{sink}           counter
//	shardlog_sink_events_dropped_total{sink,reason}   counter, every reason in shardlog.Reasons()
//	shardlog_sink_events_pending{sink}                gauge
//	shardlog_sink_bytes_written_total{sink}           counter
//	shardlog_sink_batches_total{sink}                 counter (Write calls)
//	shardlog_sink_loss_markers_total{sink}            counter (loss markers written)
//	shardlog_sink_errors_total{sink}                  counter (failed or panicking calls to the sink or its fallback)
//	shardlog_sink_write_timeouts_total{sink}          counter (Writes past the write timeout)
//	shardlog_sink_write_retries_total{sink}           counter (attempts after the first)
//	shardlog_sink_events_diverted_total{sink}         counter (to the fallback, the breaker refusing)
//	shardlog_sink_fallback_events_written_total{sink} counter
//	shardlog_sink_fallback_events_failed_total{sink}  counter
//	shardlog_sink_breaker_state{sink,state}           gauge, 1 for the current state, only with a breaker
//	shardlog_sink_breaker_transitions_total{sink,state} counter, by the state entered, only with a breaker
//	shardlog_sink_breaker_rejected_total{sink}        counter, only with a breaker
//	shardlog_sink_lagging{sink}                       gauge, 0 or 1 (stalled: backlog queued in memory)
//	shardlog_sink_last_error_timestamp_seconds{sink}  gauge, only once the sink has failed
//	shardlog_sink_write_duration_seconds{sink}        histogram
//	shardlog_events_accepted_total{level}             counter, per level class
//	shardlog_queue_depth{shard}                       gauge
//	shardlog_queue_evicted_total{shard}               counter
//	shardlog_queue_spilled_total{shard}               counter (kept in the spill, not lost)
//	shardlog_flusher_lag_seconds{shard}               gauge
//	shardlog_sinks                                    gauge
//	shardlog_internal_errors_total                    counter (errors sent to the error handler)
//	shardlog_events_truncated_total                   counter (cut to the event size limit)
//	shardlog_budget_limit_bytes                       gauge, only with a memory budget
//	shardlog_budget_usage_bytes                       gauge, only with a memory budget
//	shardlog_budget_peak_bytes                        gauge, only with a memory budget
//	shardlog_budget_over                              gauge, 0 or 1, only with a memory budget
//	shardlog_budget_crossings_total                   counter, only with a memory budget
//	shardlog_budget_refused_total                     counter, only with a memory budget
//
// For every sink, accepted = written + diverted + failed + dropped (all
// reasons) + pending, and diverted = fallback written + fallback failed.
// The reason label takes every value of shardlog.Reasons(); the state
// label every breaker.State (closed, open, half-open, forced-open,
// disabled). The write duration histogram is built from the engine's HDR
// distribution (hist.Snapshot.CountAtOrBelow): a bucket counts the values
// within the HDR precision of its bound (0.1%) as at or below it; its sum
// is the distribution's mean times its count.
//
// The collector is checked: Describe sends every descriptor. Collect keeps
// no state, so concurrent scrapes are safe.
package shardlogprom
