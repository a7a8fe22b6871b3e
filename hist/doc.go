// Package hist records value distributions (write latency in nanoseconds,
// batch sizes) into HDR histograms without a lock or an allocation on the
// recording path, and hands out immutable snapshots for metrics export.
//
// A Recorder has one writer, the goroutine that calls Record, and any number
// of readers that take snapshots while it records. Sharded holds several
// Recorders, one per writer (a flusher, a worker), and merges them on
// snapshot. Readers are serialized by a mutex: they run at metrics-scrape
// rate, not on the hot path.
//
// Two kinds of snapshot are kept. Snapshot returns the values recorded since
// the previous Snapshot (an interval, for rates and recent percentiles);
// Cumulative returns every value recorded since creation. Both are Snapshot
// values: read-only, safe to share, and marshalled to JSON as count, min,
// max, mean, p50, p95, p99, p999 and overflow.
//
// Values above a Recorder's highest trackable value are recorded as that
// value and counted in Overflow, so that an outlier is never lost and never
// costs an error on the hot path; negative values are recorded as 0.
//
// The histograms are github.com/HdrHistogram/hdrhistogram-go's, which are not
// safe for concurrent use; recorder.go explains how each one is owned by a
// single goroutine at a time.
package hist
