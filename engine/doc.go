// Package engine is shardlog's logging engine: the Logger API, the slog
// handler, and the pipeline that carries events from callers to sinks.
//
// The flow of one event:
//
//	Logger.Info(msg, fields...)           caller goroutine
//	  level gate (one atomic load)        nothing else runs when disabled
//	  claim a slot in the caller's shard  ring.Ring, atomics only
//	  read the clock, fill the slot       values captured now
//	flusher (one per shard)               drains in batches, enriches,
//	                                      filters, encodes once per format,
//	                                      publishes a watermark
//	lanes (one per sink and shard)        refcounted batches
//	sink writer (one per sink)            merges shards by timestamp below
//	                                      the watermarks, writes, accounts
//
// See docs/DESIGN.md for the guarantees and the arguments behind them.
package engine
