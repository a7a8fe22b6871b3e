// Package event defines the record that flows through shardlog: the Event
// captured by a log call, its typed Fields and its Level.
//
// It sits beneath both the engine (which fills events) and the sinks (which
// encode and write them), so neither imports the other. Everything here is a
// plain value type: an Event is copied into a ring slot by the producer and
// read, never mutated, by the pipeline afterwards.
package event
