// Package stress is shardlog's torture suite. It holds tests only: many
// producers against every overflow policy and both queue kinds, sinks that
// fail, flap, panic, hang or stall beside healthy ones, shutdowns racing
// producers under every strategy, configuration changed while events flow,
// a small memory budget under large and oversized events, hostile values
// (cyclic, panicking, invalid UTF-8, megabyte strings) logged concurrently,
// a rotating file on disk, and the HTTP sink against a receiver that
// refuses requests, for a while and for good.
//
// Every scenario checks exact outcomes, never durations (a few generous
// bounds, such as "returns within 10s", only catch hangs): per sink,
// accepted = written + diverted + failed + dropped by reason, nothing
// pending, and what the sink really received is exactly what was counted
// written; every event carries its producer and sequence number, so
// duplicates, phantoms and order violations are caught event by event.
//
// Run it as any package (go test -race ./stress/...; make test runs it with
// the shardlog_hooks tag). By default the whole package takes well under a
// minute with the race detector on 2 cores. The environment variable
// SHARDLOG_STRESS_SCALE (a positive integer, default 1) multiplies every
// scenario's volume (events per producer, or rounds of a scenario whose
// volume must stay within a budget) to run it longer:
//
//	SHARDLOG_STRESS_SCALE=20 go test -race -timeout 1h ./stress/...
//
// A test that catches a bug fails until the bug is fixed: nothing here is
// skipped or tolerated.
package stress
