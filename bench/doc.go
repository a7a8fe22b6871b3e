// Package bench sets shardlog beside its peers, zap, zerolog and log/slog,
// on one workload: the same event, a message and five fields, written as
// JSON lines to a destination that discards the bytes and counts the
// lines. It is a module of its own, so that the peers never enter
// shardlog's go.mod.
//
// The package holds only tests and benchmarks. TestOutput checks that
// every logger under test writes the event it is said to write, and
// TestAccounting that its figures of delivered and lost events add up.
// Three benchmark families take the figures (README.md says how to run
// them; docs/bench/peers.md at the repository root holds the results):
//
//   - BenchmarkCapacity: closed loop, nothing lost; the cost of a
//     delivered event, wall and CPU, for the loggers that never lose one.
//   - BenchmarkOpenLoop: a fixed arrival rate; what a call costs the
//     caller, and the latency from when the event was due, for every
//     logger, with the share it delivered.
//   - BenchmarkLog: closed loop for every logger, lossy ones included;
//     ns/op beside delivered/attempted, so that a cheap call that drops
//     is seen for what it is.
package bench
