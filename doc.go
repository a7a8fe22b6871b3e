// Package shardlog is a structured logger for latency-critical Go
// services: a log call copies its fields into a slot of a sharded
// lock-free ring and returns; per-shard flushers encode events in batches
// and per-sink writers deliver them in timestamp order. The caller never
// waits for I/O, every event is accounted for (written, dropped by reason,
// failed or pending, per sink), and a slow or broken sink cannot hold up
// the others.
//
// This package is all a program needs: the engine and its options, the
// Logger, levels, fields, overflow policies, the file and console sinks,
// the JSON and text encodings, and a log/slog handler. It is a thin layer
// of type aliases and one-line constructors over the packages that
// implement them (engine, core, sinks, sinks/format, ring), so their
// documentation applies unchanged; package core is the extension API, for
// writing a sink, an encoder, an enricher or a filter.
//
// # Lifecycle
//
// New starts goroutines: one flusher per shard and one writer per sink.
// Call Shutdown (bounded by its context) before the program exits, or
// Logger.Sync to deliver what is queued without stopping. Events still
// queued when a program exits without either are lost, and nothing
// reports them. A Logger or slog Handler derived from an engine reaches it
// through Engine().
package shardlog
