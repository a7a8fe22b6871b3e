// Package core is shardlog's extension API: the record that flows through
// the pipeline (the Event captured by a log call, its typed Fields, its
// Level and Scope) and the contracts a destination implements (Sink,
// Encoder, Encoding, Entry).
//
// It sits beneath everything else: the user package (shardlog), the
// pipeline (engine) and the sinks (sinks, sinks/format) all import it, and
// it imports nothing of the project, so nothing imports upward. A program
// that only logs needs the shardlog package alone; core is for writing a
// sink, an encoder, an enricher or a filter.
//
// Everything here is a plain value type: an Event is copied into a ring
// slot by the producer and read, never mutated, by the pipeline afterwards.
package core
