package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/shardlog/shardlog"
)

// writePromText writes m's counters and gauges in the Prometheus text
// exposition format, under the names the prometheus module's collector
// uses, so a Prometheus server can scrape the load generator while it
// runs. The load generator lives in the core module, which must not depend
// on the Prometheus client; latency histograms are the collector's
// (module prometheus/), and JSON (/metrics.json) has every figure.
func writePromText(w io.Writer, m shardlog.Metrics) error {
	var b strings.Builder
	family := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	sample := func(name string, v uint64, labels ...string) {
		b.WriteString(name)
		if len(labels) > 0 {
			b.WriteByte('{')
			for i := 0; i < len(labels); i += 2 {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "%s=%s", labels[i], strconv.Quote(labels[i+1]))
			}
			b.WriteByte('}')
		}
		fmt.Fprintf(&b, " %d\n", v)
	}
	perSink := []struct {
		name, typ, help string
		get             func(shardlog.SinkMetrics) uint64
	}{
		{"shardlog_sink_events_accepted_total", "counter", "Events accepted for the sink.", func(s shardlog.SinkMetrics) uint64 { return s.Accepted }},
		{"shardlog_sink_events_written_total", "counter", "Events the sink wrote.", func(s shardlog.SinkMetrics) uint64 { return s.Written }},
		{"shardlog_sink_events_failed_total", "counter", "Events the sink failed to write.", func(s shardlog.SinkMetrics) uint64 { return s.Failed }},
		{"shardlog_sink_events_pending", "gauge", "Events accepted and not yet written, failed or dropped.", func(s shardlog.SinkMetrics) uint64 { return s.Pending }},
		{"shardlog_sink_bytes_written_total", "counter", "Encoded bytes handed to the sink.", func(s shardlog.SinkMetrics) uint64 { return s.Bytes }},
		{"shardlog_sink_batches_total", "counter", "Write calls to the sink.", func(s shardlog.SinkMetrics) uint64 { return s.Batches }},
		{"shardlog_sink_errors_total", "counter", "Failed or panicking sink calls.", func(s shardlog.SinkMetrics) uint64 { return s.Errors }},
	}
	for _, f := range perSink {
		family(f.name, f.typ, f.help)
		for _, s := range m.Sinks {
			sample(f.name, f.get(s), "sink", s.Name)
		}
	}
	family("shardlog_sink_events_dropped_total", "counter", "Events dropped for the sink, by reason.")
	for _, s := range m.Sinks {
		for _, r := range shardlog.Reasons() {
			sample("shardlog_sink_events_dropped_total", s.Dropped.Count(r), "sink", s.Name, "reason", r.String())
		}
	}
	family("shardlog_events_accepted_total", "counter", "Enabled log calls, by level class.")
	for _, lc := range m.Engine.AcceptedByLevel {
		sample("shardlog_events_accepted_total", lc.Count, "level", lc.Level)
	}
	family("shardlog_queue_depth", "gauge", "Events waiting in the shard.")
	for i, sh := range m.Engine.Shards {
		sample("shardlog_queue_depth", uint64(sh.Depth), "shard", strconv.Itoa(i))
	}
	family("shardlog_queue_evicted_total", "counter", "Events evicted from the shard.")
	for i, sh := range m.Engine.Shards {
		sample("shardlog_queue_evicted_total", sh.Evicted, "shard", strconv.Itoa(i))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
